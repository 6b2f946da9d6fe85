// The choices of "Loomline: Select Model / Backend" and the settings each one writes.
// No vscode import here.

import { Backend, DEFAULT_MODEL_ID } from "./config";

export interface ModelChoice {
  id: string;
  label: string;
  description: string;
  detail: string;
  backend: Backend;
  modelId?: string;
  /** The choice needs a vLLM URL from the user. */
  needsUrl?: boolean;
}

export const MODEL_CHOICES: readonly ModelChoice[] = [
  {
    id: "embedded-0.5b",
    label: "Qwen2.5-Coder-0.5B (embedded)",
    description: "CPU, default",
    detail: "Runs inside the server on this machine's CPU; ~0.5 GB; fastest.",
    backend: "embedded",
    modelId: DEFAULT_MODEL_ID,
  },
  {
    id: "embedded-1.5b",
    label: "Qwen2.5-Coder-1.5B (embedded)",
    description: "CPU, better, slower",
    detail: "Stops cleanly more often; about a third of the 0.5B's speed on a CPU.",
    backend: "embedded",
    modelId: "Qwen/Qwen2.5-Coder-1.5B-Instruct",
  },
  {
    id: "vllm",
    label: "vLLM server…",
    description: "OpenAI-compatible endpoint",
    detail: "A vLLM (or compatible) server you run: asks for its URL and model name.",
    backend: "vllm",
    needsUrl: true,
  },
  {
    id: "fake",
    label: "Fake backend",
    description: "for tests",
    detail: "Answers a scripted completion instantly; no model.",
    backend: "fake",
  },
];

export interface SettingUpdate {
  key: string; // under "loomline."
  value: unknown;
}

/** The settings to write for a choice (vLLM: with the URL and served model the user gave). */
export function updatesForChoice(choice: ModelChoice, vllm?: { url: string; servedModel: string }): SettingUpdate[] {
  const updates: SettingUpdate[] = [{ key: "backend", value: choice.backend }];
  if (choice.modelId) updates.push({ key: "model.id", value: choice.modelId });
  if (choice.needsUrl && vllm) {
    updates.push({ key: "engine.urls", value: [vllm.url.trim()] });
    updates.push({ key: "engine.servedModel", value: vllm.servedModel.trim() });
  }
  return updates;
}

/** Which choice matches the current settings (for the "current" marker). */
export function currentChoiceId(backend: string, modelId: string): string | undefined {
  if (backend === "vllm") return "vllm";
  if (backend === "fake") return "fake";
  return MODEL_CHOICES.find((c) => c.backend === backend && c.modelId === modelId)?.id;
}

/** Accepts http(s) URLs only; returns an error message or undefined. */
export function validateEngineUrl(url: string): string | undefined {
  try {
    const u = new URL(url.trim());
    if (u.protocol !== "http:" && u.protocol !== "https:") return "The URL must start with http:// or https://";
    return undefined;
  } catch {
    return "Not a URL, e.g. http://127.0.0.1:8000/v1";
  }
}
