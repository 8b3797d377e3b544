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
        subcommands: [Check.self, Fmt.self, Run.self, Test.self, Explain.self, Dump.self, Compile.self, Bench.self, Generate.self, OracleCommand.self, LoopCommand.self, ServeCommand.self, LSPCommand.self, TaskGroup.self, Status.self, History.self, Escalations.self, TaskCheck.self, Doctor.self])
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

/// Standard output as bytes, written in 64 KiB pieces (`loopai run` writes millions of lines).
struct ByteOutput {
    var buf: [UInt8] = []

    mutating func flushIfFull() { if buf.count > 1 << 16 { flush() } }

    /// A record that could not be classified: its line and the reason.
    mutating func error(line: Int, _ err: InputError) {
        JSONWriter.write(.object([("line", .number(Double(line))), ("error", JSON(err.message))]), bytes: &buf)
        buf.append(0x0A)
        flushIfFull()
    }

    mutating func flush() {
        var written = 0
        while written < buf.count {
            let n = buf.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }   // the reader has all it wanted (`loopai run … | head`)
                printErr("error: cannot write the output: \(String(cString: strerror(errno)))")
                exit(2)
            }
            written += n
        }
        buf.removeAll(keepingCapacity: true)
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
