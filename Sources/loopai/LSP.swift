import ArgumentParser
import Foundation
import LSPProtocol
import LoopLSP

/// `loopai lsp`: the language server an editor starts (Docs/editors.md).
struct LSPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsp",
        abstract: "Run the Language Server Protocol server on standard input and output (for editors).",
        discussion: """
        Editors start it; see Docs/editors.md for VS Code, Neovim and Helix. Diagnostics as you type, \
        formatting, hover, go to definition, references, rename, completion, outline, folding, code \
        lenses on tests and rules, and quick fixes. With a store (--store, or the task's default \
        .loopai/TASK.sqlite beside the program's task.yaml), rules show their precision on the \
        validated inputs and open escalations' failing examples appear on what decides them.
        Exit status: 0 after `shutdown` and `exit`, 1 when the input ends without them.
        """)

    @Option(help: "The SQLite store of the loop whose evidence to show (default: the task's .loopai/TASK.sqlite, when found).")
    var store: String?

    @Option(help: "The task file (default: task.yaml beside the program).")
    var task: String?

    @Option(help: "The largest message accepted, in bytes; a larger one is skipped and answered with an error.")
    var maxMessageBytes: Int = 256 << 20

    @Flag(help: "Accepted for editors that pass it; the server always uses standard input and output.")
    var stdio = false

    func validate() throws {
        if maxMessageBytes < 1024 { throw ValidationError("--max-message-bytes must be at least 1024") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let server = LanguageServer(options: ServerOptions(storePath: store, taskPath: task, version: LoopAI.version),
                                    output: FrameWriter(fd: 1), log: { FileHandle.standardError.write(Data(("loopai lsp: " + $0 + "\n").utf8)) })
        let status = server.serve(input: FrameReader(fd: 0, maxBody: maxMessageBytes))
        throw ExitCode(status)
    }
}
