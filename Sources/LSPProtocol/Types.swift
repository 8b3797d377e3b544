/// The Language Server Protocol 3.17 structures the server reads and writes, named as the
/// specification names them. Only the fields the server uses are declared; JSON keys the client
/// sends beyond them are ignored by the decoder.

public struct Position: Codable, Sendable, Hashable {
    public var line: Int
    /// In UTF-16 code units (the protocol's default position encoding).
    public var character: Int
    public init(line: Int, character: Int) { self.line = line; self.character = character }
}

public struct Range: Codable, Sendable, Hashable {
    public var start: Position
    public var end: Position
    public init(start: Position, end: Position) { self.start = start; self.end = end }
}

public struct Location: Codable, Sendable, Hashable {
    public var uri: String
    public var range: Range
    public init(uri: String, range: Range) { self.uri = uri; self.range = range }
}

public struct TextDocumentIdentifier: Codable, Sendable { public var uri: String }

public struct VersionedTextDocumentIdentifier: Codable, Sendable {
    public var uri: String
    public var version: Int?
}

public struct TextDocumentItem: Codable, Sendable {
    public var uri: String
    public var languageId: String?
    public var version: Int
    public var text: String
}

public struct TextDocumentPositionParams: Codable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
}

public struct TextEdit: Codable, Sendable, Equatable {
    public var range: Range
    public var newText: String
    public init(range: Range, newText: String) { self.range = range; self.newText = newText }
}

public struct WorkspaceEdit: Codable, Sendable {
    public var changes: [String: [TextEdit]]
    public init(changes: [String: [TextEdit]]) { self.changes = changes }
}

public struct Command: Codable, Sendable {
    public var title: String
    public var command: String
    public var arguments: [JSONValue]?
    public init(title: String, command: String, arguments: [JSONValue]? = nil) {
        self.title = title; self.command = command; self.arguments = arguments
    }
}

public struct MarkupContent: Codable, Sendable {
    public var kind = "markdown"
    public var value: String
    public init(markdown: String) { value = markdown }
}

// MARK: lifecycle

public struct InitializeParams: Codable, Sendable {
    public var processId: Int?
    public var rootUri: String?
    public var initializationOptions: JSONValue?
}

public struct InitializeResult: Codable, Sendable {
    public struct ServerInfo: Codable, Sendable {
        public var name: String; public var version: String
        public init(name: String, version: String) { self.name = name; self.version = version }
    }
    public var capabilities: JSONValue
    public var serverInfo: ServerInfo
    public init(capabilities: JSONValue, serverInfo: ServerInfo) { self.capabilities = capabilities; self.serverInfo = serverInfo }
}

// MARK: documents

public struct DidOpenTextDocumentParams: Codable, Sendable { public var textDocument: TextDocumentItem }

public struct TextDocumentContentChangeEvent: Codable, Sendable {
    /// Absent for a full-text change.
    public var range: Range?
    public var text: String
}

public struct DidChangeTextDocumentParams: Codable, Sendable {
    public var textDocument: VersionedTextDocumentIdentifier
    public var contentChanges: [TextDocumentContentChangeEvent]
}

public struct DidCloseTextDocumentParams: Codable, Sendable { public var textDocument: TextDocumentIdentifier }
public struct DidSaveTextDocumentParams: Codable, Sendable { public var textDocument: TextDocumentIdentifier; public var text: String? }

// MARK: diagnostics

public struct DiagnosticRelatedInformation: Codable, Sendable {
    public var location: Location
    public var message: String
    public init(location: Location, message: String) { self.location = location; self.message = message }
}

public struct LSPDiagnostic: Codable, Sendable {
    public var range: Range
    /// 1 error, 2 warning, 3 information, 4 hint.
    public var severity: Int
    public var code: String?
    public var source: String
    public var message: String
    public var relatedInformation: [DiagnosticRelatedInformation]?
    public init(range: Range, severity: Int, code: String?, source: String = "loopai", message: String,
                relatedInformation: [DiagnosticRelatedInformation]? = nil) {
        self.range = range; self.severity = severity; self.code = code; self.source = source
        self.message = message; self.relatedInformation = relatedInformation
    }
}

public struct PublishDiagnosticsParams: Codable, Sendable {
    public var uri: String
    public var version: Int?
    public var diagnostics: [LSPDiagnostic]
    public init(uri: String, version: Int?, diagnostics: [LSPDiagnostic]) { self.uri = uri; self.version = version; self.diagnostics = diagnostics }
}

// MARK: features

public struct Hover: Codable, Sendable {
    public var contents: MarkupContent
    public var range: Range?
    public init(contents: MarkupContent, range: Range?) { self.contents = contents; self.range = range }
}

public struct ReferenceParams: Codable, Sendable {
    public struct Context: Codable, Sendable { public var includeDeclaration: Bool }
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    public var context: Context?
}

public struct RenameParams: Codable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    public var newName: String
}

public struct CompletionItem: Codable, Sendable {
    /// 3 function, 6 variable, 14 keyword, 20 enum member, 21 constant, 9 module, 5 field.
    public var label: String
    public var kind: Int
    public var detail: String?
    public var documentation: MarkupContent?
    public var insertText: String?
    public init(label: String, kind: Int, detail: String? = nil, documentation: String? = nil, insertText: String? = nil) {
        self.label = label; self.kind = kind; self.detail = detail
        self.documentation = documentation.map { MarkupContent(markdown: $0) }; self.insertText = insertText
    }
}

public struct CompletionList: Codable, Sendable {
    public var isIncomplete: Bool
    public var items: [CompletionItem]
    public init(isIncomplete: Bool, items: [CompletionItem]) { self.isIncomplete = isIncomplete; self.items = items }
}

public struct DocumentSymbol: Codable, Sendable {
    public var name: String
    public var detail: String?
    /// 2 module, 6 method, 10 enum, 12 function, 13 variable, 14 constant, 22 enum member, 23 struct, 24 event.
    public var kind: Int
    public var range: Range
    public var selectionRange: Range
    public var children: [DocumentSymbol]?
    public init(name: String, detail: String?, kind: Int, range: Range, selectionRange: Range, children: [DocumentSymbol]? = nil) {
        self.name = name; self.detail = detail; self.kind = kind; self.range = range; self.selectionRange = selectionRange; self.children = children
    }
}

public struct FoldingRange: Codable, Sendable, Equatable {
    public var startLine: Int
    public var endLine: Int
    public var kind: String?
    public init(startLine: Int, endLine: Int, kind: String? = nil) { self.startLine = startLine; self.endLine = endLine; self.kind = kind }
}

public struct CodeLens: Codable, Sendable {
    public var range: Range
    public var command: Command?
    public init(range: Range, command: Command?) { self.range = range; self.command = command }
}

public struct CodeActionParams: Codable, Sendable {
    public struct Context: Codable, Sendable { public var diagnostics: [LSPDiagnostic]? }
    public var textDocument: TextDocumentIdentifier
    public var range: Range
    public var context: Context?
}

public struct CodeAction: Codable, Sendable {
    public var title: String
    public var kind: String
    public var diagnostics: [LSPDiagnostic]?
    public var isPreferred: Bool?
    public var edit: WorkspaceEdit?
    public init(title: String, kind: String = "quickfix", diagnostics: [LSPDiagnostic]?, isPreferred: Bool?, edit: WorkspaceEdit?) {
        self.title = title; self.kind = kind; self.diagnostics = diagnostics; self.isPreferred = isPreferred; self.edit = edit
    }
}

public struct ExecuteCommandParams: Codable, Sendable {
    public var command: String
    public var arguments: [JSONValue]?
}

public struct ShowMessageParams: Codable, Sendable {
    /// 1 error, 2 warning, 3 info, 4 log.
    public var type: Int
    public var message: String
    public init(type: Int, message: String) { self.type = type; self.message = message }
}
