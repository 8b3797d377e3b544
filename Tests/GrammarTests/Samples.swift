/// Programs shared by the GBNF and EBNF tests.
enum Samples {
    /// Valid programs (the parser reports nothing) that between them use every construct.
    static let valid: [(name: String, text: String)] = [
        ("records, tables, score terms", #"""
        // A sample covering record inputs, tables, score blocks and record tests.
        program sample_records
          "Routes support tickets."

        input { subject: text, body: text, priority: number, urgent: bool }
        labels billing, bug, other

        use std.text

        const weights = { "refund": 2, "invoice": 1.5, "charge": -0.5, }
        const words = ["crash", "error", "broken"]
        let text_all = lower(subject)
        fn shouty(t: text, n: number) -> bool = upper_ratio(t) > 0.5 and len(t) >= n
        fn bump(x: number) -> number = if x > 3 then -x else x * 2 / 3 - 1

        rule money when matches(body, /\b(refund|invoice)\b/i) or contains_any(text_all, ["bill", "paid"]) => billing confidence 0.9
        rule crashy when not contains_any_word(body, words) == false => bug
        rule negative when -priority < -3 => bug confidence -(-0.5)

        score billing {
          sum_words(body, weights)
          -1 when urgent
          2 * clamp(priority, 0, 5) - 1 when not urgent,
          - 0.5
        }

        score bug {
          // a comment inside a block
          1.5 when matches(subject, /[a-z]+\/[0-9]+/) // trailing
          -2
          3 -
            1
          if urgent then 1 else 0 - 2
        }

        score other {}

        otherwise => other confidence 0.5

        test { subject: "Refund please", body: "I want a refund", priority: 3, urgent: true } => billing
        test { subject: "It crashed", body: "error 42", priority: -1, urgent: false, } => bug
        test {} => other
        """#),
        ("escapes, if-expressions, operators", #"""
        program escapes_and_ifs
        input message: text
        labels a, b, c
        const greeting = "caf\u{e9} \"quoted\" tab\t back\\slash\r\n £ 日本"
        let n = if len(message) > 10 then 1 else if len(message) > 5 then 2 else 3
        let m = 1 + if n == 1 then 2 else 3 * 4
        let r = if n > 1 then /x+/i else /y?/
        let k = (if n > 1 then 1 else 2) + 1
        let deep = not not (n < 2) and n != 3 or n >= 4 and n <= 5 or n == 6
        let frac = 1_000.5e-3 / 2 * -n + - -1 - 2E+3
        let flagged = true == not false
        let tailed = n + not n == 1 or false
        fn one() -> number = 1
        fn g(a: text,) -> [text] = [a, "b",]
        fn h(x: number, y: number) -> number = max(min(x, y), abs(x - y))
        rule r1 when matches(message, r) => a
        rule r2 when matches(message, /[\/]+|\d{2,}/) and one() == 1 => b confidence 0.75
        rule r3 when count_matches(message, /(?:ab|c)[^\]x]*$/i) >= 2 or starts_with(message, "//") => c
        otherwise => c
        test "caf\u{e9}" => a
        test "" => c
        test lower("ABC") => b
        """#),
        ("comments and layout", "// leading comment\n\n// more\nprogram tiny // trailing on header\n  \"desc\"\n\ninput t: text // the input\nlabels yes,\n  no\nrule always when\n    true\n    and contains(t, \"x\")\n    or len(t) > 3 => yes\notherwise => no\n// final comment without newline"),
        ("score terms on one line", """
        program one_line
        input t: text
        labels a, b
        score a { 1, 2 when contains(t, "x"), -3, }
        score b { len(t) * 0.5 }
        otherwise => b
        """),
        ("CRLF line ends", "program crlf\r\ninput t: text\r\nlabels a, b\r\nscore a {\r\n  1 when contains(t, \"x\")\r\n  -1\r\n}\r\notherwise => b\r\ntest \"x\" => a\r\n"),
        ("wrapped like fmt", """
        program wrapped
          "Long lists, tables and conditions wrap the way loopai fmt wraps them."

        input text: text
        labels spam, ham

        const words = [
          "prize", "claim", "award", "winner", "cash", "voucher", "bonus", "reward", "guaranteed",
          "selected",
        ]
        const table_words = {
          "good": 1,
          "bad": -2.5,
        }

        rule long when contains_any(text, words)
            and not contains(text, "unsubscribe")
            and len(text) > 20 => spam confidence 0.95

        score ham {
          1
          -0.5 when len(text) < 3
        }

        otherwise => ham

        test "WINNER! claim your prize" => spam
        """),
    ]

    /// Programs the parser rejects; the GBNF and the EBNF must reject them too.
    static let invalid: [(name: String, text: String)] = [
        ("missing =>", "rule r when true a"),
        ("unterminated string", "test \"abc => a"),
        ("rule without name", "rule when true => a"),
        ("stray semicolon", "labels a, b;"),
        ("keyword as a name", "let rule = 1"),
        ("keyword as a label", "rule r when true => not"),
        ("chained comparison", "rule r when 1 < 2 < 3 => a"),
        ("chained comparison after not", "rule r when not x == y == z => a"),
        ("chained comparison in an else-branch", "rule r when if x then y else z == w == v => a"),
        ("= for ==", "rule r when t = \"x\" => a"),
        ("space before a call's (", "rule r when len (t) > 3 => a"),
        ("single quotes", "test 'x' => a"),
        ("unknown escape", "test \"\\d\" => a"),
        ("list of numbers", "fn f(x: [number]) -> bool = true"),
        ("trailing comma in labels", "labels a, b,"),
        ("if without else", "let x = if true then 1"),
        ("&&", "rule r when a && b => x"),
        ("!", "rule r when !a => x"),
        ("unterminated regex", "rule r when matches(t, /abc) => a"),
        ("empty regex is a comment", "rule r when matches(t, //) => a"),
        ("regex right after test", "test /abc/ => a"),
        ("regex right after confidence", "rule r when true => a confidence /x/"),
        ("not in a confidence", "rule r when x => a confidence not x"),
        ("operator after a test record", "test { a: 1 } + 1 => x"),
        ("table key that is a record field", "test { a: 1, \"b\": 2 } => x"),
        ("letters glued to a number", "let x = 3x"),
        ("otherwise without =>", "otherwise a"),
        ("unclosed parenthesis", "let x = (1 + 2"),
        ("when twice", "score a { 1 when when x }"),
        ("fn without ->", "fn f(x: text) = true"),
        ("use with a trailing dot", "use std."),
        ("input without type", "input t"),
        ("labels without names", "labels"),
        ("minus before not", "let x = -not y"),
        ("hash comment", "# comment"),
        ("unclosed list type", "fn f(x: [text) -> bool = true"),
        ("missing comma in a list", "let x = [1 2]"),
        ("expression after a declaration", "let x = 1 2"),
        ("unclosed score block", "score a { 1"),
        ("equals in a test record", "test { a = 1 } => x"),
    ].map { ($0.0, "program p\ninput t: text\nlabels a, b\n" + $0.1 + "\notherwise => a\n") }

    /// Programs the parser accepts but the GBNF rejects on purpose (its documented restrictions).
    static let stricterInGBNF: [(name: String, text: String)] = [
        ("two declarations on a line", "program p\ninput t: text\nlabels a, b otherwise => a\n"),
        ("no program header", "input t: text\nlabels a\notherwise => a\n"),
        ("module file", "module std.extra\nfn f(t: text) -> bool = true\n"),
        ("binary minus starting a line", "program p\ninput t: text\nlabels a\nlet x = 1\n  - 2\notherwise => a\n"),
        ("not glued to (", "program p\ninput t: text\nlabels a\nrule r when not(true) => a\notherwise => a\n"),
        ("division without spaces", "program p\ninput t: text\nlabels a\nlet x = 4/2\notherwise => a\n"),
        ("score term starting with a regex", "program p\ninput t: text\nlabels a\nscore a {\n  /x/\n}\notherwise => a\n"),
        ("test value starting with a table", "program p\ninput t: text\nlabels a\ntest {\"x\": 1} => a\notherwise => a\n"),
        ("seven-digit unicode escape", "program p\ninput t: text\nlabels a\ntest \"\\u{0000041}\" => a\notherwise => a\n"),
        ("score terms without separator", "program p\ninput t: text\nlabels a\nscore a { 1 2 }\notherwise => a\n"),
    ]
}
