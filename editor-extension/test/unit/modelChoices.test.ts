import assert from "node:assert/strict";
import { test } from "node:test";
import { MODEL_CHOICES, currentChoiceId, updatesForChoice, validateEngineUrl } from "../../src/modelChoices";

const byId = (id: string) => MODEL_CHOICES.find((c) => c.id === id)!;

test("each choice writes the backend and its model", () => {
  assert.deepEqual(updatesForChoice(byId("embedded-1.5b")), [
    { key: "backend", value: "embedded" },
    { key: "model.id", value: "Qwen/Qwen2.5-Coder-1.5B-Instruct" },
  ]);
  assert.deepEqual(updatesForChoice(byId("vllm"), { url: " http://127.0.0.1:8000/v1 ", servedModel: "coder" }), [
    { key: "backend", value: "vllm" },
    { key: "engine.urls", value: ["http://127.0.0.1:8000/v1"] },
    { key: "engine.servedModel", value: "coder" },
  ]);
  assert.deepEqual(updatesForChoice(byId("fake")), [{ key: "backend", value: "fake" }]);
});

test("the current choice is found from the settings", () => {
  assert.equal(currentChoiceId("embedded", "Qwen/Qwen2.5-Coder-0.5B-Instruct"), "embedded-0.5b");
  assert.equal(currentChoiceId("vllm", "anything"), "vllm");
  assert.equal(currentChoiceId("embedded", "someone/else"), undefined);
});

test("engine URLs are validated", () => {
  assert.equal(validateEngineUrl("http://127.0.0.1:8000/v1"), undefined);
  assert.match(validateEngineUrl("ftp://x") ?? "", /http/);
  assert.match(validateEngineUrl("nope") ?? "", /Not a URL/);
});
