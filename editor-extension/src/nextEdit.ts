// Next edit suggestions in VS Code: after a change the extension asks the server
// (`textDocument/copilotInlineEdit`; the server waits for the typing to pause and drops what a
// newer request superseded) and shows an edit away from the cursor with decorations, since the
// stable API has no inline-edit view: the replaced text struck through, the new text after it,
// a gutter icon and a status bar hint. Tab jumps to it, Tab again applies it (one undoable
// WorkspaceEdit), Esc dismisses it. An edit on the cursor's line is left to the inline
// completion (the server sends it there as ghost text).

import * as vscode from "vscode";
import { LoomlineClient } from "./client";
import { ClientSettings, completionEnabledFor } from "./config";
import { NextEdit, NextEditSession, firstEdit, hoverDiff, previewText, touchesLine, widenToWords } from "./nextEditModel";
import {
  ACCEPT_COMMAND,
  COPILOT_INLINE_EDIT_REQUEST,
  DID_SHOW_INLINE_EDIT_NOTIFICATION,
  InlineEditParams,
} from "./protocol";

/** The context key the Tab and Esc keybindings check. */
export const NEXT_EDIT_VISIBLE = "loomline.nextEditVisible";
export const JUMP_OR_ACCEPT_COMMAND = "loomline.nextEdit.jumpOrAccept";
export const DISMISS_NEXT_EDIT_COMMAND = "loomline.nextEdit.dismiss";
export const REQUEST_NEXT_EDIT_COMMAND = "loomline.nextEdit.request";

/** Keystrokes closer together than this make one request (the server waits for the pause). */
const COALESCE_MS = 75;

const AUTOMATIC = 2;
const INVOKED = 1;

export class NextEditFeature implements vscode.Disposable {
  private readonly removed: vscode.TextEditorDecorationType;
  private readonly inserted: vscode.TextEditorDecorationType;
  private readonly marker: vscode.TextEditorDecorationType;
  private readonly session: NextEditSession;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: vscode.CancellationTokenSource | undefined;
  private shownIn: vscode.TextEditor | undefined;
  private hint: vscode.Disposable | undefined;
  private applying = false;

  constructor(
    private readonly client: LoomlineClient,
    private readonly settings: () => ClientSettings,
    private readonly output: vscode.LogOutputChannel,
    gutterIcon: vscode.Uri,
  ) {
    this.removed = vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor("diffEditor.removedTextBackground"),
      textDecoration: "line-through",
    });
    this.inserted = vscode.window.createTextEditorDecorationType({
      after: {
        backgroundColor: new vscode.ThemeColor("diffEditor.insertedTextBackground"),
        margin: "0 0 0 0.4em",
      },
    });
    this.marker = vscode.window.createTextEditorDecorationType({
      gutterIconPath: gutterIcon,
      gutterIconSize: "contain",
      overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.modifiedForeground"),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
    });
    this.session = new NextEditSession({
      shown: (edit) => this.notify(DID_SHOW_INLINE_EDIT_NOTIFICATION, { item: this.item(edit) }),
      accepted: (edit) => {
        if (!edit.id) return;
        this.client.executeServerCommand(ACCEPT_COMMAND, [edit.id]).catch((error) =>
          this.output.debug(`Could not record the accepted next edit: ${String(error)}`));
      },
      event: (event) => this.client.sendEvent(event),
    });
    this.disposables.push(
      this.removed, this.inserted, this.marker,
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.window.onDidChangeActiveTextEditor(() => this.dismiss()),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.commands.registerCommand(JUMP_OR_ACCEPT_COMMAND, () => this.jumpOrAccept()),
      vscode.commands.registerCommand(DISMISS_NEXT_EDIT_COMMAND, () => this.dismiss()),
      vscode.commands.registerCommand(REQUEST_NEXT_EDIT_COMMAND, () => this.request(INVOKED)),
    );
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor || e.document !== editor.document || e.contentChanges.length === 0) return;
    // The accepted edit's own change: the next request follows it like any change.
    if (!this.applying) this.dismiss();
    if (!completionEnabledFor(this.settings(), e.document.languageId)) return;
    if (this.timer) clearTimeout(this.timer);
    // Also after the language client has sent this change (its listener runs in the same turn).
    this.timer = setTimeout(() => void this.request(AUTOMATIC), COALESCE_MS);
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (!this.session.current || e.textEditor !== this.shownIn) return;
    const lc = this.client.languageClient;
    if (!lc) return;
    const cursor = e.selections[0].active;
    if (this.session.cursorMoved(lc.code2ProtocolConverter.asUri(e.textEditor.document.uri), cursor)) this.clear();
  }

  /** Asks for the next edit at the active editor's cursor; shows what comes back. */
  async request(triggerKind: number): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const lc = this.client.languageClient;
    if (!editor || !lc) return;
    this.inFlight?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.inFlight = source;
    const document = editor.document;
    const version = document.version;
    const position = editor.selection.active;
    const params: InlineEditParams = {
      textDocument: { uri: lc.code2ProtocolConverter.asUri(document.uri), version },
      position: { line: position.line, character: position.character },
      context: { triggerKind },
    };
    let result: unknown;
    try {
      result = await lc.sendRequest(COPILOT_INLINE_EDIT_REQUEST, params, source.token);
    } catch (error) {
      if (!source.token.isCancellationRequested) this.output.debug(`Next edit request failed: ${String(error)}`);
      return;
    } finally {
      if (this.inFlight === source) this.inFlight = undefined;
      source.dispose();
    }
    const edit = firstEdit(result);
    if (!edit || source.token.isCancellationRequested) return;
    if (vscode.window.activeTextEditor !== editor || document.version !== version || edit.version !== version) return;
    // On the cursor's line the inline completion shows it as ghost text (Tab accepts it there).
    if (touchesLine(edit, editor.selection.active.line)) return;
    this.show(editor, widenToWords(edit, (n) => document.lineAt(n).text));
  }

  private show(editor: vscode.TextEditor, edit: NextEdit): void {
    this.session.show(edit, editor.selection.active.line);
    this.shownIn = editor;
    const range = toRange(edit);
    const document = editor.document;
    const hover = new vscode.MarkdownString(hoverDiff(document.getText(range), edit.text,
      document.lineAt(range.start.line).text.slice(0, range.start.character),
      document.lineAt(range.end.line).text.slice(range.end.character)));
    editor.setDecorations(this.removed, range.isEmpty ? [] : [{ range, hoverMessage: hover }]);
    editor.setDecorations(this.inserted, [{
      range: new vscode.Range(range.end, range.end),
      hoverMessage: hover,
      renderOptions: { after: { contentText: previewText(edit.text) } },
    }]);
    editor.setDecorations(this.marker, [{ range: new vscode.Range(range.start, range.start), hoverMessage: hover }]);
    void vscode.commands.executeCommand("setContext", NEXT_EDIT_VISIBLE, true);
    this.hint?.dispose();
    this.hint = vscode.window.setStatusBarMessage(
      `$(arrow-right) Loomline: next edit at line ${edit.start.line + 1} (Tab to jump, Esc to dismiss)`);
  }

  private clear(): void {
    const editor = this.shownIn;
    this.shownIn = undefined;
    if (editor) for (const d of [this.removed, this.inserted, this.marker]) editor.setDecorations(d, []);
    this.hint?.dispose();
    this.hint = undefined;
    void vscode.commands.executeCommand("setContext", NEXT_EDIT_VISIBLE, false);
  }

  dismiss(): void {
    if (this.session.dismiss() || this.shownIn) this.clear();
  }

  private async jumpOrAccept(): Promise<void> {
    const editor = this.shownIn;
    if (!editor || vscode.window.activeTextEditor !== editor) return this.dismiss();
    const step = this.session.tab(editor.selection.active);
    if (!step) return this.clear();
    const range = toRange(step.edit);
    if (step.action === "jump") {
      editor.selection = new vscode.Selection(range.start, range.start);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      return;
    }
    this.clear();
    const change = new vscode.WorkspaceEdit();
    change.replace(editor.document.uri, range, step.edit.text);
    this.applying = true;
    try {
      if (!(await vscode.workspace.applyEdit(change))) return;
    } finally {
      this.applying = false;
    }
    this.session.accepted(step.edit);
    const end = editor.document.positionAt(editor.document.offsetAt(range.start) + step.edit.text.length);
    editor.selection = new vscode.Selection(end, end);
  }

  private item(edit: NextEdit) {
    return {
      range: { start: edit.start, end: edit.end },
      text: edit.text,
      textDocument: { uri: edit.uri, version: edit.version },
      command: edit.command,
    };
  }

  private notify(method: string, params: unknown): void {
    this.client.languageClient?.sendNotification(method, params).catch((error) =>
      this.output.debug(`Could not send ${method}: ${String(error)}`));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.cancel();
    this.clear();
    this.disposables.splice(0).forEach((d) => d.dispose());
  }
}

function toRange(edit: NextEdit): vscode.Range {
  return new vscode.Range(edit.start.line, edit.start.character, edit.end.line, edit.end.character);
}
