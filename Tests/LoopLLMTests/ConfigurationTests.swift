import Foundation
import LoopLLM
import TestSupport
import XCTest

final class ConfigurationTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopllm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    func keyFile(_ content: String, mode: Int) throws -> String {
        let path = dir.appendingPathComponent("key-\(mode)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(content.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func configError(_ f: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try f()
            XCTFail("expected an error", file: file, line: line)
        } catch let e as LLMError {
            guard case .configuration = e else { XCTFail("\(e)", file: file, line: line); return nil }
            return e.description
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: Key files

    func testKeyFile0600Accepted() throws {
        let path = try keyFile("  sk-file-KEY-1234  \nsecond line\n", mode: 0o600)
        XCTAssertEqual(try LLMConfiguration.loadKey(fromFile: path), "sk-file-KEY-1234")
        let p400 = try keyFile("sk-other\n", mode: 0o400)
        XCTAssertEqual(try LLMConfiguration.loadKey(fromFile: p400), "sk-other")
    }

    func testKeyFile0644Refused() throws {
        let path = try keyFile("sk-file-KEY-1234\n", mode: 0o644)
        let m = configError { try LLMConfiguration.loadKey(fromFile: path) }
        XCTAssertEqual(m, "LLM configuration: key file \(path) has mode 0644 and is accessible by group/others; run `chmod 600 \(path)`")
        XCTAssertFalse(m?.contains("sk-file-KEY") ?? true)
        let p640 = try keyFile("sk-file-KEY-1234\n", mode: 0o640)
        XCTAssertNotNil(configError { try LLMConfiguration.loadKey(fromFile: p640) })
    }

    func testKeyFileMissingEmptyOrDirectory() throws {
        let missing = dir.appendingPathComponent("nope").path
        XCTAssertEqual(configError { try LLMConfiguration.loadKey(fromFile: missing) },
                       "LLM configuration: cannot read key file \(missing): No such file or directory")
        let empty = try keyFile(" \n", mode: 0o600)
        XCTAssertEqual(configError { try LLMConfiguration.loadKey(fromFile: empty) },
                       "LLM configuration: key file \(empty) is empty")
        XCTAssertEqual(configError { try LLMConfiguration.loadKey(fromFile: self.dir.path) },
                       "LLM configuration: key file \(dir.path) is not a regular file")
    }

    // MARK: Environment

    func testEmptyEnvironmentConfiguresNothing() throws {
        XCTAssertTrue(try LLMConfiguration.fromEnvironment([:]).isEmpty)
        XCTAssertTrue(try LLMConfiguration.fromEnvironment(["OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": " "]).isEmpty)
    }

    func testDefaults() throws {
        let ps = try LLMConfiguration.fromEnvironment(["OPENAI_API_KEY": "sk-a", "ANTHROPIC_API_KEY": "sk-ant-b"])
        XCTAssertEqual(ps.map(\.name), ["openai", "anthropic"])
        let o = try XCTUnwrap(ps[0] as? OpenAICompatibleProvider)
        XCTAssertEqual(o.endpoint, "https://api.openai.com/v1/chat/completions")
        XCTAssertEqual(o.httpRequest(ChatRequest(model: "m", messages: [])).headers.first?.1, "Bearer sk-a")
        let a = try XCTUnwrap(ps[1] as? AnthropicProvider)
        XCTAssertEqual(a.endpoint, "https://api.anthropic.com/v1/messages")
        XCTAssertTrue(a.httpRequest(ChatRequest(model: "m", messages: [])).headers.contains { $0 == ("x-api-key", "sk-ant-b") })
    }

    func testOnlyAnthropic() throws {
        let ps = try LLMConfiguration.fromEnvironment(["ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "https://proxy.example/"])
        XCTAssertEqual(ps.map(\.name), ["anthropic"])
        XCTAssertEqual((ps[0] as? AnthropicProvider)?.endpoint, "https://proxy.example/v1/messages")
    }

    func testCustomBaseURLWithoutKeyIsLocalServer() throws {
        let ps = try LLMConfiguration.fromEnvironment(["OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"])
        XCTAssertEqual(ps.map(\.name), ["openai"])
        let o = try XCTUnwrap(ps[0] as? OpenAICompatibleProvider)
        XCTAssertEqual(o.endpoint, "http://127.0.0.1:8080/v1/chat/completions")
        XCTAssertTrue(o.httpRequest(ChatRequest(model: "m", messages: [])).headers.allSatisfy { $0.0.lowercased() != "authorization" })
    }

    func testKeyFilesFromEnvironment() throws {
        let good = try keyFile("sk-from-file\n", mode: 0o600)
        let ps = try LLMConfiguration.fromEnvironment(["ANTHROPIC_API_KEY_FILE": good])
        XCTAssertEqual(ps.map(\.name), ["anthropic"])
        XCTAssertTrue((ps[0] as! AnthropicProvider).httpRequest(ChatRequest(model: "m", messages: []))
            .headers.contains { $0 == ("x-api-key", "sk-from-file") })
        let bad = try keyFile("sk-from-file\n", mode: 0o644)
        let m = configError { try LLMConfiguration.fromEnvironment(["OPENAI_API_KEY_FILE": bad]) }
        XCTAssertTrue(m?.contains("mode 0644") ?? false, m ?? "")
        XCTAssertFalse(m?.contains("sk-from-file") ?? true)
    }

    func testAzure() throws {
        let ps = try LLMConfiguration.fromEnvironment([
            "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/", "AZURE_OPENAI_API_KEY": "az-key",
            "AZURE_OPENAI_DEPLOYMENT": "gpt4o",
        ])
        XCTAssertEqual(ps.map(\.name), ["azure-openai"])
        let o = try XCTUnwrap(ps[0] as? OpenAICompatibleProvider)
        XCTAssertEqual(o.endpoint, "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01")
        XCTAssertTrue(o.httpRequest(ChatRequest(model: "m", messages: [])).headers.contains { $0 == ("api-key", "az-key") })
        XCTAssertEqual(configError { try LLMConfiguration.fromEnvironment(["AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_API_KEY": "k"]) },
                       "LLM configuration: AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_DEPLOYMENT is not")
    }
}
