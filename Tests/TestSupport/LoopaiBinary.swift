import Foundation

/// The `loopai` binary built next to the test bundle (the tests that run it as a real process).
public enum LoopaiBinary {
    public static var url: URL {
        let exe = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let dir = exe.deletingLastPathComponent()
        for candidate in [dir.appendingPathComponent("loopai"), dir.deletingLastPathComponent().appendingPathComponent("loopai"),
                          Bundle.main.bundleURL.appendingPathComponent("loopai")] {
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return dir.appendingPathComponent("loopai")
    }
}
