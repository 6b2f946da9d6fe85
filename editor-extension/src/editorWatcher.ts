// Feeds editor activity (edits, cursor moves, editor switches) to the event tracker.

import * as vscode from "vscode";
import { CompletionEventTracker } from "./events";

export class EditorWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];

  constructor(tracker: CompletionEventTracker) {
    this.disposables = [
      vscode.workspace.onDidChangeTextDocument((e) => {
        const uri = e.document.uri.toString();
        for (const c of e.contentChanges) {
          tracker.documentChanged({
            uri,
            start: { line: c.range.start.line, character: c.range.start.character },
            rangeLength: c.rangeLength,
            text: c.text,
          });
        }
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        const active = e.selections[0]?.active;
        if (active) tracker.selectionChanged(e.textEditor.document.uri.toString(), { line: active.line, character: active.character });
      }),
      vscode.window.onDidChangeActiveTextEditor(() => tracker.flush()),
    ];
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
