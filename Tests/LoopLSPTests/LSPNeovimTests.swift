import Foundation
import XCTest

/// A real editor: headless Neovim (Debian's `neovim`, installed by scripts/setup) starts
/// `loopai lsp`, opens programs, and reports what it received; a save formats through the server.
final class LSPNeovimTests: XCTestCase {
    static let script = """
    local loopai, dir, out = vim.env.LOOPAI, vim.env.WORKDIR, vim.env.OUT
    local client = vim.lsp.start_client({ name = 'loopai', cmd = { loopai, 'lsp' }, root_dir = dir })
    local result = {}
    local function wait_diagnostics(n)
      return vim.wait(30000, function() return #vim.diagnostic.get(0) >= n end, 20)
    end
    -- 1. A broken program: the diagnostics Neovim shows.
    vim.cmd('edit ' .. dir .. '/broken.loop')
    vim.lsp.buf_attach_client(0, client)
    wait_diagnostics(1)
    for _, d in ipairs(vim.diagnostic.get(0)) do
      table.insert(result, string.format('diag %d:%d %s %s', d.lnum, d.col, tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)), (d.message:gsub('\\n', ' | '))))
    end
    -- 2. Hover on a built-in, through the client.
    vim.api.nvim_win_set_cursor(0, {12, 11})
    local hover = vim.lsp.buf_request_sync(0, 'textDocument/hover', vim.lsp.util.make_position_params(), 10000)
    for _, r in pairs(hover or {}) do
      if r.result and r.result.contents then table.insert(result, 'hover ' .. (r.result.contents.value:gsub('\\n', ' | '))) end
    end
    -- 3. Jump to a constant and list a label's uses, through the client (the cursor on the use of
    --    `refund_words` in the rule, then on the label `refund` of the `labels` line).
    vim.api.nvim_win_set_cursor(0, {15, 45})
    local def = vim.lsp.buf_request_sync(0, 'textDocument/definition', vim.lsp.util.make_position_params(), 10000)
    for _, r in pairs(def or {}) do
      local loc = r.result and (r.result[1] or r.result)
      if loc and loc.range then table.insert(result, string.format('definition %d:%d', loc.range.start.line, loc.range.start.character)) end
    end
    vim.api.nvim_win_set_cursor(0, {5, 8})
    local params = vim.lsp.util.make_position_params()
    params.context = { includeDeclaration = true }
    local refs = vim.lsp.buf_request_sync(0, 'textDocument/references', params, 10000)
    for _, r in pairs(refs or {}) do table.insert(result, 'references ' .. #(r.result or {})) end
    local lenses = vim.lsp.buf_request_sync(0, 'textDocument/codeLens', { textDocument = vim.lsp.util.make_text_document_params() }, 10000)
    for _, r in pairs(lenses or {}) do
      for _, l in ipairs(r.result or {}) do table.insert(result, 'lens ' .. l.command.title) end
    end
    -- 4. Format on save: a messy but valid program, written with :w.
    vim.cmd('edit ' .. dir .. '/messy.loop')
    vim.lsp.buf_attach_client(0, client)
    vim.wait(30000, function() return vim.lsp.buf_is_attached(0, client) and vim.b.changedtick ~= nil end, 20)
    vim.api.nvim_create_autocmd('BufWritePre', { buffer = 0, callback = function() vim.lsp.buf.formatting_sync(nil, 10000) end })
    vim.cmd('write')
    table.insert(result, 'saved')
    vim.fn.writefile(result, out)
    vim.cmd('qa!')
    """

    func testNeovimShowsTheServersDiagnosticsHoversAndFormatsOnSave() throws {
        let nvim = "/usr/bin/nvim"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: nvim), "neovim is installed by scripts/setup")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-nvim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = LSPServerTests.program.replacingOccurrences(of: "=> refund\n\nscore", with: "=> refnud\n\nscore")
        try broken.write(to: dir.appendingPathComponent("broken.loop"), atomically: true, encoding: .utf8)
        let messy = LSPServerTests.program.replacingOccurrences(of: "rule has_link when has_url(text) => spam confidence 0.9", with: "rule   has_link when has_url( text )=>spam confidence 0.90")
        try messy.write(to: dir.appendingPathComponent("messy.loop"), atomically: true, encoding: .utf8)
        try Self.script.write(to: dir.appendingPathComponent("test.lua"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.txt")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: nvim)
        p.arguments = ["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", "luafile " + dir.appendingPathComponent("test.lua").path]
        var env = ProcessInfo.processInfo.environment
        env["LOOPAI"] = LSPClient.binary.path
        env["WORKDIR"] = dir.path
        env["OUT"] = out.path
        env["XDG_CONFIG_HOME"] = dir.appendingPathComponent("config").path
        env["XDG_DATA_HOME"] = dir.appendingPathComponent("data").path
        env["XDG_STATE_HOME"] = dir.appendingPathComponent("state").path
        env["XDG_CACHE_HOME"] = dir.appendingPathComponent("cache").path
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("Neovim did not finish in 120 s") }
        let report = (try? String(contentsOf: out, encoding: .utf8)) ?? "(no report; stderr: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)))"
        let lines = report.split(separator: "\n").map(String.init)

        let diags = lines.filter { $0.hasPrefix("diag ") }
        XCTAssertEqual(diags.count, 1, report)
        let refnud = try XCTUnwrap(position(of: "refnud", in: broken) as? [String: Int])
        XCTAssertTrue(diags.first?.hasPrefix("diag \(refnud["line"]!):\(refnud["character"]!) E0302 unknown label `refnud`") == true, report)
        XCTAssertTrue(diags.first?.contains("did you mean `refund`?") == true, report)
        XCTAssertTrue(lines.contains { $0.hasPrefix("hover ") && $0.contains("lower(t: text) -> text") }, report)
        XCTAssertTrue(lines.contains("saved"), report)
        let def = try XCTUnwrap(position(of: "refund_words =", in: broken) as? [String: Int])
        XCTAssertTrue(lines.contains("definition \(def["line"]!):\(def["character"]!)"), "jump to the constant: \(report)")
        XCTAssertTrue(lines.contains("references 2"), "the label `refund` on the labels line and in the test (the broken rule says refnud): \(report)")
        XCTAssertTrue(lines.contains("lens not run: the program has errors"), report)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("messy.loop"), encoding: .utf8), LSPServerTests.program, "formatted on save")
    }
}
