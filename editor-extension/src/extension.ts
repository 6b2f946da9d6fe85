// Wires the features together; the logic lives in the feature files.

import * as vscode from "vscode";
import { LoomlineClient, loomlineConfig } from "./client";
import { acceptCommandMiddleware, registerAcceptCommand, registerCommands } from "./commands";
import { ClientSettings, toClientSettings } from "./config";
import { ConfigSync } from "./configSync";
import { ShowContextFeature } from "./contextView";
import { CompletionEventTracker } from "./events";
import { EditorWatcher } from "./editorWatcher";
import { GenerateCodeFeature } from "./generate";
import { inlineCompletionMiddleware } from "./inlineCompletion";
import { NextEditFeature } from "./nextEdit";
import { SelectModelFeature } from "./modelPicker";
import { StatusModel } from "./status";
import { StatusBar } from "./statusBar";

let client: LoomlineClient | undefined;
let tracker: CompletionEventTracker | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("Loomline", { log: true });
  let settings: ClientSettings = toClientSettings(loomlineConfig());
  const currentSettings = () => settings;

  const status = new StatusModel();
  const statusBar = new StatusBar(status, currentSettings);
  tracker = new CompletionEventTracker((event) => client?.sendEvent(event));
  const events = tracker;

  client = new LoomlineClient(
    output,
    status,
    { ...inlineCompletionMiddleware(currentSettings, status, events), ...acceptCommandMiddleware(events) },
    (lc) => {
      events.reset();
      return registerAcceptCommand(lc.initializeResult?.capabilities.executeCommandProvider?.commands ?? [], events);
    },
  );

  const showContext = new ShowContextFeature(client);
  context.subscriptions.push(
    output,
    showContext,
    statusBar,
    client,
    new EditorWatcher(events),
    new NextEditFeature(client, currentSettings, output, vscode.Uri.joinPath(context.extensionUri, "images", "next-edit.svg")),
    new ConfigSync(client, () => {
      settings = toClientSettings(loomlineConfig());
      statusBar.refreshEditorState();
    }),
    ...registerCommands({
      client,
      output,
      tracker: events,
      generate: new GenerateCodeFeature(client, output),
      showContext,
      selectModel: new SelectModelFeature(),
    }),
  );

  // Not awaited: activation finishes at once; the status bar follows the start.
  void client.start();
}

export async function deactivate(): Promise<void> {
  tracker?.flush();
  await client?.stop();
}
