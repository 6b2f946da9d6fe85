// Settings: the `loomline.*` configuration read through a getter, mapped to what the server
// takes (initializationOptions / didChangeConfiguration) and to what the client itself uses.
// No vscode import here: the extension passes `workspace.getConfiguration("loomline").get`.

export type ConfigGetter = (key: string) => unknown;

export type Backend = "embedded" | "vllm" | "fake";
export type Multiline = "auto" | "always" | "never";

/** The `loomline` settings object the server parses (camelCase, see the server's settings.py). */
export interface ServerSettings {
  backend: Backend;
  model: { id: string; path?: string; template: string };
  engine: { urls: string[]; servedModel?: string; apiKeyEnv: string };
  completion: {
    enabled: boolean;
    disabledLanguages: string[];
    multiline: Multiline;
    maxTokens: number;
    deadlineMs: number;
    explicitDeadlineMs: number;
    promptTokens: number;
    temperature: number;
  };
  context: {
    enabled: boolean;
    exclude: string[];
    budgetShare: number;
    layout: "auto" | "files" | "comments";
  };
  nextEdit: { deadlineMs: number };
  recordEvents: boolean;
}

/** What only the client uses; never sent to the server. */
export interface ClientSettings {
  serverCommand: string[];
  pythonPath: string;
  serverEnv: Record<string, string>;
  /** The client's own wait before an automatic request; 0: none (the server debounces). */
  debounceMs: number;
  completionEnabled: boolean;
  disabledLanguages: string[];
}

/** Settings whose change needs a new server process rather than didChangeConfiguration. */
export const RESTART_KEYS = ["server.command", "server.pythonPath", "server.env"] as const;

export const DEFAULT_MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B-Instruct";
export const DEFAULT_EXCLUDE = [
  "**/.env",
  "**/.env.*",
  "**/*.pem",
  "**/*.key",
  "**/id_rsa*",
  "**/secrets/**",
  "**/node_modules/**",
  "**/.git/**",
  "**/.venv/**",
];

function str(get: ConfigGetter, key: string, fallback: string): string {
  const v = get(key);
  return typeof v === "string" ? v : fallback;
}

function num(get: ConfigGetter, key: string, fallback: number): number {
  const v = get(key);
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function bool(get: ConfigGetter, key: string, fallback: boolean): boolean {
  const v = get(key);
  return typeof v === "boolean" ? v : fallback;
}

function strList(get: ConfigGetter, key: string, fallback: string[]): string[] {
  const v = get(key);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [...fallback];
}

function oneOf<T extends string>(get: ConfigGetter, key: string, allowed: readonly T[], fallback: T): T {
  const v = get(key);
  return typeof v === "string" && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

/** The settings object sent as initializationOptions and in didChangeConfiguration. */
export function toServerSettings(get: ConfigGetter): ServerSettings {
  const modelPath = str(get, "model.path", "").trim();
  const servedModel = str(get, "engine.servedModel", "").trim();
  const model: ServerSettings["model"] = {
    id: str(get, "model.id", DEFAULT_MODEL_ID).trim() || DEFAULT_MODEL_ID,
    template: str(get, "model.template", "auto").trim() || "auto",
  };
  if (modelPath) model.path = modelPath;
  const engine: ServerSettings["engine"] = {
    urls: strList(get, "engine.urls", []).map((u) => u.trim()).filter(Boolean),
    apiKeyEnv: str(get, "engine.apiKeyEnv", "LOOMLINE_API_KEY").trim() || "LOOMLINE_API_KEY",
  };
  if (servedModel) engine.servedModel = servedModel;
  return {
    backend: oneOf(get, "backend", ["embedded", "vllm", "fake"] as const, "embedded"),
    model,
    engine,
    completion: {
      enabled: bool(get, "completion.enabled", true),
      disabledLanguages: strList(get, "completion.disabledLanguages", []),
      multiline: oneOf(get, "completion.multiline", ["auto", "always", "never"] as const, "auto"),
      maxTokens: Math.round(num(get, "completion.maxTokens", 128)),
      deadlineMs: Math.round(num(get, "completion.deadlineMs", 10_000)),
      explicitDeadlineMs: Math.round(num(get, "completion.explicitDeadlineMs", 30_000)),
      promptTokens: Math.round(num(get, "completion.promptTokens", 1024)),
      temperature: num(get, "completion.temperature", 0),
    },
    context: {
      enabled: bool(get, "context.enabled", true),
      exclude: strList(get, "context.exclude", DEFAULT_EXCLUDE),
      budgetShare: num(get, "context.budgetShare", 0.4),
      layout: oneOf(get, "context.layout", ["auto", "files", "comments"] as const, "auto"),
    },
    nextEdit: { deadlineMs: Math.round(num(get, "nextEdit.deadlineMs", 30_000)) },
    recordEvents: bool(get, "recordEvents", false),
  };
}

export function toClientSettings(get: ConfigGetter): ClientSettings {
  const env = get("server.env");
  const serverEnv: Record<string, string> = {};
  if (env && typeof env === "object" && !Array.isArray(env)) {
    for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
      if (typeof v === "string") serverEnv[k] = v;
    }
  }
  return {
    serverCommand: strList(get, "server.command", []).filter((s) => s.length > 0),
    pythonPath: str(get, "server.pythonPath", "").trim(),
    serverEnv,
    debounceMs: Math.max(0, Math.round(num(get, "completion.debounceMs", 0))),
    completionEnabled: bool(get, "completion.enabled", true),
    disabledLanguages: strList(get, "completion.disabledLanguages", []),
  };
}

/**
 * How long the client waits before asking: only typing (not an explicit trigger) waits, and
 * only when the user set `completion.debounceMs`; by default the server's adaptive debounce,
 * which sees every keystroke's time, is the only one.
 */
export function clientDelayMs(settings: ClientSettings, explicit: boolean): number {
  return explicit ? 0 : settings.debounceMs;
}

/** Whether inline completion should be asked for in a document of this language. */
export function completionEnabledFor(settings: ClientSettings, languageId: string): boolean {
  return settings.completionEnabled && !settings.disabledLanguages.includes(languageId);
}

/** The disabled-language list after enabling or disabling one language (order kept, no dups). */
export function withLanguageDisabled(list: readonly string[], languageId: string, disabled: boolean): string[] {
  const rest = list.filter((l) => l !== languageId);
  return disabled ? [...rest, languageId] : rest;
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Where the command came from, for error messages. */
  origin: "server.command" | "server.pythonPath" | "PATH";
  env: Record<string, string>;
}

export interface LaunchContext {
  workspaceFolder?: string;
  home?: string;
}

function expand(value: string, ctx: LaunchContext): string {
  let out = value;
  if (ctx.workspaceFolder !== undefined) out = out.split("${workspaceFolder}").join(ctx.workspaceFolder);
  if (ctx.home && (out === "~" || out.startsWith("~/"))) out = ctx.home + out.slice(1);
  return out;
}

/** How to start the server: `server.command`, else `pythonPath -m loomline.server.cli lsp`, else `loomline lsp`. */
export function resolveServerLaunch(settings: ClientSettings, ctx: LaunchContext = {}): ServerLaunch {
  if (settings.serverCommand.length > 0) {
    const [command, ...args] = settings.serverCommand.map((s) => expand(s, ctx));
    return { command, args, origin: "server.command", env: settings.serverEnv };
  }
  if (settings.pythonPath) {
    return {
      command: expand(settings.pythonPath, ctx),
      args: ["-m", "loomline.server.cli", "lsp"],
      origin: "server.pythonPath",
      env: settings.serverEnv,
    };
  }
  return { command: "loomline", args: ["lsp"], origin: "PATH", env: settings.serverEnv };
}

export function describeLaunch(launch: ServerLaunch): string {
  return [launch.command, ...launch.args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ");
}

/** A message that says what failed and how to fix it. */
export function startFailureMessage(error: unknown, launch: ServerLaunch): string {
  const raw = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const cmd = describeLaunch(launch);
  const notFound = code === "ENOENT" || /ENOENT|not found/i.test(raw);
  const noModule = /No module named/i.test(raw);
  let fix: string;
  if (notFound && launch.origin === "PATH") {
    fix =
      "`loomline` is not on PATH. Install the server (`pip install 'loomline[embedded]'`), then set " +
      '"loomline.server.command" to e.g. ["/path/to/.venv/bin/loomline", "lsp"] ' +
      'or "loomline.server.pythonPath" to that environment\'s python.';
  } else if (notFound) {
    fix = `"${launch.command}" does not exist or is not executable: check "loomline.${launch.origin}".`;
  } else if (noModule) {
    fix = `This Python has no Loomline installed: run \`${launch.command} -m pip install 'loomline[embedded]'\` or point "loomline.server.pythonPath" at the right environment.`;
  } else {
    fix = 'See the "Loomline" output channel for the server\'s own log, then run "Loomline: Restart Server".';
  }
  return `Loomline could not start its server (${cmd}): ${raw}. ${fix}`;
}
