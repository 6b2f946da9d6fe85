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
