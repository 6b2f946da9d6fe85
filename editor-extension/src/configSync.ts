// Keeps the server in step with `loomline.*`: server launch settings restart it, the rest
// goes over didChangeConfiguration; the status bar re-reads the enabled state.

import * as vscode from "vscode";
import { LoomlineClient } from "./client";
import { RESTART_KEYS } from "./config";

export class ConfigSync implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly client: LoomlineClient,
    private readonly onSettingsChanged: () => void,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => this.changed(e));
  }

  private async changed(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration("loomline")) return;
    this.onSettingsChanged();
    if (RESTART_KEYS.some((k) => e.affectsConfiguration(`loomline.${k}`))) {
      await this.client.restart();
      return;
    }
    await this.client.pushSettings();
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
