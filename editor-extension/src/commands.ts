// The command palette: each command is a line that hands off to a feature class or a setting.

import * as vscode from "vscode";
import { LoomlineClient } from "./client";
import { withLanguageDisabled } from "./config";
import { ShowContextFeature } from "./contextView";
import type { Middleware } from "vscode-languageclient/node";
import { CompletionEventTracker } from "./events";
import { GenerateCodeFeature } from "./generate";
import { SelectModelFeature } from "./modelPicker";
import { ACCEPT_COMMAND } from "./protocol";

export interface CommandDeps {
  client: LoomlineClient;
  output: vscode.LogOutputChannel;
  tracker: CompletionEventTracker;
  generate: GenerateCodeFeature;
  showContext: ShowContextFeature;
  selectModel: SelectModelFeature;
}

async function setEnabled(enabled: boolean): Promise<void> {
  await vscode.workspace.getConfiguration("loomline").update("completion.enabled", enabled, vscode.ConfigurationTarget.Global);
  void vscode.window.setStatusBarMessage(`Loomline: completions ${enabled ? "enabled" : "disabled"}`, 3000);
}

async function setLanguageDisabled(disabled: boolean, languageArg?: string): Promise<void> {
  const languageId = languageArg ?? vscode.window.activeTextEditor?.document.languageId;
  if (!languageId) {
    void vscode.window.showWarningMessage("Loomline: open a file of the language first.");
    return;
  }
  const cfg = vscode.workspace.getConfiguration("loomline");
  const list = withLanguageDisabled(cfg.get<string[]>("completion.disabledLanguages", []), languageId, disabled);
  await cfg.update("completion.disabledLanguages", list, vscode.ConfigurationTarget.Global);
  if (!disabled && !cfg.get<boolean>("completion.enabled", true)) {
    await cfg.update("completion.enabled", true, vscode.ConfigurationTarget.Global);
  }
  void vscode.window.setStatusBarMessage(`Loomline: completions ${disabled ? "disabled" : "enabled"} for ${languageId}`, 3000);
}

async function statusMenu(): Promise<void> {
  const enabled = vscode.workspace.getConfiguration("loomline").get<boolean>("completion.enabled", true);
  const language = vscode.window.activeTextEditor?.document.languageId;
  const items: (vscode.QuickPickItem & { command: string })[] = [
    enabled
      ? { label: "$(circle-slash) Disable completions", command: "loomline.disable" }
      : { label: "$(check) Enable completions", command: "loomline.enable" },
    ...(language
      ? [
          { label: `$(circle-slash) Disable completions for ${language}`, command: "loomline.disableForLanguage" },
          { label: `$(check) Enable completions for ${language}`, command: "loomline.enableForLanguage" },
        ]
      : []),
    { label: "$(sparkle) Generate code from instruction…", command: "loomline.generateCode" },
    { label: "$(list-tree) Show completion context", command: "loomline.showCompletionContext" },
    { label: "$(server) Select model / backend…", command: "loomline.selectModel" },
    { label: "$(refresh) Restart server", command: "loomline.restartServer" },
    { label: "$(output) Show output", command: "loomline.showOutput" },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: "Loomline" });
  if (picked) await vscode.commands.executeCommand(picked.command);
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { client, output, tracker } = deps;
  const reg = vscode.commands.registerCommand;
  return [
    reg("loomline.enable", () => setEnabled(true)),
    reg("loomline.disable", () => setEnabled(false)),
    reg("loomline.enableForLanguage", (lang?: string) => setLanguageDisabled(false, lang)),
    reg("loomline.disableForLanguage", (lang?: string) => setLanguageDisabled(true, lang)),
    reg("loomline.generateCode", (instruction?: string) => deps.generate.run(instruction)),
    reg("loomline.showCompletionContext", () => deps.showContext.run()),
    reg("loomline.selectModel", () => deps.selectModel.run()),
    reg("loomline.restartServer", () => client.restart()),
    reg("loomline.showOutput", () => output.show()),
    reg("loomline.statusMenu", () => statusMenu()),
    reg("loomline.dismiss", async () => {
      tracker.dismissed();
      await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    }),
  ];
}

/**
 * `loomline.accept`, the command each completion item carries. The language client owns it if
 * the server advertises it (then the executeCommand middleware reports the accept); otherwise
 * it is registered here for the lifetime of the client session.
 */
export function registerAcceptCommand(serverCommands: readonly string[], tracker: CompletionEventTracker): vscode.Disposable[] {
  if (serverCommands.includes(ACCEPT_COMMAND)) return [];
  return [vscode.commands.registerCommand(ACCEPT_COMMAND, (id: unknown) => typeof id === "string" && tracker.accepted(id))];
}

/** When the server owns `loomline.accept` it records the accept itself: only stop tracking. */
export function acceptCommandMiddleware(tracker: CompletionEventTracker): Pick<Middleware, "executeCommand"> {
  return {
    executeCommand: async (command, args, next) => {
      if (command === ACCEPT_COMMAND && typeof args[0] === "string") tracker.accepted(args[0], true);
      return next(command, args);
    },
  };
}
