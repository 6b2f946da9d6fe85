import assert from "node:assert/strict";
import { test } from "node:test";
import { fence, formatContextReport, parseContextResult } from "../../src/contextReport";

test("the report lists each piece's source and reason, then the prompt", () => {
  const result = parseContextResult({
    prompt: "<|fim_prefix|>def f():\n<|fim_suffix|><|fim_middle|>",
    template: "qwen",
    promptTokens: 321,
    pieces: [
      { source: "util/math.py", reason: "defines `add`, used at the cursor", kind: "definition", text: "def add(a, b):\n    return a + b\n", tokens: 12 },
      { source: "a.py", reason: "similar snippet", kind: "snippet", text: "x = ```odd```", tokens: 5 },
    ],
  });
  const md = formatContextReport(result, { file: "a.py", line: 3, character: 5, languageId: "python" });
  assert.match(md, /^# Loomline completion context/);
  assert.match(md, /`a\.py` line 3, column 5/);
  assert.match(md, /Prompt tokens: 321/);
  assert.match(md, /### 1\. util\/math\.py\n\n- Kind: definition\n- Why: defines `add`, used at the cursor\n- Tokens: 12/);
  assert.match(md, /```python\ndef add\(a, b\):\n    return a \+ b\n```/);
  assert.match(md, /````python\nx = ```odd```\n````/);
  assert.match(md, /## Full prompt\n\n```\n<\|fim_prefix\|>def f\(\):/);
});

test("malformed answers still render", () => {
  const r = parseContextResult({ pieces: [null, { source: 3 }] });
  assert.equal(r.pieces.length, 2);
  const md = formatContextReport(parseContextResult(null), { file: "x", line: 1, character: 1 });
  assert.match(md, /No context from other files/);
  assert.equal(fence("no ticks"), "```");
  assert.equal(fence("a ```` b"), "`````");
});

test("the report names the LoRA adapter, or the base model", () => {
  const meta = { file: "a.py", line: 1, character: 1 };
  const withAdapter = formatContextReport(parseContextResult({ adapter: "payments" }), meta);
  assert.match(withAdapter, /- LoRA adapter: payments\n/);
  const base = formatContextReport(parseContextResult({ adapter: null }), meta);
  assert.match(base, /- LoRA adapter: none \(the base model\)\n/);
});
