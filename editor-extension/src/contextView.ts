// "Loomline: Show Completion Context": asks the server what it would put in the prompt at the
// cursor and opens it as a readable Markdown tab beside the editor.

import * as vscode from "vscode";
import { LoomlineClient } from "./client";
import { formatContextReport, parseContextResult } from "./contextReport";

export const SHOW_CONTEXT_COMMAND = "loomline.showContext";

export class ShowContextFeature {
  constructor(private readonly client: LoomlineClient) {}

  async run(): Promise<vscode.TextDocument | undefined> {
    const editor = vscode.window.activeTextEditor;
    const lc = this.client.languageClient;
    if (!editor) {
      void vscode.window.showWarningMessage("Loomline: open a file and place the cursor first.");
      return undefined;
    }
    if (!lc) {
      void vscode.window.showErrorMessage('Loomline: the server is not running. Run "Loomline: Restart Server".');
      return undefined;
    }
    const c2p = lc.code2ProtocolConverter;
    const position = editor.selection.active;
    let raw: unknown;
    try {
      raw = await this.client.executeServerCommand(SHOW_CONTEXT_COMMAND, [
        { textDocument: { uri: c2p.asUri(editor.document.uri) }, position: c2p.asPosition(position) },
      ]);
    } catch (error) {
      void vscode.window.showErrorMessage(`Loomline: could not get the completion context: ${String(error)}`);
      return undefined;
    }
    const content = formatContextReport(parseContextResult(raw), {
      file: vscode.workspace.asRelativePath(editor.document.uri),
      line: position.line + 1,
      character: position.character + 1,
      languageId: editor.document.languageId,
    });
    const doc = await vscode.workspace.openTextDocument({ language: "markdown", content });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
    return doc;
  }
}
