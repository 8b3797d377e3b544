/// An error of assembly, with the exit status a command line should give it (1: the task or
/// program is wrong, 2: usage, configuration or I/O).
public struct AppError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let code: Int32
    public init(_ message: String, code: Int32 = 2) { self.message = message; self.code = code }
    public var description: String { message }
}
