import GRDB

/// The store's schema, as an ordered list of named migrations. A migration, once released, is
/// never edited: changes go into a new one ("v2", ...). GRDB records the applied names in the
/// `grdb_migrations` table and runs each pending migration in its own transaction.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in try v1(db) }
        m.registerMigration("v2") { db in try v2(db) }
        m.registerMigration("v3") { db in try v3(db) }
        m.registerMigration("v4") { db in try v4(db) }
        return m
    }

    /// v4: every table scoped by task (several tasks, and replicas, share one database); the
    /// timeline in a table of its own instead of the driver's state. Rows of older stores get their
    /// task from their run, their execution or their version, else from the store's only task.
    private static func v4(_ db: Database) throws {
        for table in ["program_version", "execution", "oracle_answer", "comparison", "ledger", "rollout", "escalation"] {
            try db.alter(table: table) { t in t.add(column: "task", .text).notNull().defaults(to: "") }
        }
        let only = "(SELECT MIN(taskName) FROM run HAVING COUNT(DISTINCT taskName) = 1)"
        try db.execute(sql: """
            UPDATE execution SET task = COALESCE((SELECT taskName FROM run WHERE run.id = execution.runId), '');
            UPDATE comparison SET task = COALESCE((SELECT task FROM execution e WHERE e.id = comparison.executionId), '');
            UPDATE oracle_answer SET task = COALESCE((SELECT task FROM execution e WHERE e.id = oracle_answer.executionId), \(only), '');
            UPDATE ledger SET task = COALESCE((SELECT taskName FROM run WHERE run.id = ledger.runId), \(only), '');
            UPDATE escalation SET task = COALESCE((SELECT taskName FROM run WHERE run.id = escalation.runId), \(only), '');
            UPDATE program_version SET task = COALESCE((SELECT e.task FROM execution e WHERE e.versionId = program_version.id LIMIT 1), \(only), '');
            UPDATE rollout SET task = COALESCE((SELECT task FROM program_version v WHERE v.id = rollout.candidateId), '');
            """)
        try db.create(index: "program_version_task", on: "program_version", columns: ["task", "status"])
        try db.create(index: "oracle_answer_task_hash", on: "oracle_answer", columns: ["task", "inputHash"])
        try db.create(index: "comparison_task_version", on: "comparison", columns: ["task", "versionId"])
        try db.create(index: "escalation_task", on: "escalation", columns: ["task", "status"])
        try db.create(index: "rollout_task", on: "rollout", columns: ["task", "candidateId"])
        try db.create(index: "ledger_task", on: "ledger", columns: ["task", "runId"])
        try db.create(table: "timeline_point") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("task", .text).notNull()
            t.column("runId", .integer).notNull().references("run")
            t.column("requests", .integer).notNull()
            t.column("agreement", .double)
            t.column("lower", .double)
            t.column("upper", .double)
            t.column("samplingRate", .double).notNull()
            t.column("cost", .double).notNull()
            t.column("allLLMCost", .double).notNull()
            t.column("versionId", .integer).notNull()
            t.column("time", .double).notNull()
        }
        try db.create(index: "timeline_point_run", on: "timeline_point", columns: ["runId", "id"])
    }

    /// v3: requests have ids (a server's requests are not lines of a file); feedback answers
    /// carry their input, having no sampled execution.
    private static func v3(_ db: Database) throws {
        try db.alter(table: "execution") { t in t.add(column: "requestId", .text) }
        try db.alter(table: "oracle_answer") { t in t.add(column: "input", .text) }
    }

    /// v2: the loop driver's resumable state (JSON), saved with each batch.
    private static func v2(_ db: Database) throws {
        try db.alter(table: "run") { t in t.add(column: "state", .text) }
    }

    private static func v1(_ db: Database) throws {
        try db.create(table: "program_version") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("hash", .text).notNull().indexed()
            t.column("source", .text).notNull()
            t.column("parentId", .integer).references("program_version")
            t.column("provenance", .text).notNull()
            t.column("status", .text).notNull().indexed()
            t.column("createdAt", .double).notNull()
            t.column("canaryShare", .double).notNull().defaults(to: 0)
            t.column("note", .text)
        }
        try db.create(table: "run") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("taskName", .text).notNull().indexed()
            t.column("streamPath", .text).notNull()
            t.column("startedAt", .double).notNull()
            t.column("config", .text).notNull()
            t.column("cursor", .integer).notNull().defaults(to: 0)
            t.column("finishedAt", .double)
        }
        try db.create(table: "execution") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("runId", .integer).notNull().references("run")
            t.column("seq", .integer).notNull()
            t.column("input", .text).notNull()
            t.column("inputHash", .text).notNull().indexed()
            t.column("output", .text).notNull()
            t.column("confidence", .double)
            t.column("rule", .text)
            t.column("versionId", .integer).notNull().references("program_version")
            t.column("time", .double).notNull()
            t.column("inclusionProbability", .double).notNull()
            t.column("stratum", .text).notNull()
            t.column("tier", .integer).notNull()
            // A stream input is stored at most once per run: a replayed batch fails loudly.
            t.uniqueKey(["runId", "seq"])
        }
        try db.create(table: "oracle_answer") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("executionId", .integer).references("execution").indexed()
            t.column("inputHash", .text).notNull().indexed()
            t.column("label", .text)
            t.column("raw", .text).notNull()
            t.column("source", .text).notNull()
            t.column("cost", .double).notNull()
            t.column("time", .double).notNull()
        }
        try db.create(table: "comparison") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("executionId", .integer).notNull().references("execution").indexed()
            t.column("versionId", .integer).notNull().references("program_version").indexed()
            t.column("programLabel", .text).notNull()
            t.column("oracleLabel", .text).notNull()
            t.column("agree", .boolean).notNull()
            t.column("weight", .double).notNull()
        }
        try db.create(table: "ledger") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("runId", .integer).references("run").indexed()
            t.column("provider", .text).notNull()
            t.column("model", .text).notNull()
            t.column("purpose", .text).notNull()
            t.column("inputTokens", .integer).notNull()
            t.column("outputTokens", .integer).notNull()
            t.column("estimated", .boolean).notNull()
            t.column("latency", .double).notNull()
            t.column("cost", .double)
            t.column("outcome", .text).notNull()
            t.column("cached", .boolean).notNull()
            t.column("time", .double).notNull()
        }
        try db.create(table: "rollout") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("candidateId", .integer).notNull().references("program_version").indexed()
            t.column("baseId", .integer).references("program_version")
            t.column("stage", .text).notNull()
            t.column("share", .double).notNull()
            t.column("time", .double).notNull()
            t.column("evidence", .text).notNull()
        }
        try db.create(table: "escalation") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("runId", .integer).references("run")
            t.column("status", .text).notNull().indexed()
            t.column("reason", .text).notNull()
            t.column("createdAt", .double).notNull()
            t.column("resolvedAt", .double)
            t.column("ticketMarkdown", .text).notNull()
            t.column("ticketJSON", .text).notNull()
            t.column("resolutionVersionId", .integer).references("program_version")
        }
        try db.create(table: "counter") { t in
            t.column("runId", .integer).notNull().references("run")
            t.column("key", .text).notNull()
            t.column("value", .double).notNull()
            t.primaryKey(["runId", "key"])
        }
    }
}
