// swift-tools-version:6.1
import PackageDescription
import Foundation

// Stages, one module each; imports point one way only:
//   LoopDiagnostics → LoopSyntax → LoopSema → LoopInterpreter → LoopData → loopai
let package = Package(
    name: "loopai",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "loopai", targets: ["loopai"]),
        .library(name: "LoopSema", targets: ["LoopSema"]),
        .library(name: "LoopInterpreter", targets: ["LoopInterpreter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Task files are YAML (Docs/task-spec.md); Yams wraps libyaml and gives line/column marks for errors.
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The validation store is SQLite (WAL, migrations); GRDB gives typed rows, migrations and
        // transactions over the system libsqlite3 without hand-written binding code.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // `loopai serve`: HTTP/1.1 on SwiftNIO. Default traits off: no swift-configuration to build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // /metrics in the Prometheus text format (swift-metrics comes with Hummingbird).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The shared store of several `loopai serve` replicas (Docs/scale.md): PostgreSQL's wire
        // protocol on the SwiftNIO already in the graph; no libpq to install.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already in the graph through Hummingbird; named for NIOPosix's executor take-over.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in the graph through Hummingbird; named for the classify endpoints' handler on the event loop.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Already in the graph through Hummingbird; named for the server's own log handler.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Already in the graph through postgres-nio; named for SHA-256 in a wheel's RECORD.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Already in the graph through swift-nio; its Deque gives the sample queue O(k) draining.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        .target(name: "LoopDiagnostics"),
        .target(name: "LoopSyntax", dependencies: ["LoopDiagnostics"]),
        .target(name: "LoopSema", dependencies: ["LoopSyntax"]),
        .target(name: "LoopInterpreter", dependencies: ["LoopSema"]),
        .target(name: "LoopData", dependencies: ["LoopInterpreter"]),
        // The LLVM C API (LLVM 14 from Debian's llvm-dev); only LoopCodegen imports it.
        .target(name: "CLLVM"),
        // Helpers compiled code calls; linked into the JIT process and shipped with AOT output.
        .target(name: "LoopRuntimeC", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "LoopCodegen", dependencies: ["LoopInterpreter", "LoopData", "CLLVM", "LoopRuntimeC"]),
        // libcurl (libcurl4-openssl-dev, installed by scripts/setup); only LoopLLM imports it.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        .target(name: "LoopLLM", dependencies: ["LoopData", "CCurl"]),
        // Task files: what a classifier is for, its labels, examples, providers and policies.
        .target(name: "LoopTask", dependencies: ["LoopData", .product(name: "Yams", package: "Yams")]),
        // The offline inducer: readable programs learned from labeled examples, no LLM.
        .target(name: "LoopInduce", dependencies: ["LoopInterpreter", "LoopData"]),
        // Program generation with the LLM (prompt, extraction, tier-1/tier-2 repair) and the oracle.
        .target(name: "LoopGenerate", dependencies: ["LoopLLM", "LoopTask", "LoopInduce", "LoopData"]),
        // The validation store: versions, samples, oracle answers, ledger, rollouts, escalations.
        .target(name: "LoopStore", dependencies: ["LoopData", .product(name: "GRDB", package: "GRDB.swift")]),
        // The PostgreSQL backend of the store, for replicas sharing one database.
        .target(name: "LoopStorePostgres", dependencies: ["LoopStore", .product(name: "PostgresNIO", package: "postgres-nio")],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        // The self-improvement loop: executor, sampling, statistics, improvement, rollout, escalation.
        .target(name: "LoopRuntime", dependencies: ["CThreadAffinity", "LoopCodegen", "LoopStore", "LoopGenerate", "LoopTask", "LoopLLM", "LoopInduce",
                                                   .product(name: "DequeModule", package: "swift-collections")],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        // The composition root: providers, generators, oracles, stores and engine settings from a
        // task file and choices; the CLI and the server assemble tasks only here.
        .target(name: "LoopApp", dependencies: ["LoopRuntime", "LoopGenerate", "LoopLLM", "LoopTask", "LoopStore", "LoopStorePostgres", "LoopData"]),
        // The HTTP service: routes, auth, metrics and the live dashboard over the runtime's task engines.
        // `loopai serve --pin-event-loops`: glibc's affinity calls, which need _GNU_SOURCE.
        .target(name: "CThreadAffinity"),
        .target(name: "LoopServe", dependencies: [
            "CThreadAffinity", "LoopApp", "LoopRuntime", "LoopData", "LoopTask", "LoopStore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.swiftLanguageMode(.v6)]),
        // The Language Server Protocol's framing and types (JSON-RPC over stdio, Codable), apart
        // from what the server does with them.
        .target(name: "LSPProtocol", swiftSettings: [.swiftLanguageMode(.v6)]),
        // `loopai lsp`: diagnostics, formatting, navigation and the loop's evidence in an editor.
        .target(name: "LoopLSP", dependencies: ["LSPProtocol", "LoopSema", "LoopInterpreter", "LoopData", "LoopTask", "LoopStore", "LoopRuntime", "LoopGenerate"],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        // Packaging compiled programs for other ecosystems: a pip-installable wheel.
        .target(name: "LoopPackage", dependencies: ["LoopCodegen", "LoopSema", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(name: "loopai", dependencies: [
            "LoopData", "LoopCodegen", "LoopPackage", "LoopInduce", "LoopLLM", "LoopTask", "LoopGenerate", "LoopStore", "LoopRuntime", "LoopApp", "LoopServe", "LoopLSP", "LSPProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LoopSyntaxTests", dependencies: ["LoopSyntax"]),
        .testTarget(name: "LoopSemaTests", dependencies: ["LoopSema"]),
        .testTarget(name: "LoopInterpreterTests", dependencies: ["LoopInterpreter", "LoopData"]),
        .testTarget(name: "GrammarTests", dependencies: ["LoopSyntax"]),
        .testTarget(name: "LoopCodegenTests", dependencies: ["LoopCodegen", "LoopData"]),
        .testTarget(name: "LoopInduceTests", dependencies: ["LoopInduce", "LoopData"]),
        // Test helpers shared by the suites (the scripted HTTP stub server on 127.0.0.1).
        .target(name: "TestSupport", dependencies: ["LoopLLM", "LoopData"], path: "Tests/TestSupport"),
        .testTarget(name: "LoopLLMTests", dependencies: ["LoopLLM", "LoopData", "TestSupport"]),
        .testTarget(name: "LoopTaskTests", dependencies: ["LoopTask"]),
        .testTarget(name: "LoopGenerateTests", dependencies: ["LoopGenerate", "LoopLLM", "LoopTask", "LoopData", "TestSupport"]),
        .testTarget(name: "LoopStoreTests", dependencies: ["LoopStore", "LoopStorePostgres", "LoopData", "TestSupport"]),
        .testTarget(name: "LoopRuntimeTests", dependencies: ["LoopRuntime", "LoopStore", "LoopTask", "LoopData", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LoopData", "loopai", "TestSupport"]),
        .testTarget(name: "LoopLSPTests", dependencies: ["loopai", "LSPProtocol", "LoopStore", "LoopData", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "LoopServeTests", dependencies: ["loopai", "LoopServe", "LoopRuntime", "LoopInterpreter", "LoopSema", "LoopStore", "LoopTask", "LoopData", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

// The libFuzzer harnesses only build with `-sanitize=fuzzer` (it has no main), so it joins the
// package only when asked for: `LOOPAI_FUZZ=1 swift build --sanitize=fuzzer --product LoopFuzz`.
if ProcessInfo.processInfo.environment["LOOPAI_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "LoopFuzz", dependencies: ["LoopInterpreter"], path: "Tests/Fuzz/LoopFuzz"))
    package.targets.append(.executableTarget(name: "LoopDiffFuzz", dependencies: ["LoopCodegen"], path: "Tests/Fuzz/LoopDiffFuzz"))
}
