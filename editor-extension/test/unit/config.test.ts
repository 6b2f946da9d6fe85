import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  DEFAULT_EXCLUDE,
  DEFAULT_MODEL_ID,
  clientDelayMs,
  completionEnabledFor,
  resolveServerLaunch,
  startFailureMessage,
  toClientSettings,
  toServerSettings,
  withLanguageDisabled,
} from "../../src/config";

const getter = (values: Record<string, unknown>) => (key: string) => values[key];

test("defaults map to the server's settings object", () => {
  assert.deepEqual(toServerSettings(getter({})), {
    backend: "embedded",
    model: { id: DEFAULT_MODEL_ID, template: "auto" },
    engine: { urls: [], apiKeyEnv: "LOOMLINE_API_KEY" },
    completion: {
      enabled: true,
      disabledLanguages: [],
      multiline: "auto",
      maxTokens: 128,
      deadlineMs: 10_000,
      explicitDeadlineMs: 30_000,
      promptTokens: 1024,
      temperature: 0,
    },
    context: { enabled: true, exclude: DEFAULT_EXCLUDE, budgetShare: 0.4, layout: "auto" },
    nextEdit: { deadlineMs: 30_000 },
    recordEvents: false,
  });
});

test("user values land in camelCase nested objects; client-only keys stay out", () => {
  const s = toServerSettings(
    getter({
      backend: "vllm",
      "model.id": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
      "model.path": " /models/q ",
      "model.template": "qwen",
      "engine.urls": [" http://127.0.0.1:8000/v1 ", ""],
      "engine.servedModel": "coder",
      "engine.apiKeyEnv": "MY_KEY",
      "completion.enabled": false,
      "completion.disabledLanguages": ["markdown"],
      "completion.multiline": "never",
      "completion.maxTokens": 64.4,
      "completion.deadlineMs": 5000.4,
      "completion.explicitDeadlineMs": 60000,
      "completion.promptTokens": 2048,
      "completion.temperature": 0.2,
      "completion.debounceMs": 500,
      "context.enabled": false,
      "context.exclude": ["**/*.secret"],
      "context.budgetShare": 0.3,
      "context.layout": "files",
      "nextEdit.deadlineMs": 60_000.4,
      recordEvents: true,
      "server.command": ["/x/loomline", "lsp"],
    }),
  );
  assert.equal(s.backend, "vllm");
  assert.deepEqual(s.model, { id: "Qwen/Qwen2.5-Coder-1.5B-Instruct", path: "/models/q", template: "qwen" });
  assert.deepEqual(s.engine, { urls: ["http://127.0.0.1:8000/v1"], servedModel: "coder", apiKeyEnv: "MY_KEY" });
  assert.equal(s.completion.maxTokens, 64);
  assert.equal(s.completion.deadlineMs, 5000);
  assert.equal(s.completion.explicitDeadlineMs, 60_000);
  assert.equal(s.completion.multiline, "never");
  assert.equal(s.completion.enabled, false);
  assert.deepEqual(s.context, {
    enabled: false,
    exclude: ["**/*.secret"],
    budgetShare: 0.3,
    layout: "files",
  });
  assert.deepEqual(s.nextEdit, { deadlineMs: 60_000 });
  assert.equal(s.recordEvents, true);
  const json = JSON.stringify(s);
  assert.ok(!json.includes("debounce") && !json.includes("server"), json);
});

test("invalid values fall back to defaults instead of reaching the server", () => {
  const s = toServerSettings(
    getter({ backend: "gpt", "completion.multiline": "sometimes", "completion.maxTokens": "many", "engine.urls": "http://x" }),
  );
  assert.equal(s.backend, "embedded");
  assert.equal(s.completion.multiline, "auto");
  assert.equal(s.completion.maxTokens, 128);
  assert.deepEqual(s.engine.urls, []);
});

test("empty optional strings are omitted", () => {
  const s = toServerSettings(getter({ "model.path": "", "engine.servedModel": "  ", "model.id": "" }));
  assert.ok(!("path" in s.model));
  assert.ok(!("servedModel" in s.engine));
  assert.equal(s.model.id, DEFAULT_MODEL_ID);
});

test("client settings and per-language enablement", () => {
  const c = toClientSettings(getter({ "completion.disabledLanguages": ["markdown"], "completion.debounceMs": -5, "server.env": { A: "1", B: 2 } }));
  assert.equal(c.debounceMs, 0);
  assert.deepEqual(c.serverEnv, { A: "1" });
  assert.equal(completionEnabledFor(c, "python"), true);
  assert.equal(completionEnabledFor(c, "markdown"), false);
  assert.equal(completionEnabledFor({ ...c, completionEnabled: false }, "python"), false);
  assert.deepEqual(withLanguageDisabled(["a", "b"], "b", true), ["a", "b"]);
  assert.deepEqual(withLanguageDisabled(["a"], "b", true), ["a", "b"]);
  assert.deepEqual(withLanguageDisabled(["a", "b"], "a", false), ["b"]);
});

test("server launch: explicit command, then pythonPath, then PATH", () => {
  const base = toClientSettings(getter({}));
  assert.deepEqual(resolveServerLaunch({ ...base, serverCommand: ["${workspaceFolder}/.venv/bin/loomline", "lsp"] }, { workspaceFolder: "/w" }), {
    command: "/w/.venv/bin/loomline",
    args: ["lsp"],
    origin: "server.command",
    env: {},
  });
  const py = resolveServerLaunch({ ...base, pythonPath: "~/venv/bin/python" }, { home: "/home/me" });
  assert.equal(py.command, "/home/me/venv/bin/python");
  assert.deepEqual(py.args, ["-m", "loomline.server.cli", "lsp"]);
  const path = resolveServerLaunch(base);
  assert.deepEqual([path.command, ...path.args, path.origin], ["loomline", "lsp", "PATH"]);
});

test("start failure messages say how to fix it", () => {
  const base = toClientSettings(getter({}));
  const enoent = Object.assign(new Error("spawn loomline ENOENT"), { code: "ENOENT" });
  const m1 = startFailureMessage(enoent, resolveServerLaunch(base));
  assert.match(m1, /could not start its server \(loomline lsp\)/);
  assert.match(m1, /loomline\.server\.command/);
  assert.match(m1, /pip install/);
  const m2 = startFailureMessage(enoent, resolveServerLaunch({ ...base, serverCommand: ["/nope/loomline", "lsp"] }));
  assert.match(m2, /"\/nope\/loomline" does not exist/);
  const m3 = startFailureMessage(new Error("/usr/bin/python3: No module named loomline"), resolveServerLaunch({ ...base, pythonPath: "/usr/bin/python3" }));
  assert.match(m3, /-m pip install/);
});

/** The contributed settings' defaults, read from package.json (what VS Code hands the getter). */
function contributedDefaults(): Record<string, unknown> {
  // Compiled to out/test/unit/: the package root is three levels up.
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8"));
  const props = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k.replace(/^loomline\./, ""), v.default]));
}

test("the client adds no debounce of its own by default: the server decides", () => {
  const defaults = contributedDefaults();
  assert.equal(defaults["completion.debounceMs"], 0);
  for (const settings of [toClientSettings(getter({})), toClientSettings(getter(defaults))]) {
    assert.equal(settings.debounceMs, 0);
    assert.equal(clientDelayMs(settings, false), 0);
    assert.equal(clientDelayMs(settings, true), 0);
  }
});

test("a debounce the user sets delays typing only, never an explicit trigger", () => {
  const settings = toClientSettings(getter({ "completion.debounceMs": 120.4 }));
  assert.equal(clientDelayMs(settings, false), 120);
  assert.equal(clientDelayMs(settings, true), 0);
});
