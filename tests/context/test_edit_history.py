"""Edit history: changes coalesced into hunks, bounded, shown as unified diffs."""

from __future__ import annotations

import random

from loomline.context.documents import DocumentStore
from loomline.context.edit_history import MAX_HUNK_CHARS, EditHistory, line_change
from loomline.context.positions import Position


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def store_with_clock() -> tuple[DocumentStore, Clock]:
    store = DocumentStore()
    clock = Clock()
    store.unsubscribe(store.history)
    store.history = EditHistory(clock)
    store.subscribe(store.history)
    return store, clock


def type_text(store: DocumentStore, uri: str, line: int, column: int, text: str,
              clock: Clock, gap: float = 0.15) -> None:
    """Type ``text`` one character at a time at (line, column), as an editor sends it."""
    document = store.get(uri)
    assert document is not None
    for char in text:
        clock.now += gap
        at = Position(line, column)
        store.change(uri, document.version + 1, [(at, at, char)])
        column += 1


def test_a_burst_of_typing_in_one_place_is_one_hunk() -> None:
    store, clock = store_with_clock()
    uri = "file:///w/a.py"
    store.open(uri, "python", 1, "def area(r):\n    return 3.14 * r * r\n")
    # Rename the parameter: delete "r", type "radius".
    store.change(uri, 2, [(Position(0, 9), Position(0, 10), "")])
    type_text(store, uri, 0, 9, "radius", clock)
    hunks = store.history.hunks(uri)
    assert len(hunks) == 1
    assert hunks[0].old_lines == ("def area(r):",)
    assert hunks[0].new_lines == ("def area(radius):",)
    assert hunks[0].unified_diff("a.py") == (
        "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-def area(r):\n+def area(radius):"
    )


def test_a_pause_or_another_place_starts_a_new_hunk() -> None:
    store, clock = store_with_clock()
    uri = "file:///w/a.py"
    store.open(uri, "python", 1, "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n")
    type_text(store, uri, 0, 5, "0", clock)
    type_text(store, uri, 4, 5, "0", clock)  # far away: new hunk
    clock.now += 10  # a long pause: new hunk even in the same place
    type_text(store, uri, 4, 6, "0", clock)
    hunks = store.history.hunks(uri)
    assert [h.new_lines for h in hunks] == [("a = 10",), ("e = 50",), ("e = 500",)]
    assert [h.old_lines for h in hunks] == [("a = 1",), ("e = 5",), ("e = 50",)]
    assert "@@ -5 +5 @@" in hunks[2].unified_diff("a.py")


def test_adjacent_lines_merge_and_line_numbers_follow_later_insertions() -> None:
    store, clock = store_with_clock()
    uri = "file:///w/a.py"
    store.open(uri, "python", 1, "x = 1\ny = 2\n\n\nz = 3\n")
    type_text(store, uri, 4, 5, "0", clock)  # z = 30
    clock.now += 10
    type_text(store, uri, 0, 5, "\n", clock)  # a new line after x = 1 ...
    type_text(store, uri, 1, 0, "w = 0", clock)  # ... typed on: same hunk
    hunks = store.history.hunks(uri)
    assert len(hunks) == 2
    # One line inserted after line 1 (difflib shows it as such, whichever way it was cut).
    diff = hunks[1].unified_diff("a.py").split("\n")
    assert [line for line in diff[2:] if line[:1] in "+-"] == ["+w = 0"]
    assert diff[2] == "@@ -1,0 +2 @@"
    # The older hunk moved down by the line added above it.
    assert hunks[0].start_line == 5
    assert store.get(uri).lf_text.split("\n")[5] == "z = 30"  # type: ignore[union-attr]


def test_typing_then_taking_it_back_leaves_nothing() -> None:
    store, clock = store_with_clock()
    uri = "file:///w/a.py"
    store.open(uri, "python", 1, "x = 1\n")
    type_text(store, uri, 0, 5, "23", clock)
    store.change(uri, 10, [(Position(0, 5), Position(0, 7), "")])
    assert store.history.hunks(uri) == []


def test_bounded_in_count_size_and_age() -> None:
    clock = Clock()
    history = EditHistory(clock, per_document=3, total=5, max_lines=10, max_age_s=60)
    for n in range(6):
        clock.now += 10  # each its own hunk
        history.record("file:///a", "a\n" * 20, "a\n" * n + "b\n" + "a\n" * (19 - n))
    assert len(history.hunks("file:///a")) == 3
    for n in range(4):
        clock.now += 10
        history.record("file:///b", "x", f"x{n}")
    assert len(history.hunks()) == 5
    # A change of more lines than allowed is not kept.
    history.record("file:///c", "", "\n".join(["line"] * 20))
    assert history.hunks("file:///c") == []
    clock.now += 1000
    assert history.hunks() == []


def test_other_files_and_closed_documents_keep_their_hunks() -> None:
    store, clock = store_with_clock()
    store.open("file:///w/a.py", "python", 1, "a\n")
    store.open("file:///w/b.py", "python", 1, "b\n")
    type_text(store, "file:///w/a.py", 0, 1, "1", clock)
    type_text(store, "file:///w/b.py", 0, 1, "2", clock)
    store.close("file:///w/a.py")
    assert [h.uri for h in store.history.hunks()] == ["file:///w/a.py", "file:///w/b.py"]


def test_crlf_and_multi_edit_changes_give_the_lines_of_the_lf_text() -> None:
    store, clock = store_with_clock()
    uri = "file:///w/a.py"
    store.open(uri, "python", 1, "one\r\ntwo\r\nthree\r\n")
    clock.now += 1
    # Two edits in one notification (two cursors).
    store.change(uri, 2, [(Position(0, 3), Position(0, 3), "!"),
                          (Position(2, 5), Position(2, 5), "?")])
    hunks = store.history.hunks(uri)
    assert len(hunks) == 1
    assert hunks[0].old_lines == ("one", "two", "three")
    assert hunks[0].new_lines == ("one!", "two", "three?")


def test_line_change_agrees_with_a_plain_scan_on_random_edits() -> None:
    rng = random.Random(7)
    alphabet = "ab\n"
    for _ in range(500):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        start = rng.randint(0, len(old))
        end = rng.randint(start, len(old))
        inserted = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))
        new = old[:start] + inserted + old[end:]
        found = line_change(old, new, max(0, start - 1), max(0, len(old) - end - 1))
        plain = line_change(old, new)
        assert found == plain
        if plain is None:
            assert old == new
            continue
        old_lines, new_lines = old.split("\n"), new.split("\n")
        s = plain.start_line
        # Replacing the lines gives the new text back.
        rebuilt = old_lines[:s] + list(plain.new_lines) + old_lines[s + len(plain.old_lines):]
        assert rebuilt == new_lines


def test_a_burst_of_random_edits_in_one_place_is_one_hunk_that_replays() -> None:
    rng = random.Random(11)
    for _ in range(200):
        clock = Clock()
        history = EditHistory(clock)
        lines = [f"line {n}" for n in range(30)]
        text = "\n".join(lines) + "\n"
        original = text
        for _step in range(rng.randint(1, 12)):
            clock.now += 0.2
            # Near line 12: an edit within a line or two of the last keeps touching the hunk.
            start = sum(len(line) + 1 for line in text.split("\n")[:12]) + rng.randint(0, 6)
            end = start + rng.randint(0, 3)
            inserted = rng.choice(["", "x", "\n", "ab\ncd", "\n\n"])
            new = text[:start] + inserted + text[end:]
            history.record("u", text, new)
            text = new
        hunks = history.hunks("u")
        if original == text:
            continue
        assert len(hunks) <= 1
        if not hunks:
            continue  # the burst came back to where it started
        (hunk,) = hunks
        old_lines = original.split("\n")
        assert tuple(old_lines[hunk.start_line:hunk.start_line + len(hunk.old_lines)]) == (
            hunk.old_lines)
        replayed = (old_lines[:hunk.start_line] + list(hunk.new_lines)
                    + old_lines[hunk.start_line + len(hunk.old_lines):])
        assert "\n".join(replayed) == text


class SliceCountingStr(str):
    """A text that notes the longest slice taken of it (what a per-keystroke step copies)."""

    longest = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        result = str.__getitem__(self, key)
        if isinstance(key, slice):
            SliceCountingStr.longest = max(SliceCountingStr.longest, len(result))
        return result


HUGE_LINE = "data = [" + "1, " * 140_000 + "]"


def test_typing_in_a_huge_line_copies_only_around_the_edit() -> None:
    """The history's work per keystroke in a 400k-character line is the edit's, not the
    line's: no slice of the line's length (an edit there is not kept, like a huge paste)."""
    history = EditHistory(Clock())
    text = "x = 1\n" + HUGE_LINE + "\ny = 2\n"
    middle = len(text) // 2
    SliceCountingStr.longest = 0
    for typed in range(20):
        at = middle + typed
        new = text[:at] + "a" + text[at:]
        history.record("file:///big.py", SliceCountingStr(text), SliceCountingStr(new),
                       at - 1, len(text) - at - 1)
        text = new
    assert SliceCountingStr.longest <= 2 * MAX_HUNK_CHARS
    assert history.hunks("file:///big.py") == []


def test_hunks_below_a_huge_line_move_when_it_gains_a_line() -> None:
    store, clock = store_with_clock()
    uri = "file:///big.py"
    store.open(uri, "python", 1, HUGE_LINE + "\nx = 1\n")
    type_text(store, uri, 1, 5, "0", clock)
    clock.now += 10
    store.change(uri, 50, [(Position(0, 9), Position(0, 9), "\n")])  # split the huge line
    (hunk,) = store.history.hunks(uri)
    assert hunk.start_line == 2 and hunk.new_lines == ("x = 10",)


def test_typing_next_to_a_huge_line_keeps_its_hunk_without_it() -> None:
    store, clock = store_with_clock()
    uri = "file:///big.py"
    store.open(uri, "python", 1, HUGE_LINE + "\nx = 1\n")
    type_text(store, uri, 1, 5, "23", clock)
    (hunk,) = store.history.hunks(uri)
    assert hunk.old_lines == ("x = 1",) and hunk.new_lines == ("x = 123",)
