import assert from "node:assert/strict";
import { test } from "node:test";
import {
  NextEdit,
  NextEditSession,
  firstEdit,
  hoverDiff,
  previewText,
  tabAction,
  touchesLine,
  widenToWords,
} from "../../src/nextEditModel";
import type { LoomlineEvent } from "../../src/protocol";

const URI = "file:///w/area.py";
const LINES = ["def area(radius):", '    return "area: " + str(3.14 * r * r)', "", "print(area(2))"];
const at = (line: number, character: number) => ({ line, character });

// What the server answers for the rename: the smallest change, inside the first `r`.
const RESULT = {
  edits: [{
    range: { start: at(1, 34), end: at(1, 38) },
    text: "adius * radius",
    textDocument: { uri: URI, version: 7 },
    command: { title: "Accept next edit", command: "loomline.accept", arguments: ["n3"] },
  }],
};

function edit(): NextEdit {
  const found = firstEdit(RESULT);
  assert.ok(found);
  return found;
}

test("firstEdit reads the server's answer and refuses other shapes", () => {
  assert.deepEqual(edit(), {
    id: "n3", uri: URI, version: 7, start: at(1, 34), end: at(1, 38), text: "adius * radius",
    command: RESULT.edits[0].command,
  });
  assert.equal(firstEdit({ edits: [] }), undefined);
  assert.equal(firstEdit(null), undefined);
  assert.equal(firstEdit({ edits: [{ text: "x" }] }), undefined);
  assert.equal(firstEdit({ edits: [{ ...RESULT.edits[0], command: undefined }] })?.id, undefined);
});

test("widenToWords grows the range to whole words, to the same effect", () => {
  const wide = widenToWords(edit(), (n) => LINES[n]);
  assert.deepEqual([wide.start, wide.end, wide.text], [at(1, 33), at(1, 38), "radius * radius"]);
  const apply = (e: NextEdit) => LINES[1].slice(0, e.start.character) + e.text + LINES[1].slice(e.end.character);
  assert.equal(apply(wide), apply(edit()));
  assert.equal(apply(wide), '    return "area: " + str(3.14 * radius * radius)');
  // Already on word boundaries: unchanged.
  const whole = { ...edit(), start: at(1, 33), end: at(1, 38), text: "radius * radius" };
  assert.equal(widenToWords(whole, (n) => LINES[n]), whole);
});

test("widenToWords leaves out a word the new text puts on a line of its own", () => {
  const lines = ["def area(r):", "    return 3.14 * r * r", "", "", "print(area(2))"];
  // A whole line inserted before line 4: `print` stays as it is, it is not replaced.
  const inserted = { ...edit(), start: at(4, 0), end: at(4, 0), text: "assert area(1) > 0\r\n" };
  assert.equal(widenToWords(inserted, (n) => lines[n]), inserted);
  // A line added after line 1's end: `r` before the break stays as it is.
  const added = { ...edit(), start: at(1, 23), end: at(1, 23), text: "\n    x = 1" };
  assert.equal(widenToWords(added, (n) => lines[n]), added);
});

const FENCE_END = "```";

/** The diff lines of a hover (between the fences). */
function diffLines(hover: string): string[] {
  const lines = hover.split("\n");
  return lines.slice(1, lines.indexOf(FENCE_END));
}

for (const eol of ["\n", "\r\n", "\r"]) {
  test(`hoverDiff and previewText show whole lines without line break characters (${JSON.stringify(eol)})`, () => {
    // From column 4 of a body line, several lines: each shows whole, indentation included.
    const text = ["if radius < 0:", "        raise ValueError(radius)", "    return 3.14 * radius * radius"].join(eol);
    assert.deepEqual(diffLines(hoverDiff("return 3.14 * r * r", text, "    ", "")), [
      "-     return 3.14 * r * r",
      "+     if radius < 0:",
      "+         raise ValueError(radius)",
      "+     return 3.14 * radius * radius",
    ]);
    // A whole line inserted before another: that one is context, not removed and re-added.
    assert.deepEqual(diffLines(hoverDiff("", `assert area(1) > 0${eol}`, "", "print(area(2))")), [
      "+ assert area(1) > 0",
      "  print(area(2))",
    ]);
    assert.ok(!/[\r]/.test(previewText(text)) && !/[\r]/.test(hoverDiff("a", text)));
  });
}

test("Tab jumps from elsewhere, accepts on the edit's lines or after a jump", () => {
  assert.equal(tabAction(edit(), at(0, 15), false), "jump");
  assert.equal(tabAction(edit(), at(1, 0), false), "accept");
  assert.equal(tabAction(edit(), at(0, 15), true), "accept");
  assert.ok(touchesLine(edit(), 1) && !touchesLine(edit(), 0) && !touchesLine(edit(), 2));
});

test("previewText and hoverDiff show line breaks and deletions", () => {
  assert.equal(previewText("a\nb"), "a ⏎ b");
  assert.equal(previewText(""), "⌫ (delete)");
  assert.equal(previewText("x".repeat(200)).length, 120);
  assert.match(hoverDiff("r * r", "radius * radius"), /- r \* r\n\+ radius \* radius/);
});

function session() {
  const log: string[] = [];
  const events: LoomlineEvent[] = [];
  const s = new NextEditSession({
    shown: (e) => log.push(`shown ${e.id}`),
    accepted: (e) => log.push(`accepted ${e.id}`),
    event: (e) => events.push(e),
  });
  return { s, log, events };
}

test("session: shown, Tab jumps, Tab accepts; no dismiss after the accept", () => {
  const { s, log, events } = session();
  s.show(edit(), 0);
  assert.equal(s.tab(at(0, 15))?.action, "jump");
  // The jump's own cursor move (onto the edit) keeps it.
  assert.equal(s.cursorMoved(URI, at(1, 34)), false);
  const step = s.tab(at(1, 34));
  assert.equal(step?.action, "accept");
  s.accepted(step!.edit);
  assert.equal(s.current, undefined);
  assert.equal(s.dismiss(), false);
  assert.deepEqual(log, ["shown n3", "accepted n3"]);
  assert.deepEqual(events, []);
});

test("session: Esc, moving to another line or a new suggestion dismisses, once", () => {
  const { s, events } = session();
  s.show(edit(), 0);
  assert.equal(s.cursorMoved(URI, at(0, 3)), false); // along the line it was shown on
  assert.equal(s.cursorMoved(URI, at(3, 0)), true);
  assert.equal(s.dismiss(), false);
  s.show(edit(), 0);
  s.show({ ...edit(), id: "n4" }, 0);
  assert.equal(s.dismiss(), true);
  assert.deepEqual(events, [
    { type: "dismiss", completionId: "n3" },
    { type: "dismiss", completionId: "n3" },
    { type: "dismiss", completionId: "n4" },
  ]);
  assert.equal(s.tab(at(0, 0)), undefined);
});
