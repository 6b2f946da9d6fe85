// "Loomline: Select Model / Backend": a quick pick that writes the settings; ConfigSync then
// pushes them to the server.

import * as vscode from "vscode";
import { DEFAULT_MODEL_ID } from "./config";
import { MODEL_CHOICES, ModelChoice, currentChoiceId, updatesForChoice, validateEngineUrl } from "./modelChoices";

interface ChoiceItem extends vscode.QuickPickItem {
  choice: ModelChoice;
}

export class SelectModelFeature {
  async run(): Promise<void> {
    const cfg = vscode.workspace.getConfiguration("loomline");
    const current = currentChoiceId(cfg.get<string>("backend", "embedded"), cfg.get<string>("model.id", DEFAULT_MODEL_ID));
    const items: ChoiceItem[] = MODEL_CHOICES.map((choice) => ({
      label: choice.id === current ? `$(check) ${choice.label}` : choice.label,
      description: choice.description,
      detail: choice.detail,
      choice,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: "Loomline: Select Model / Backend",
      placeHolder: "Where should completions come from?",
      matchOnDetail: true,
    });
    if (!picked) return;
    let vllm: { url: string; servedModel: string } | undefined;
    if (picked.choice.needsUrl) {
      const url = await vscode.window.showInputBox({
        title: "Loomline: vLLM server URL",
        value: cfg.get<string[]>("engine.urls", [])[0] ?? "http://127.0.0.1:8000/v1",
        validateInput: validateEngineUrl,
        ignoreFocusOut: true,
      });
      if (!url) return;
      const servedModel = await vscode.window.showInputBox({
        title: "Loomline: model name on that server (--served-model-name)",
        value: cfg.get<string>("engine.servedModel", "") || cfg.get<string>("model.id", DEFAULT_MODEL_ID),
        ignoreFocusOut: true,
      });
      if (servedModel === undefined) return;
      vllm = { url, servedModel };
    }
    for (const u of updatesForChoice(picked.choice, vllm)) {
      await cfg.update(u.key, u.value, vscode.ConfigurationTarget.Global);
    }
    void vscode.window.showInformationMessage(`Loomline: using ${picked.choice.label.replace("…", "")}.`);
  }
}
