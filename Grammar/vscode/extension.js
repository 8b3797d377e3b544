// Starts `loopai lsp` for .loop files. The server does the work (Docs/editors.md); this file only
// passes the settings and forwards the two commands with the active document's URI.
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration('loopai');
  const args = ['lsp'];
  if (config.get('store')) args.push('--store', config.get('store'));
  if (config.get('task')) args.push('--task', config.get('task'));
  const server = { command: config.get('path') || 'loopai', args };
  client = new LanguageClient('loopai', 'Loop (loopai lsp)', { run: server, debug: server }, {
    documentSelector: [{ scheme: 'file', language: 'loop' }],
  });
  for (const command of ['loopai.compareWithValidations', 'loopai.runTests']) {
    context.subscriptions.push(vscode.commands.registerCommand(command + '.active', () => {
      const editor = vscode.window.activeTextEditor;
      if (editor) client.sendRequest('workspace/executeCommand', { command, arguments: [editor.document.uri.toString()] });
    }));
  }
  client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
