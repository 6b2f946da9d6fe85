// Renders the status model into a status bar item and keeps the "disabled for this editor"
// state in step with the active editor.

import * as vscode from "vscode";
import { ClientSettings, completionEnabledFor } from "./config";
import { StatusModel, StatusView } from "./status";

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly model: StatusModel,
    private readonly settings: () => ClientSettings,
  ) {
    this.item = vscode.window.createStatusBarItem("loomline.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "Loomline";
    this.disposables.push(
      this.item,
      model.onChange((view) => this.render(view)),
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshEditorState()),
    );
    this.render(model.view());
    this.refreshEditorState();
    this.item.show();
  }

  /** Re-reads whether completion is on for the active editor's language. */
  refreshEditorState(): void {
    const s = this.settings();
    const lang = vscode.window.activeTextEditor?.document.languageId;
    let reason: string | undefined;
    if (!s.completionEnabled) reason = 'Disabled in settings ("loomline.completion.enabled").';
    else if (lang && !completionEnabledFor(s, lang)) reason = `Disabled for ${lang} ("loomline.completion.disabledLanguages").`;
    this.model.setEditorDisabled(reason);
  }

  private render(view: StatusView): void {
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.accessibilityInformation = { label: `Loomline ${view.state}: ${view.text.replace(/\$\([^)]*\)\s*/g, "")}` };
    this.item.backgroundColor =
      view.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : view.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
