import assert from "node:assert/strict";
import { test } from "node:test";
import { CompletionEventTracker, Scheduler, advance, completionIdOf, remainingText } from "../../src/events";
import type { LoomlineEvent } from "../../src/protocol";

/** A scheduler the test runs by hand. */
function manual(): { scheduler: Scheduler; run(): void; pending(): number } {
  let tasks: { fn: () => void; cancelled: boolean }[] = [];
  return {
    scheduler: (fn) => {
      const t = { fn, cancelled: false };
      tasks.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
    run() {
      const now = tasks;
      tasks = [];
      now.filter((t) => !t.cancelled).forEach((t) => t.fn());
    },
    pending: () => tasks.filter((t) => !t.cancelled).length,
  };
}

const URI = "file:///w/a.py";
const at = (line: number, character: number) => ({ line, character });

function setup() {
  const sent: LoomlineEvent[] = [];
  const clock = manual();
  const tracker = new CompletionEventTracker((e) => sent.push(e), clock.scheduler);
  return { sent, clock, tracker };
}

test("Tab: the insertion then the accept command give one accept", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "c1", uri: URI, position: at(2, 4), remainingText: "return a + b" });
  tracker.documentChanged({ uri: URI, start: at(2, 4), rangeLength: 0, text: "return a + b" });
  tracker.selectionChanged(URI, at(2, 16));
  tracker.accepted("c1");
  clock.run();
  assert.deepEqual(sent, [{ type: "accept", completionId: "c1" }]);
});

test("Tab on an item whose range starts before the cursor still counts as accept", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "c1", uri: URI, position: at(2, 6), remainingText: "turn a" });
  tracker.documentChanged({ uri: URI, start: at(2, 4), rangeLength: 2, text: "return a" });
  tracker.accepted("c1");
  clock.run();
  assert.deepEqual(sent, [{ type: "accept", completionId: "c1" }]);
});

test("accepting word by word then moving away is a partial accept with its length", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "c2", uri: URI, position: at(0, 0), remainingText: "foo bar\nbaz" });
  tracker.documentChanged({ uri: URI, start: at(0, 0), rangeLength: 0, text: "foo " });
  tracker.selectionChanged(URI, at(0, 4));
  assert.equal(clock.pending(), 0);
  tracker.documentChanged({ uri: URI, start: at(0, 4), rangeLength: 0, text: "bar\n" });
  tracker.selectionChanged(URI, at(1, 0));
  assert.equal(clock.pending(), 0);
  tracker.selectionChanged(URI, at(7, 0));
  clock.run();
  assert.deepEqual(sent, [{ type: "partialAccept", completionId: "c2", acceptedLength: 8 }]);
});

test("taking every character without the command is an accept", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "c3", uri: URI, position: at(0, 0), remainingText: "ab" });
  tracker.documentChanged({ uri: URI, start: at(0, 0), rangeLength: 0, text: "a" });
  tracker.documentChanged({ uri: URI, start: at(0, 1), rangeLength: 0, text: "b" });
  clock.run();
  assert.deepEqual(sent, [{ type: "accept", completionId: "c3" }]);
});

test("Escape, a different edit or a new suggestion dismiss", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "d1", uri: URI, position: at(0, 0), remainingText: "x = 1" });
  tracker.dismissed();
  tracker.shown({ completionId: "d2", uri: URI, position: at(0, 0), remainingText: "x = 1" });
  tracker.documentChanged({ uri: URI, start: at(0, 0), rangeLength: 0, text: "y" });
  clock.run();
  tracker.shown({ completionId: "d3", uri: URI, position: at(0, 1), remainingText: "z" });
  tracker.shown({ completionId: "d4", uri: URI, position: at(0, 1), remainingText: "w" });
  tracker.shown(undefined);
  assert.deepEqual(
    sent.map((e) => `${e.type}:${e.completionId}`),
    ["dismiss:d1", "dismiss:d2", "dismiss:d3", "dismiss:d4"],
  );
});

test("the same suggestion shown twice is tracked once; events are never sent twice", () => {
  const { sent, clock, tracker } = setup();
  const c = { completionId: "s1", uri: URI, position: at(0, 0), remainingText: "abc" };
  tracker.shown(c);
  tracker.shown(c);
  assert.equal(tracker.current, "s1");
  tracker.accepted("s1");
  tracker.accepted("s1");
  tracker.shown(c); // already reported: not tracked again
  assert.equal(tracker.current, undefined);
  clock.run();
  assert.deepEqual(sent, [{ type: "accept", completionId: "s1" }]);
});

test("edits in other documents are ignored; flush ends what is shown", () => {
  const { sent, tracker } = setup();
  tracker.shown({ completionId: "o1", uri: URI, position: at(0, 0), remainingText: "abc" });
  tracker.documentChanged({ uri: "file:///other", start: at(0, 0), rangeLength: 0, text: "zzz" });
  assert.equal(tracker.current, "o1");
  tracker.flush();
  assert.deepEqual(sent, [{ type: "dismiss", completionId: "o1" }]);
});

test("an accept the server recorded itself is not sent again, and ends tracking", () => {
  const { sent, clock, tracker } = setup();
  tracker.shown({ completionId: "r1", uri: URI, position: at(0, 0), remainingText: "abc" });
  tracker.documentChanged({ uri: URI, start: at(0, 0), rangeLength: 0, text: "abc" });
  tracker.accepted("r1", true);
  clock.run();
  tracker.flush();
  assert.deepEqual(sent, []);
  assert.equal(tracker.current, undefined);
});

test("after a server restart, repeated ids are tracked again", () => {
  const { sent, tracker } = setup();
  const c = { completionId: "mock-1", uri: URI, position: at(0, 0), remainingText: "abc" };
  tracker.shown(c);
  tracker.flush();
  tracker.shown(c);
  assert.equal(tracker.current, undefined);
  tracker.reset();
  tracker.shown(c);
  assert.equal(tracker.current, "mock-1");
  tracker.flush();
  assert.deepEqual(sent.map((e) => e.type), ["dismiss", "dismiss"]);
});

test("helpers", () => {
  assert.equal(completionIdOf({ command: "loomline.accept", arguments: ["id-1"] }), "id-1");
  assert.equal(completionIdOf({ command: "other", arguments: ["id-1"] }), undefined);
  assert.equal(completionIdOf(undefined), undefined);
  assert.equal(remainingText("return x", "ret"), "urn x");
  assert.equal(remainingText("return x", "zzz"), "return x");
  assert.deepEqual(advance(at(3, 4), "ab"), at(3, 6));
  assert.deepEqual(advance(at(3, 4), "ab\n  cd"), at(4, 4));
  assert.deepEqual(advance(at(3, 4), "\r\n"), at(4, 0));
});
