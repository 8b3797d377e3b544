import Foundation
import LSPProtocol
import LoopDiagnostics
import LoopSema

/// How `loopai lsp` was started.
public struct ServerOptions: Sendable {
    /// The store of validations (`--store`); else the task's default store is looked for.
    public var storePath: String?
    /// The task file (`--task`); else `task.yaml` beside the program.
    public var taskPath: String?
    /// The workspace root the client names in `initialize`.
    public var rootPath: String?
    public var version: String
    public init(storePath: String?, taskPath: String?, version: String) {
        self.storePath = storePath; self.taskPath = taskPath; self.version = version
    }
}

/// The Loop language server: reads JSON-RPC frames from standard input, answers on standard
/// output, one message at a time. Every failure of a message becomes the protocol's error for
/// that message; the server itself stops only on `exit` or when its input ends.
public final class LanguageServer {
    enum State { case uninitialized, running, shutDown }
    var options: ServerOptions
    let out: FrameWriter
    let log: (String) -> Void
    var state = State.uninitialized
    var documents: [String: Document] = [:]
    var analyses: [String: Analysis] = [:]
    var contexts: [String: ProgramContext] = [:]
    let stdlib = StdlibIndex(stdlib: .default)
    let decoder = JSONDecoder()

    public init(options: ServerOptions, output: FrameWriter, log: @escaping (String) -> Void) {
        self.options = options; self.out = output; self.log = log
    }

    /// Serves until `exit` or the end of input; returns the process's exit status (0 after an
    /// orderly shutdown, 1 otherwise, as the protocol specifies).
    public func serve(input: FrameReader) -> Int32 {
        while true {
            switch input.next() {
            case .endOfInput:
                return state == .shutDown ? 0 : 1
            case .malformed(let why):
                log("malformed frame: \(why)")
                out.respond(nil, error: ResponseError(.parseError, "malformed frame: \(why)"))
            case .message(let body):
                if let status = handle(body) { return status }
            }
        }
    }

    /// Handles one message; returns an exit status when the message was `exit`.
    func handle(_ body: [UInt8]) -> Int32? {
        if String(validating: body, as: UTF8.self) == nil {
            out.respond(nil, error: ResponseError(.parseError, "the message is not valid UTF-8"))
            return nil
        }
        let data = Data(body)
        let env: IncomingEnvelope
        do { env = try decoder.decode(IncomingEnvelope.self, from: data) }
        catch {
            // Not JSON (or not UTF-8), or not an object: JSON-RPC's parse error / invalid request.
            let isJSON = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            out.respond(nil, error: isJSON ? ResponseError(.invalidRequest, "a message must be a JSON-RPC object with a method or a result")
                                           : ResponseError(.parseError, "the message is not valid JSON in UTF-8"))
            return nil
        }
        guard let method = env.method else {
            // A response to a request of ours (we send none that need an answer), or garbage.
            if env.hasResult { return nil }
            out.respond(env.id, error: ResponseError(.invalidRequest, "a message needs a `method`"))
            return nil
        }
        let id = env.id
        if method == "exit" { return state == .shutDown ? 0 : 1 }
        switch state {
        case .uninitialized where method != "initialize":
            if let id { out.respond(id, error: ResponseError(.serverNotInitialized, "the server is not initialized: send `initialize` first")) }
            return nil
        case .shutDown:
            if let id { out.respond(id, error: ResponseError(.invalidRequest, "the server is shut down: only `exit` is accepted")) }
            return nil
        default: break
        }
        do {
            try dispatch(method: method, id: id, data: data)
        } catch let e as ResponseError {
            if let id { out.respond(id, error: e) } else { log("\(method): \(e.message)") }
        } catch let e as DecodingError {
            let msg = "invalid params for `\(method)`: \(LanguageServer.describe(e))"
            if let id { out.respond(id, error: ResponseError(.invalidParams, msg)) } else { log(msg) }
        } catch {
            if let id { out.respond(id, error: ResponseError(.internalError, "\(error)")) } else { log("\(method): \(error)") }
        }
        return nil
    }

    func params<P: Decodable>(_ type: P.Type, _ data: Data) throws -> P {
        try decoder.decode(ParamsEnvelope<P>.self, from: data).params
    }

    func dispatch(method: String, id: RequestID?, data: Data) throws {
        func reply<R: Encodable>(_ r: R) { if let id { out.respond(id, r) } }
        switch method {
        case "initialize":
            guard state == .uninitialized else { throw ResponseError(.invalidRequest, "`initialize` was already received") }
            let p = try params(InitializeParams.self, data)
            if let root = p.rootUri.flatMap(URIs.path) { options.rootPath = root }
            if case .object(let o)? = p.initializationOptions {
                if let s = o["store"]?.stringValue { options.storePath = s }
                if let t = o["task"]?.stringValue { options.taskPath = t }
            }
            state = .running
            reply(InitializeResult(capabilities: LanguageServer.capabilities, serverInfo: .init(name: "loopai", version: options.version)))
        case "initialized", "$/setTrace", "$/cancelRequest", "workspace/didChangeConfiguration", "workspace/didChangeWatchedFiles":
            break
        case "shutdown":
            state = .shutDown
            reply(Optional<Int>.none)
        case "textDocument/didOpen":
            let p = try params(DidOpenTextDocumentParams.self, data)
            documents[p.textDocument.uri] = Document(uri: p.textDocument.uri, version: p.textDocument.version, text: p.textDocument.text)
            analyse(p.textDocument.uri)
        case "textDocument/didChange":
            let p = try params(DidChangeTextDocumentParams.self, data)
            guard var doc = documents[p.textDocument.uri] else { throw ResponseError(.invalidParams, "\(p.textDocument.uri) is not open") }
            for change in p.contentChanges { doc.apply(change.range, change.text) }
            if let v = p.textDocument.version { doc.version = v }
            documents[doc.uri] = doc
            analyse(doc.uri)
        case "textDocument/didSave":
            let p = try params(DidSaveTextDocumentParams.self, data)
            if let doc = documents[p.textDocument.uri] {
                context(for: doc).refresh()
                analyse(doc.uri)
            }
        case "textDocument/didClose":
            let p = try params(DidCloseTextDocumentParams.self, data)
            documents[p.textDocument.uri] = nil
            analyses[p.textDocument.uri] = nil
            out.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams(uri: p.textDocument.uri, version: nil, diagnostics: []))
        case "textDocument/formatting":
            reply(try formatting(try params(TextDocumentIdentifierParams.self, data).textDocument.uri))
        case "textDocument/hover":
            let p = try params(TextDocumentPositionParams.self, data)
            reply(try hover(p.textDocument.uri, p.position))
        case "textDocument/definition":
            let p = try params(TextDocumentPositionParams.self, data)
            reply(try definition(p.textDocument.uri, p.position))
        case "textDocument/references":
            let p = try params(ReferenceParams.self, data)
            reply(try references(p.textDocument.uri, p.position, includeDeclaration: p.context?.includeDeclaration ?? true))
        case "textDocument/prepareRename":
            let p = try params(TextDocumentPositionParams.self, data)
            reply(try prepareRename(p.textDocument.uri, p.position))
        case "textDocument/rename":
            let p = try params(RenameParams.self, data)
            reply(try rename(p.textDocument.uri, p.position, to: p.newName))
        case "textDocument/completion":
            let p = try params(TextDocumentPositionParams.self, data)
            reply(try completion(p.textDocument.uri, p.position))
        case "textDocument/documentSymbol":
            reply(try documentSymbols(try params(TextDocumentIdentifierParams.self, data).textDocument.uri))
        case "textDocument/foldingRange":
            reply(try foldingRanges(try params(TextDocumentIdentifierParams.self, data).textDocument.uri))
        case "textDocument/codeLens":
            reply(try codeLenses(try params(TextDocumentIdentifierParams.self, data).textDocument.uri))
        case "textDocument/codeAction":
            let p = try params(CodeActionParams.self, data)
            reply(try codeActions(p.textDocument.uri, p.range))
        case "workspace/executeCommand":
            let p = try params(ExecuteCommandParams.self, data)
            reply(try execute(p.command, p.arguments ?? []))
        case "loopai/document":
            // The server's copy of a document (for tests and for debugging an editor's sync).
            let uri = try params(TextDocumentIdentifierParams.self, data).textDocument.uri
            guard let doc = documents[uri] else { throw ResponseError(.invalidParams, "\(uri) is not open") }
            reply(DocumentTextResult(text: doc.text, version: doc.version))
        default:
            // Unknown notifications are ignored, as the protocol asks; unknown requests are answered.
            if id != nil { throw ResponseError(.methodNotFound, "unknown method `\(method)`") }
        }
    }

    static let commands = ["loopai.compareWithValidations", "loopai.runTests"]

    static var capabilities: JSONValue {
        .object([
            "positionEncoding": .string("utf-16"),
            "textDocumentSync": .object(["openClose": .bool(true), "change": .number(2), "save": .object(["includeText": .bool(false)])]),
            "hoverProvider": .bool(true),
            "definitionProvider": .bool(true),
            "referencesProvider": .bool(true),
            "renameProvider": .object(["prepareProvider": .bool(true)]),
            "completionProvider": .object(["triggerCharacters": .array([".", ">", "/", " "].map(JSONValue.string))]),
            "documentSymbolProvider": .bool(true),
            "foldingRangeProvider": .bool(true),
            "documentFormattingProvider": .bool(true),
            "codeLensProvider": .object(["resolveProvider": .bool(false)]),
            "codeActionProvider": .object(["codeActionKinds": .array([.string("quickfix")])]),
            "executeCommandProvider": .object(["commands": .array(commands.map(JSONValue.string))]),
        ])
    }

    // MARK: documents

    func document(_ uri: String) throws -> Document {
        guard let d = documents[uri] else { throw ResponseError(.invalidParams, "\(uri) is not open") }
        return d
    }

    func analysis(_ uri: String) throws -> Analysis {
        if let a = analyses[uri] { return a }
        let a = Analysis(document: try document(uri), stdlib: stdlib)
        analyses[uri] = a
        return a
    }

    func context(for doc: Document) -> ProgramContext {
        let path = URIs.path(doc.uri)
        let dir = path.map { ($0 as NSString).deletingLastPathComponent } ?? (options.rootPath ?? FileManager.default.currentDirectoryPath)
        if let c = contexts[dir] { return c }
        let c = ProgramContext(directory: dir, programPath: path, options: options)
        if let problem = c.storeProblem { out.notify("window/showMessage", ShowMessageParams(type: 2, message: "loopai: \(problem)")) }
        contexts[dir] = c
        return c
    }

    /// Re-analyses a document and publishes its diagnostics: the checker's, then the open
    /// escalations' failing examples that the current text still gets wrong.
    func analyse(_ uri: String) {
        guard let doc = documents[uri] else { return }
        let a = Analysis(document: doc, stdlib: stdlib)
        // The previous analysis is released after the diagnostics are out: freeing a large tree
        // takes a few milliseconds that the developer need not wait for.
        let previous = analyses.updateValue(a, forKey: uri)
        defer { withExtendedLifetime(previous) {} }
        var diags = a.lspDiagnostics(uriOf: { [stdlib] f in
            let module = stdlib.modules.values.first { $0.file.name == f.name }?.name
            return module.flatMap { stdlib.path(ofModule: $0) }.map { URIs.uri(path: $0) }
        })
        diags += escalationDiagnostics(a, context(for: doc))
        out.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams(uri: uri, version: doc.version, diagnostics: diags))
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, let c): return "missing `\((c.codingPath + [k]).map(\.stringValue).joined(separator: "."))`"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "`\(c.codingPath.map(\.stringValue).joined(separator: "."))`: \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

struct TextDocumentIdentifierParams: Codable { var textDocument: TextDocumentIdentifier }
struct DocumentTextResult: Codable { var text: String; var version: Int }
