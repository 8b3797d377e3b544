import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopTask
import TestSupport

/// A small spam task, its programs (good, broken, wrong) and stub replies in both wire formats.
enum Fixtures {
    static let task = TaskSpec(
        name: "spam_task", description: "Is this SMS unsolicited advertising?",
        input: [InputField(name: "text", type: .text)],
        labels: [LabelSpec(name: "spam", description: "unsolicited offers and prizes"), LabelSpec(name: "ham", description: "everything else")],
        examples: [TaskExample(input: JSON("WINNER! claim your prize now"), label: "spam"),
                   TaskExample(input: JSON("are we still on for lunch?"), label: "ham"),
                   TaskExample(input: JSON("you have won a free cruise, call now"), label: "spam"),
                   TaskExample(input: JSON("call me when you get home"), label: "ham")],
        programPath: "/tmp/spam_task.loop", path: "/tmp/spam_task.yaml")

    static let good = """
    program spam_task
    input text: text
    labels spam, ham

    const offer_words = ["winner", "prize", "won", "free"]

    let msg = lower(text)

    rule offer when contains_any_word(msg, offer_words) => spam
    otherwise => ham

    test "WINNER! claim your prize" => spam
    test "see you at lunch" => ham
    """

    /// Checks, but misses "won"/"free": fails one example.
    static let weak = """
    program spam_task
    input text: text
    labels spam, ham

    const offer_words = ["winner", "prize"]

    let msg = lower(text)

    rule offer when contains_any_word(msg, offer_words) => spam
    otherwise => ham

    test "WINNER! claim your prize" => spam
    """

    /// Foreign syntax (`&&`) and an undeclared name.
    static let broken = """
    program spam_task
    input text: text
    labels spam, ham

    rule offer when contains(text, "winner") && sender_is_unknown => spam
    otherwise => ham
    """

    static func openAIReply(_ content: String, usage: (Int, Int)? = (120, 80)) -> StubServer.Action {
        var fields: [(String, JSON)] = [("model", JSON("gpt-test")),
                                        ("choices", .array([.object([("message", .object([("role", JSON("assistant")), ("content", JSON(content))]))])]))]
        if let u = usage { fields.append(("usage", .object([("prompt_tokens", .number(Double(u.0))), ("completion_tokens", .number(Double(u.1)))]))) }
        return .ok(JSONWriter.string(.object(fields)))
    }

    static func anthropicReply(_ content: String) -> StubServer.Action {
        .ok(JSONWriter.string(.object([
            ("model", JSON("claude-test")), ("type", JSON("message")), ("role", JSON("assistant")),
            ("content", .array([.object([("type", JSON("text")), ("text", JSON(content))])])),
            ("usage", .object([("input_tokens", .number(100)), ("output_tokens", .number(50))])),
        ])))
    }

    static func fenced(_ program: String) -> String { "Here is the program:\n\n```loop\n\(program)\n```\n" }

    static func http() -> HTTPClient.Configuration { StubLLM.http() }

    static func openAIClient(_ server: StubServer, http: HTTPClient.Configuration = http()) -> LLMClient {
        StubLLM.openAIClient(server, apiKey: "sk-test-secret", http: http)
    }

    /// The JSON body of a recorded request.
    static func body(_ r: StubServer.Request) -> JSON { (try? JSONParser.parse(r.body)) ?? .null }

    /// The contents of the messages of a recorded OpenAI-format request.
    static func messages(_ r: StubServer.Request) -> [(role: String, content: String)] {
        (body(r)["messages"]?.array ?? []).map { ($0["role"]?.string ?? "", $0["content"]?.string ?? "") }
    }
}
