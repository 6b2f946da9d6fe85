// "Loomline: Show Completion Context": asks the server what it would put in the prompt at the
// cursor and opens it as a readable, read-only Markdown tab beside the editor. The tab is a
// virtual document (scheme loomline-context): never dirty, never synced to the server.

import * as vscode from "vscode";
import { LoomlineClient } from "./client";
import { formatContextReport, parseContextResult } from "./contextReport";
import { SHOW_CONTEXT_COMMAND } from "./protocol";

export const CONTEXT_SCHEME = "loomline-context";

export class ShowContextFeature implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly reports = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registration: vscode.Disposable;
  private count = 0;
  readonly onDidChange = this.changed.event;

  constructor(private readonly client: LoomlineClient) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(CONTEXT_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.reports.get(uri.toString()) ?? "# Loomline completion context\n\n_Expired: run the command again._\n";
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }

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
    const name = `${editor.document.uri.path.split("/").pop() ?? "file"} ${position.line + 1}-${position.character + 1}`;
    const uri = vscode.Uri.from({ scheme: CONTEXT_SCHEME, path: `/Completion context ${name}.md`, query: String(++this.count) });
    this.reports.set(uri.toString(), content);
    if (this.reports.size > 20) this.reports.delete(this.reports.keys().next().value as string);
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== "markdown") await vscode.languages.setTextDocumentLanguage(doc, "markdown");
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
    return doc;
  }
}
