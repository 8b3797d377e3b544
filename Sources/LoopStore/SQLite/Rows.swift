import GRDB

// How the store's values map to SQLite rows: each record's properties are the columns of the same
// name (GRDB's Codable mapping); ids are SQLite's row ids, copied back on insert. These
// conformances are the only place the values meet GRDB.

extension VersionStatus: DatabaseValueConvertible {}
extension AnswerSource: DatabaseValueConvertible {}
extension RolloutStage: DatabaseValueConvertible {}
extension EscalationStatus: DatabaseValueConvertible {}

extension ProgramVersion: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "program_version"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Run: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "run"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Execution: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "execution"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension OracleAnswer: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "oracle_answer"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Comparison: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "comparison"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension LedgerEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "ledger"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Rollout: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "rollout"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Escalation: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "escalation"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension TimelinePoint: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "timeline_point"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
