import Foundation
import LoopDiagnostics
import LoopSema
import LoopSyntax

/// The Stdlib's modules and functions, with the documentation comment above each function (the
/// same comments Docs/stdlib.md is written from), for hover, completion and go to definition.
final class StdlibIndex {
    struct Function {
        let module: String
        let name: String
        let signature: String
        let doc: String
        let nameRange: SourceRange
        let file: SourceFile
    }
    struct Module {
        let name: String
        let description: String
        let file: SourceFile
        var functions: [Function]
    }
    let stdlib: Stdlib
    private(set) var modules: [String: Module] = [:]

    init(stdlib: Stdlib) {
        self.stdlib = stdlib
        for name in stdlib.modules.keys.sorted() {
            guard let file = stdlib.file(for: name) else { continue }
            let (unit, _) = Parser.parse(file)
            var description = ""
            var fns: [Function] = []
            var previousEnd = 0
            for d in unit.decls {
                switch d.kind {
                case .module(_, let desc): description = desc ?? ""
                case .fn(let id, let ps, let result, let body):
                    // The comment lines between the previous declaration and this one.
                    let doc = unit.comments.filter { $0.range.start >= previousEnd && $0.range.end <= d.range.start && !$0.trailing }
                        .map { $0.text.hasPrefix("//") ? String($0.text.dropFirst(2)).trimmingCharacters(in: .whitespaces) : $0.text }
                        .joined(separator: " ")
                    let sig = "fn \(id.name)(" + ps.map { "\($0.name.name): \($0.type.name == "list" ? "[text]" : $0.type.name)" }.joined(separator: ", ") + ") -> \(result.name)"
                    _ = body
                    fns.append(Function(module: name, name: id.name, signature: sig, doc: doc, nameRange: id.range, file: file))
                default: break
                }
                previousEnd = d.range.end
            }
            modules[name] = Module(name: name, description: description, file: file, functions: fns)
        }
    }

    func function(module: String, name: String) -> Function? { modules[module]?.functions.first { $0.name == name } }

    /// A file on disk holding the module's source, for go to definition: the Stdlib directory when
    /// LOOPAI_STDLIB names one, else a copy of the embedded source written once under the cache
    /// directory (as language servers do for a toolchain's library sources).
    func path(ofModule name: String) -> String? {
        let relative = name.replacingOccurrences(of: ".", with: "/") + ".loop"
        if stdlib.displayPrefix.hasPrefix("/") || stdlib.displayPrefix.hasPrefix(".") {
            let p = stdlib.displayPrefix + relative
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        guard let source = stdlib.modules[name] else { return nil }
        let env = ProcessInfo.processInfo.environment
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (env["HOME"].map { $0 + "/.cache" } ?? NSTemporaryDirectory())
        let dir = cache + "/loopai/stdlib-" + StableHash.hex(Array(source.utf8)).prefix(12)
        let path = dir + "/" + relative
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing == source { return path }
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try source.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        } catch { return nil }
    }
}
