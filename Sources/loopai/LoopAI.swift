import ArgumentParser
import LoopApp
import Foundation
import LoopData

/// `loopai`: the command line. Each subcommand parses its arguments and chains library calls.
struct LoopAI: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "loopai",
        abstract: "Check, run and test .loop classifier programs.",
        discussion: "Exit status: 0 success, 1 errors in the program or its data (or failed tests), 2 usage or I/O errors.",
        version: version,
        subcommands: [Check.self, Fmt.self, Run.self, Test.self, Explain.self, Dump.self, Compile.self, Bench.self, Generate.self, OracleCommand.self, LoopCommand.self, ServeCommand.self, Status.self, History.self, Escalations.self, TaskCheck.self, Doctor.self])
}

/// A failure the user must see, with the exit status it implies.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    init(_ message: String, code: Int32 = 2) { self.message = message; self.code = code }
    var description: String { message }
}

func printErr(_ s: String) { FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8)) }

/// Writes to standard output through a buffer (one write per ~64 KiB, not per line).
struct Output {
    var buf = ""
    mutating func line(_ s: String) {
        buf += s
        buf += "\n"
        if buf.utf8.count > 1 << 16 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(buf.utf8))
        buf = ""
    }
}

enum Main {
    static func run() -> Never {
        do {
            var command = try LoopAI.parseAsRoot()
            try command.run()
            exit(0)
        } catch let e as CLIError {
            printErr("error: \(e.message)")
            exit(e.code)
        } catch let e as AppError {
            printErr("error: \(e.message)")
            exit(e.code)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            let code = LoopAI.exitCode(for: error)
            let msg = LoopAI.fullMessage(for: error)
            if code == .success {
                print(msg)
                exit(0)
            }
            printErr(msg)
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
