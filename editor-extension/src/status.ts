// The status state machine: server `loomline/status` notifications, the client's own life
// cycle and in-flight requests in, one view (text, tooltip, click command) out.
// No vscode import: statusBar.ts renders the view.

import { ServerStateName, ServerStatus } from "./protocol";

export type Phase = "starting" | "running" | "stopped" | "failed";
export type Severity = "normal" | "warning" | "error";

export interface StatusView {
  /** Machine-readable state, also used by tests. */
  state: "starting" | "loading" | "ready" | "thinking" | "error" | "disabled" | "stopped";
  text: string;
  tooltip: string;
  command: string;
  severity: Severity;
}

export const SHOW_OUTPUT_COMMAND = "loomline.showOutput";
export const STATUS_MENU_COMMAND = "loomline.statusMenu";
export const RESTART_COMMAND = "loomline.restartServer";

/** "Qwen/Qwen2.5-Coder-0.5B-Instruct" -> "Qwen2.5-Coder-0.5B-Instruct"; paths too. */
export function shortModelName(model: string | undefined): string {
  if (!model) return "";
  const parts = model.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : model;
}

const STATES: readonly ServerStateName[] = ["loading", "ready", "thinking", "error", "disabled"];

/** Validates a notification's params; unknown shapes become undefined (ignored). */
export function parseServerStatus(params: unknown): ServerStatus | undefined {
  if (!params || typeof params !== "object") return undefined;
  const p = params as Record<string, unknown>;
  if (typeof p.state !== "string" || !STATES.includes(p.state as ServerStateName)) return undefined;
  const out: ServerStatus = { state: p.state as ServerStateName };
  if (typeof p.message === "string") out.message = p.message;
  if (typeof p.model === "string") out.model = p.model;
  if (typeof p.backend === "string") out.backend = p.backend;
  if (typeof p.adapter === "string" && p.adapter) out.adapter = p.adapter;
  if (typeof p.progress === "number" && Number.isFinite(p.progress)) {
    out.progress = Math.max(0, Math.min(100, Math.round(p.progress)));
  }
  return out;
}

export class StatusModel {
  private phase: Phase = "stopped";
  private failure = "";
  private server: ServerStatus | undefined;
  private model = "";
  private backend = "";
  private adapter = "";
  private inFlight = 0;
  private editorDisabled: string | undefined;
  private readonly listeners = new Set<(view: StatusView) => void>();
  private last: string | undefined;

  onChange(listener: (view: StatusView) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The client is starting the server process. */
  starting(): void {
    this.phase = "starting";
    this.failure = "";
    this.server = undefined;
    this.inFlight = 0;
    this.emit();
  }

  /** The LSP handshake finished. */
  running(): void {
    this.phase = "running";
    this.emit();
  }

  /** The server was stopped on purpose (restart, disable). */
  stopped(): void {
    this.phase = "stopped";
    this.server = undefined;
    this.inFlight = 0;
    this.emit();
  }

  /** The server could not start or died; the message says why and how to fix it. */
  failed(message: string): void {
    this.phase = "failed";
    this.failure = message;
    this.inFlight = 0;
    this.emit();
  }

  serverStatus(status: ServerStatus): void {
    this.server = status;
    if (status.model) this.model = status.model;
    if (status.backend) this.backend = status.backend;
    // The adapter of the last completion: kept until a completion says otherwise.
    if (status.state === "thinking" || status.adapter !== undefined) this.adapter = status.adapter ?? "";
    if (this.phase === "starting" || this.phase === "stopped") this.phase = "running";
    this.emit();
  }

  /** Completion is off for the active editor (globally or for its language); undefined: on. */
  setEditorDisabled(reason: string | undefined): void {
    this.editorDisabled = reason;
    this.emit();
  }

  requestStarted(): void {
    this.inFlight += 1;
    this.emit();
  }

  requestFinished(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.emit();
  }

  view(): StatusView {
    const name = shortModelName(this.model);
    const model = name && this.adapter ? `${name} + ${this.adapter}` : name;
    const label = model ? (this.backend ? `${model} (${this.backend})` : model) : this.backend;
    const detail = (s: string) => (s ? `\n${s}` : "");
    if (this.phase === "failed") {
      return {
        state: "error",
        text: "$(error) Loomline",
        tooltip: `Loomline: error (click for the log)${detail(this.failure)}`,
        command: SHOW_OUTPUT_COMMAND,
        severity: "error",
      };
    }
    if (this.phase === "stopped") {
      return {
        state: "stopped",
        text: "$(debug-disconnect) Loomline",
        tooltip: "Loomline: server stopped (click to restart)",
        command: RESTART_COMMAND,
        severity: "warning",
      };
    }
    const s = this.server;
    if (s?.state === "error") {
      return {
        state: "error",
        text: "$(error) Loomline",
        tooltip: `Loomline: error (click for the log)${detail(s.message ?? "")}`,
        command: SHOW_OUTPUT_COMMAND,
        severity: "error",
      };
    }
    if (this.phase === "starting" && !s) {
      return {
        state: "starting",
        text: "$(loading~spin) Loomline",
        tooltip: "Loomline: starting the server",
        command: SHOW_OUTPUT_COMMAND,
        severity: "normal",
      };
    }
    if (s?.state === "loading") {
      const pct = s.progress !== undefined ? ` ${s.progress}%` : "";
      return {
        state: "loading",
        text: `$(loading~spin) Loomline: loading${pct}`,
        tooltip: `Loomline: loading ${label || "the model"}${pct}${detail(s.message ?? "")}`,
        command: SHOW_OUTPUT_COMMAND,
        severity: "normal",
      };
    }
    if (s?.state === "disabled" || this.editorDisabled) {
      const why = this.editorDisabled ?? s?.message ?? "";
      return {
        state: "disabled",
        text: "$(circle-slash) Loomline: off",
        tooltip: `Loomline: completions disabled${detail(why)}`,
        command: STATUS_MENU_COMMAND,
        severity: "warning",
      };
    }
    if (s?.state === "thinking" || this.inFlight > 0) {
      return {
        state: "thinking",
        text: `$(sync~spin) Loomline: ${label || "thinking"}`,
        tooltip: `Loomline: generating with ${label || "the model"}`,
        command: STATUS_MENU_COMMAND,
        severity: "normal",
      };
    }
    // Running with no status yet: the server is up; it reports its model when it has one.
    return {
      state: "ready",
      text: `$(check) Loomline: ${label || "ready"}`,
      tooltip: `Loomline: ready${label ? ` with ${label}` : ""}${detail(s?.message ?? "")}`,
      command: STATUS_MENU_COMMAND,
      severity: "normal",
    };
  }

  private emit(): void {
    const view = this.view();
    const key = JSON.stringify(view);
    if (key === this.last) return;
    this.last = key;
    for (const l of this.listeners) l(view);
  }
}
