import XCTest
import LoopSema
import LoopInterpreter

// Every function of Stdlib/std/*.loop (the copy embedded in the binary), with inputs it accepts and
// inputs it rejects, as documented in Docs/stdlib.md. Each function is compiled into a tiny program
// (`use std.MODULE` + one rule) and run by the reference interpreter.

final class StdlibTests: XCTestCase {
    typealias H = LoopHarness

    /// A predicate of the Stdlib: texts for which it must be true and texts for which it must be false.
    struct Predicate { let module: String; let accepts: [String]; let rejects: [String] }

    static let predicates: [String: Predicate] = [
        // std.validate: whole-value format checks.
        "is_email": Predicate(module: "std.validate", accepts: [
            "a@b.co", "John.Doe+tag@Example.COM", "o'neil@x.org", "user@sub.example.co.uk", "user@123.com", "x@a-b.io",
            "a!#$%&*+/=?^_`{|}~-z@b.co",
        ], rejects: [
            "", "a@b", "a@b.c", ".a@b.co", "a..b@b.co", "a.@b.co", "a@-b.co", "a@b-.co", "a@b..co", "a b@c.co", "a@b.co ",
            " a@b.co", "a@b.co\n", "user@ex_ample.com", "émile@x.fr", "a@b.c0", "@b.co", "a@", "a@@b.co", "mail a@b.co",
        ]),
        "is_url": Predicate(module: "std.validate", accepts: [
            "http://example.com", "https://example.com/path?q=1#frag", "HTTPS://EXAMPLE.COM", "https://sub.example.co.uk:8080/x",
            "http://example.com?x", "http://example.com/é", "http://192.168.0.1/x", "http://10.0.0.1:8080",
            "http://999.999.999.999",   // the IPv4 form checks the shape only, not the range
        ], rejects: [
            "", "http://localhost", "http://localhost:8080", "ftp://example.com", "https://example.com/a b", "https://exa_mple.com",
            "www.example.com", "example.com", "https://example.com:123456", "https://-a.com", "https://a-.com", "http://example.c",
            "http://", "http://1.2.3.4.5", "http://example.com ", "see http://example.com",
        ]),
        "is_ipv4": Predicate(module: "std.validate", accepts: [
            "0.0.0.0", "1.2.3.4", "10.0.0.255", "192.168.0.1", "199.249.250.251", "255.255.255.255",
        ], rejects: [
            "", "256.1.1.1", "1.2.3.256", "300.1.1.1", "999.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "00.0.0.0",
            " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "1.2.3.-4", "1..2.3", "a.b.c.d", "１.２.３.４", "1.2.3.4/24", "١.٢.٣.٤",
        ]),
        "is_phone": Predicate(module: "std.validate", accepts: [
            "+1 555 123 4567", "555-123-4567", "(555) 123-4567", "(555)1234567", "+44 (20) 7946 0958", "555.123.4567",
            "+33 1 23 45 67 89", "5551234", "+1234567", "123456789012345678", "+123 (1234) 123456789012345", "+(555) 1234567",
        ], rejects: [
            "", "555123", "+1234567890123456789", "12345678901234567890", "555--1234567", "call 5551234", "1-800-FLOWERS",
            "555 123 4567 ", "+1 (555) (123) 4567", "555_123_4567", "٥٥٥١٢٣٤٥٦٧",
        ]),
        "is_iso_date": Predicate(module: "std.validate", accepts: [
            "2024-01-31", "2024-02-28", "2024-02-29", "2023-02-29", "2024-04-30", "2024-06-30", "2024-11-30", "2024-12-31",
            "0000-01-01", "1999-09-09",
        ], rejects: [
            "", "2024-02-30", "2024-02-31", "2024-04-31", "2024-06-31", "2024-09-31", "2024-11-31", "2024-13-01", "2024-00-10",
            "2024-01-00", "2024-01-32", "2024-1-01", "2024-01-1", "99999-01-01", "24-01-01", "2024/01/01", "2024-06-15T10:00",
            " 2024-01-01",
        ]),
        "is_time": Predicate(module: "std.validate", accepts: [
            "00:00", "07:30", "12:00:00", "23:59", "07:30:59", "19:05:00",
        ], rejects: [
            "", "24:00", "23:60", "7:30", "07:30:60", "12:00:00.5", "12:00 ", "12", "12:0", "1200", "12:00 pm", "12.00",
        ]),
        "is_currency_amount": Predicate(module: "std.validate", accepts: [
            "100", "0.99", "$5", "$5.00", "£1,000.50", "€ 1,000", "¥100", "1,000,000", "12,345.67", "$1000000", "$\t5",
            " 100",   // the optional white space does not depend on the symbol
        ], rejects: [
            "", "$", "$ ", "$5.0", "$5.000", "1,00", "1,000.5", "1234,567", ",123", "USD 5", "5$", "-5", "$.50", "€€5", "5 EUR",
            "  100", "100 ",
        ]),
        "is_uuid": Predicate(module: "std.validate", accepts: [
            "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "00000000-0000-0000-0000-000000000000",
        ], rejects: [
            "", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
            "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-42661417400g",
        ]),
        "is_digits": Predicate(module: "std.validate", accepts: [
            "0", "007", "1234567890",
        ], rejects: [
            "", "12a", " 1", "1 ", "1\n", "1.5", "-1", "١٢٣", "１２３",
        ]),
        // std.text: predicates over free text.
        "has_currency": Predicate(module: "std.text", accepts: [
            "win £900 now", "$ 5 off", "€1,000", "¥ 3", "3 ¥", "10 EUR", "10eur", "price 5 dollars", "5 pound", "5 pounds",
            "costs 5.99 usd", "5.5 euros", "5 Euro", "gagnez 100€",
        ], rejects: [
            "", "no money here", "1000 yen", "USD 10", "100usdt", "$x", "5 dollarsign", "ten euros",
        ]),
        "has_url": Predicate(module: "std.text", accepts: [
            "see http://x.co", "HTTPS://A", "visit www.example.com today", "go to https://例え.jp", "(https://a.b/c)",
        ], rejects: [
            "", "www.example", "xwww.example.com", "example.com", "ftp://a.b", "http://", "https:// x",
        ]),
        "has_email": Predicate(module: "std.text", accepts: [
            "mail me at a.b@c.org today", "A@B.CO", "x: first_last@sub.example.io,",
        ], rejects: [
            "", "a@b", "@b.co", "x a@b.c y", "user at example dot com",
        ]),
        "has_phone": Predicate(module: "std.text", accepts: [
            "call 09061701461 now", "call +44 20 7946 0958", "555-123-4567", "+1234567890", "tel:5551234567",
            "12 34 56 78 90", "555--123--4567",
            "ref 12345678901234567890", "1.000.000.000", "2024-01-01 12",   // no upper limit, any separators
        ], rejects: [
            "", "555-1234", "123456789", "abc1234567890", "1234567890abc",
            "(555) 123-4567",   // the parenthesis breaks the run
        ]),
        "has_number": Predicate(module: "std.text", accepts: [
            "5", "room 101", "v2",
        ], rejects: [
            "", "five", "٥", "５",
        ]),
        "is_shouting": Predicate(module: "std.text", accepts: [
            "WIN A FREE PRIZE", "AAAAAAAAAAAa", "ΚΑΛΗΜΕΡΑ ΣΑΣ ΦΙΛΟΙ", "ÉÉÉÉÉÉÉÉÉÉÉÉ", "CALL NOW!!! 123",
        ], rejects: [
            "", "WIN NOW", "AAAAAAAAAAA", "WIN A FREE prize now", "AAAAAAAAAaaaaaa", "12345678901234!!", "这是一个很长的句子没有大小写",
        ]),
        "is_blank": Predicate(module: "std.text", accepts: [
            "", " ", "   ", "\t\n\r", "\u{0B}\u{0C}",
        ], rejects: [
            "x", " x ", "\u{A0}", "\u{3000}", ".",
        ]),
        "is_question": Predicate(module: "std.text", accepts: [
            "ok?", "ok?  ", "why?\n", "¿qué?", "?",
        ], rejects: [
            "", "ok", "what？", "? no", "ok?!", "ok?\u{A0}",
        ]),
    ]

    /// The one function that returns a number: input → expected result.
    static let exclamations: [(String, Double)] = [
        ("", 0), ("hi!", 1), ("wow!!!", 3), ("¡hola!", 1), ("！", 0), ("!a!b!", 3),
    ]

    /// Compiles `fn(t)` from `module` into a rule; true when the rule fires.
    func predicate(_ module: String, _ fn: String, file: StaticString = #filePath, line: UInt = #line) throws -> ([UInt8]) -> Bool {
        let p = try H.compile("program p\ninput t: text\nlabels yes, no\nuse \(module)\nrule r when \(fn)(t) => yes\notherwise => no\n",
                              file: file, line: line)
        let interp = Interpreter(p)
        return { interp.evaluate([.text($0)]).label == 0 }
    }

    func check(_ fn: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let spec = Self.predicates[fn] else { return XCTFail("no cases for \(fn)", file: file, line: line) }
        XCTAssertFalse(spec.accepts.isEmpty, file: file, line: line)
        XCTAssertFalse(spec.rejects.isEmpty, file: file, line: line)
        let f = try predicate(spec.module, fn, file: file, line: line)
        for s in spec.accepts { XCTAssertTrue(f(u8(s)), "\(fn) should accept \(s.debugDescription)", file: file, line: line) }
        for s in spec.rejects { XCTAssertFalse(f(u8(s)), "\(fn) should reject \(s.debugDescription)", file: file, line: line) }
    }

    // MARK: std.validate

    func testIsEmail() throws { try check("is_email") }
    func testIsURL() throws { try check("is_url") }
    func testIsIPv4() throws { try check("is_ipv4") }
    func testIsPhone() throws { try check("is_phone") }
    func testIsISODate() throws { try check("is_iso_date") }
    func testIsTime() throws { try check("is_time") }
    func testIsCurrencyAmount() throws { try check("is_currency_amount") }
    func testIsUUID() throws { try check("is_uuid") }
    func testIsDigits() throws { try check("is_digits") }

    func testIPv4EveryOctetBoundary() throws {
        let f = try predicate("std.validate", "is_ipv4")
        for n in 0...999 {
            let octet = String(n)
            XCTAssertEqual(f(u8("\(octet).0.0.0")), n <= 255, "\(octet) in the first position")
            XCTAssertEqual(f(u8("0.0.0.\(octet)")), n <= 255, "\(octet) in the last position")
        }
        XCTAssertFalse(f(u8("0.0.0.00")))
        XCTAssertFalse(f(u8("0.0.0.000")))
    }

    func testISODateEveryDayOfEveryMonth() throws {
        let f = try predicate("std.validate", "is_iso_date")
        // 29 February is accepted in every year; the other months have their calendar lengths.
        let days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for m in 1...12 {
            for d in 0...32 {
                let s = "2023-" + (m < 10 ? "0\(m)" : "\(m)") + "-" + (d < 10 ? "0\(d)" : "\(d)")
                XCTAssertEqual(f(u8(s)), d >= 1 && d <= days[m - 1], s)
            }
        }
    }

    func testTimeEveryHourAndMinute() throws {
        let f = try predicate("std.validate", "is_time")
        for h in 0...25 {
            for m in [0, 9, 10, 59, 60, 61] {
                let s = (h < 10 ? "0\(h)" : "\(h)") + ":" + (m < 10 ? "0\(m)" : "\(m)")
                XCTAssertEqual(f(u8(s)), h <= 23 && m <= 59, s)
                XCTAssertEqual(f(u8(s + ":30")), h <= 23 && m <= 59, s + ":30")
            }
        }
    }

    // MARK: std.text

    func testHasCurrency() throws { try check("has_currency") }
    func testHasURL() throws { try check("has_url") }
    func testHasEmail() throws { try check("has_email") }
    func testHasPhone() throws { try check("has_phone") }
    func testHasNumber() throws { try check("has_number") }
    func testIsShouting() throws { try check("is_shouting") }
    func testIsBlank() throws { try check("is_blank") }
    func testIsQuestion() throws { try check("is_question") }

    func testExclamations() throws {
        for (s, n) in Self.exclamations {
            XCTAssertEqual(try H.number("exclamations(t)", u8(s), prelude: "use std.text"), n, s)
        }
    }

    func testIsShoutingThresholds() throws {
        let f = try predicate("std.text", "is_shouting")
        // More than 60% of the cased letters uppercase, and at least 12 characters.
        XCTAssertFalse(f(u8("ABCDEFGHIJK")), "11 characters")
        XCTAssertTrue(f(u8("ABCDEFGHIJKL")), "12 characters")
        XCTAssertTrue(f(u8("ABCDEFGHIJ           ")), "spaces count towards the length, not the ratio")
        XCTAssertFalse(f(u8("ABCDEFGHIabcdef")), "9 of 15 is exactly 0.6")
        XCTAssertTrue(f(u8("ABCDEFGHIJabcdef")), "10 of 16 is above 0.6")
    }

    // MARK: invalid UTF-8

    func testInvalidBytesAreNeverWellFormed() throws {
        let bad: [UInt8] = [0xFF]
        for fn in ["is_email", "is_url", "is_ipv4", "is_phone", "is_iso_date", "is_time", "is_currency_amount", "is_uuid", "is_digits"] {
            let f = try predicate("std.validate", fn)
            let good = u8(Self.predicates[fn]!.accepts[0])
            XCTAssertTrue(f(good), fn)
            XCTAssertFalse(f(good + bad), "\(fn) with a trailing 0xFF byte")
            XCTAssertFalse(f(bad + good), "\(fn) with a leading 0xFF byte")
        }
        XCTAssertFalse(try predicate("std.text", "is_blank")(bad))
        XCTAssertTrue(try predicate("std.text", "has_number")(bad + u8("5")))
        XCTAssertTrue(try predicate("std.text", "has_email")(bad + u8("a@b.co") + bad))
        XCTAssertTrue(try predicate("std.text", "is_question")([0xE2, 0x82] + u8("?")))
        XCTAssertEqual(try H.number("exclamations(t)", [0x21, 0xFF, 0x21], prelude: "use std.text"), 2)
    }

    /// std.text's `sum_words_negating`: English negators within 3 words, in the same clause, as
    /// Docs/stdlib.md shows; the native code agrees (Tests/LoopCodegenTests covers the built-in).
    func testSumWordsNegating() throws {
        let table = "{\"good\": 1, \"disappoint\": -1, \"recommend\": 2}"
        func v(_ t: String) throws -> Double { try H.number("sum_words_negating(lower(t), \(table))", Array(t.utf8), prelude: "use std.text") }
        XCTAssertEqual(try v("good"), 1)
        XCTAssertEqual(try v("not good"), -1)
        XCTAssertEqual(try v("It didn’t disappoint"), 1)
        XCTAssertEqual(try v("It didn't disappoint"), 1)
        XCTAssertEqual(try v("I cannot recommend it"), -2)
        XCTAssertEqual(try v("not at all a good one"), 1, "four words between: out of scope")
        XCTAssertEqual(try v("no. good"), 1, "another clause")
        XCTAssertEqual(try v("Never GOOD, never disappoint"), 0)
    }

    // MARK: the modules themselves

    /// Function name → module, read from the embedded Stdlib sources.
    static func stdlibFunctions() -> [String: String] {
        var out: [String: String] = [:]
        for (module, _) in Stdlib.embedded.modules {
            let (unit, diags) = Parser.parse(Stdlib.embedded.file(for: module)!)
            XCTAssertTrue(diags.isEmpty, "\(module) parses cleanly")
            for d in unit.decls { if case .fn(let n, _, _, _) = d.kind { out[n.name] = module } }
        }
        return out
    }

    func testEveryStdlibFunctionIsTested() {
        let fns = Self.stdlibFunctions()
        XCTAssertEqual(Set(Stdlib.embedded.modules.keys), ["std.text", "std.validate"])
        var tested = Set(Self.predicates.keys)
        tested.insert("exclamations")
        tested.insert("sum_words_negating")
        XCTAssertEqual(Set(fns.keys), tested)
        for (fn, spec) in Self.predicates { XCTAssertEqual(fns[fn], spec.module, fn) }
    }

    func testSignatures() throws {
        let p = try H.compile("program p\ninput t: text\nlabels a, b\nuse std.text\nuse std.validate\notherwise => b\n")
        XCTAssertEqual(Set(p.modules), ["std.text", "std.validate"])
        let fns = p.functions.filter { $0.module != nil }
        XCTAssertEqual(fns.count, Self.stdlibFunctions().count)
        for f in fns where f.name != "sum_words_negating" {
            XCTAssertEqual(f.params.map(\.type), [.text], f.name)
            XCTAssertEqual(f.result, f.name == "exclamations" ? .number : .bool, f.name)
        }
    }

    func testStdlibInAProgramWithEmbeddedTests() throws {
        let p = try H.compile("""
        program contact_check
        input { email: text, note: text }
        labels ok, suspicious, invalid
        use std.validate
        use std.text
        rule bad_email when not is_email(trim(email)) => invalid
        rule links when has_url(note) or has_phone(note) => suspicious confidence 0.8
        score suspicious { 0.5 * exclamations(note) }
        otherwise => ok
        test { email: " ana@example.org ", note: "thanks!" } => suspicious
        test { email: "ana@example.org", note: "thanks" } => ok
        test { email: "ana@", note: "" } => invalid
        test { email: "ana@example.org", note: "see www.example.com" } => suspicious
        """)
        let (passed, failures) = EmbeddedTests.run(Interpreter(p))
        XCTAssertEqual(passed, 4)
        XCTAssertTrue(failures.isEmpty)
    }

    func testStdlibNamesCannotBeRedefinedAndModulesMustExist() {
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nuse std.text\nfn is_blank(t: text) -> bool = false\nrule r when is_blank(t) => a\notherwise => b\n"), ["E0307"])
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nuse std.validation\notherwise => b\n"), ["E0304"])
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nrule r when is_email(t) => a\notherwise => b\n"), ["E0303"],
                       "a Stdlib function is visible only after `use`")
    }
}
