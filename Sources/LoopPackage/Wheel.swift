import Crypto
import Foundation
import LoopCodegen
import LoopSema

/// `loopai compile P --emit wheel -o DIR`: a pip-installable wheel holding the program's shared
/// library (with its runtime) and a Python module named after the program (PEP 427 layout:
/// the module, its stubs and py.typed, and a .dist-info with METADATA, WHEEL and RECORD).
public enum Wheel {
    public struct Options: Sendable {
        /// The distribution and module name (default: the program's name).
        public var name: String?
        /// The version (default: 0.0.0 with the program's hash as its local part).
        public var version: String?
        public var optimization = Codegen.Options()
        public init(name: String? = nil, version: String? = nil) { self.name = name; self.version = version }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// The platform tag of this machine (`linux_x86_64`): the library inside is native code.
    public static var platformTag: String {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let system = withUnsafeBytes(of: &u.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }.lowercased()
        return system + "_" + machine.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
    }

    /// Writes the wheel into `directory` (created if needed); returns its path.
    public static func write(_ p: TypedProgram, to directory: String, options: Options = Options()) throws -> String {
        let module = try moduleName(options.name ?? p.name)
        let version = options.version ?? "0.0.0+\(p.sourceHash.prefix(12))"
        guard version.range(of: #"^[0-9]+(\.[0-9]+)*([ab]|rc)?[0-9]*(\.post[0-9]+)?(\.dev[0-9]+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$"#,
                            options: .regularExpression) != nil else {
            throw Failure("`\(version)` is not a version pip accepts (PEP 440, e.g. 1.2.0 or 1.2.0+local)")
        }
        let tag = "py3-none-\(platformTag)"
        let distInfo = "\(module)-\(version).dist-info"
        let library = "_lib\(module).so"

        // The shared library, built as `--emit shared` builds it.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-wheel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let so = tmp.appendingPathComponent(library).path
        try AOT.emit(p, kind: .shared, to: so, options: options.optimization)
        guard let soBytes = FileManager.default.contents(atPath: so) else { throw Failure("cannot read the shared library just built at \(so)") }

        var files: [(String, [UInt8], UInt32)] = [
            ("\(module)/__init__.py", Array(PythonModule.source(p, module: module, library: library, abiVersion: Codegen.abiVersion).utf8), 0o644),
            ("\(module)/__init__.pyi", Array(PythonModule.stubs(p).utf8), 0o644),
            ("\(module)/py.typed", [], 0o644),
            ("\(module)/\(library)", Array(soBytes), 0o755),
            ("\(distInfo)/METADATA", Array(metadata(p, name: module, version: version).utf8), 0o644),
            ("\(distInfo)/WHEEL", Array("Wheel-Version: 1.0\nGenerator: loopai\nRoot-Is-Purelib: false\nTag: \(tag)\n".utf8), 0o644),
            ("\(distInfo)/top_level.txt", Array("\(module)\n".utf8), 0o644),
        ]
        var record = ""
        for (path, data, _) in files { record += "\(path),sha256=\(digest(data)),\(data.count)\n" }
        record += "\(distInfo)/RECORD,,\n"
        files.append(("\(distInfo)/RECORD", Array(record.utf8), 0o644))

        var zip = ZipWriter()
        for (path, data, mode) in files { zip.add(path, data, mode: mode) }
        let bytes = zip.finish()
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw Failure("cannot create \(directory): \(error.localizedDescription)") }
        let out = (directory as NSString).appendingPathComponent("\(module)-\(version)-\(tag).whl")
        guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else { throw Failure("cannot write \(out)") }
        return out
    }

    /// The module name: the program's name when it is a Python identifier (not a keyword).
    public static func moduleName(_ name: String) throws -> String {
        guard name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else {
            throw Failure("`\(name)` cannot name a Python module; give --wheel-name a name of letters, digits and _")
        }
        return PythonModule.keywords.contains(name) ? name + "_" : name
    }

    static func metadata(_ p: TypedProgram, name: String, version: String) -> String {
        let summary = (p.description ?? "A Loop classifier compiled by loopai").replacingOccurrences(of: "\n", with: " ")
        return """
        Metadata-Version: 2.1
        Name: \(name)
        Version: \(version)
        Summary: \(summary)
        Requires-Python: >=3.8
        Provides-Extra: pandas
        Requires-Dist: pandas; extra == "pandas"
        Provides-Extra: numpy
        Requires-Dist: numpy; extra == "numpy"
        Description-Content-Type: text/plain

        The Loop program `\(p.name)` (source hash \(p.sourceHash)) compiled to native code by loopai.
        Labels: \(p.labelNames.joined(separator: ", ")). Inputs: \(p.fields.map { "\($0.name) (\($0.type.rawValue))" }.joined(separator: ", ")).

        """
    }

    /// RECORD's hash: SHA-256, URL-safe base64 without padding.
    static func digest(_ data: [UInt8]) -> String {
        Data(SHA256.hash(data: data)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
