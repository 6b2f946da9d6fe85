import assert from "node:assert/strict";
import { test } from "node:test";
import { StatusModel, StatusView, parseServerStatus, shortModelName } from "../../src/status";

function record(model: StatusModel): StatusView[] {
  const views: StatusView[] = [];
  model.onChange((v) => views.push(v));
  return views;
}

test("life cycle: starting -> loading with progress -> ready with model and backend", () => {
  const m = new StatusModel();
  const views = record(m);
  m.starting();
  assert.equal(m.view().state, "starting");
  m.serverStatus({ state: "loading", message: "loading weights", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "embedded", progress: 42 });
  assert.equal(m.view().state, "loading");
  assert.match(m.view().text, /loading 42%/);
  m.running();
  m.serverStatus({ state: "ready", message: "", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "embedded" });
  const ready = m.view();
  assert.equal(ready.state, "ready");
  assert.equal(ready.text, "$(check) Loomline: Qwen2.5-Coder-0.5B-Instruct (embedded)");
  assert.equal(ready.command, "loomline.statusMenu");
  assert.deepEqual(views.map((v) => v.state), ["starting", "loading", "ready"]);
});

test("thinking while requests are in flight, or when the server says so", () => {
  const m = new StatusModel();
  m.running();
  m.serverStatus({ state: "ready", model: "m", backend: "fake" });
  m.requestStarted();
  m.requestStarted();
  assert.equal(m.view().state, "thinking");
  m.requestFinished();
  assert.equal(m.view().state, "thinking");
  m.requestFinished();
  m.requestFinished(); // never below zero
  assert.equal(m.view().state, "ready");
  m.serverStatus({ state: "thinking", model: "m", backend: "fake" });
  assert.equal(m.view().state, "thinking");
  assert.match(m.view().text, /m \(fake\)/);
});

test("errors win and a click shows the output", () => {
  const m = new StatusModel();
  m.running();
  m.requestStarted();
  m.serverStatus({ state: "error", message: "model not prepared: run `loomline model pull`" });
  const v = m.view();
  assert.equal(v.state, "error");
  assert.equal(v.command, "loomline.showOutput");
  assert.equal(v.severity, "error");
  assert.match(v.tooltip, /loomline model pull/);
  m.failed("Loomline could not start its server");
  assert.equal(m.view().state, "error");
  assert.match(m.view().tooltip, /could not start/);
  m.starting();
  assert.equal(m.view().state, "starting");
});

test("disabled by the server or for the active editor; back to ready when re-enabled", () => {
  const m = new StatusModel();
  m.running();
  m.serverStatus({ state: "ready", model: "m", backend: "embedded" });
  m.setEditorDisabled("Disabled for markdown");
  assert.equal(m.view().state, "disabled");
  assert.match(m.view().tooltip, /markdown/);
  m.setEditorDisabled(undefined);
  assert.equal(m.view().state, "ready");
  m.serverStatus({ state: "disabled", message: "completion.enabled is false" });
  assert.equal(m.view().state, "disabled");
  // the model name is remembered from earlier notifications
  m.serverStatus({ state: "ready" });
  assert.match(m.view().text, /m \(embedded\)/);
});

test("stopped offers a restart; unchanged views are not re-emitted", () => {
  const m = new StatusModel();
  const views = record(m);
  m.stopped();
  m.stopped();
  assert.equal(m.view().command, "loomline.restartServer");
  assert.equal(views.length, 1);
});

test("parseServerStatus validates and clamps", () => {
  assert.equal(parseServerStatus(null), undefined);
  assert.equal(parseServerStatus({ state: "weird" }), undefined);
  assert.deepEqual(parseServerStatus({ state: "loading", progress: 140.2, model: 3 }), { state: "loading", progress: 100 });
  assert.equal(shortModelName("/models/qwen-0.5b/"), "qwen-0.5b");
  assert.equal(shortModelName(undefined), "");
});

test("the LoRA adapter of the last completion shows beside the model, until one says otherwise", () => {
  const m = new StatusModel();
  m.running();
  m.serverStatus({ state: "thinking", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm", adapter: "payments" });
  assert.match(m.view().text, /Qwen2\.5-Coder-0\.5B-Instruct \+ payments \(vllm\)/);
  m.serverStatus({ state: "ready", message: "ready", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm", adapter: "payments" });
  assert.equal(m.view().text, "$(check) Loomline: Qwen2.5-Coder-0.5B-Instruct + payments (vllm)");
  assert.match(m.view().tooltip, /with Qwen2\.5-Coder-0\.5B-Instruct \+ payments/);
  m.serverStatus({ state: "loading", message: "engine restarts", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm" });
  m.serverStatus({ state: "ready", message: "ready", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm", adapter: "payments" });
  assert.match(m.view().text, /\+ payments/);
  // A completion with the base model: the status names no adapter.
  m.serverStatus({ state: "thinking", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm" });
  m.serverStatus({ state: "ready", message: "ready", model: "Qwen/Qwen2.5-Coder-0.5B-Instruct", backend: "vllm" });
  assert.equal(m.view().text, "$(check) Loomline: Qwen2.5-Coder-0.5B-Instruct (vllm)");
  assert.equal(parseServerStatus({ state: "ready", adapter: 3 })?.adapter, undefined);
  assert.equal(parseServerStatus({ state: "ready", adapter: "web" })?.adapter, "web");
});
