"""The edit history keeps hunks only: the store's change events bring the changed lines."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import fields, is_dataclass

from loomline.context.documents import DocumentChanged, DocumentEvent, DocumentStore
from loomline.context.edit_history import line_change
from loomline.context.positions import Position, to_lf


def held_strings(value: object, seen: set[int] | None = None) -> Iterator[str]:
    """Every string reachable from ``value`` through attributes and containers."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from held_strings(key, seen)
            yield from held_strings(item, seen)
    elif isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ == "deque":
        for item in value:  # type: ignore[attr-defined]
            yield from held_strings(item, seen)
    elif is_dataclass(value):
        for field in fields(value):
            yield from held_strings(getattr(value, field.name), seen)
    elif hasattr(value, "__dict__"):
        for item in vars(value).values():
            yield from held_strings(item, seen)


def test_after_many_edits_the_history_holds_only_its_hunks() -> None:
    store = DocumentStore()
    uris = [f"file:///w/{name}.py" for name in ("a", "b", "c")]
    big = "".join(f"line_{n} = {n}\r\n" for n in range(5_000))  # CRLF: ~80k characters
    for uri in uris:
        store.open(uri, "python", 1, big)
    rng = random.Random(3)
    for version in range(2, 300):
        uri = rng.choice(uris)
        at = Position(rng.randint(0, 4_999), rng.randint(0, 8))
        store.change(uri, version, [(at, at, rng.choice(["x", "\n", "yz"]))])
    store.close(uris[0])
    hunks = store.history.hunks()
    assert hunks
    hunk_chars = sum(len(h.uri) + sum(map(len, h.old_lines + h.new_lines)) for h in hunks)
    held = sum(len(s) for s in held_strings(store.history))
    # What the hunks hold (and the URIs as keys), never a document (len(big) each).
    assert held <= hunk_chars + sum(map(len, uris)), (held, hunk_chars)
    assert held < len(big)


def test_a_change_asks_no_document_for_its_lf_text() -> None:
    store = DocumentStore()
    document = store.open("file:///w/a.py", "python", 1, "one\r\ntwo\r\n")
    store.change("file:///w/a.py", 2, [(Position(1, 3), Position(1, 3), "!")])
    assert document._lf_text is None  # nobody built the whole LF copy for the history
    (hunk,) = store.history.hunks()
    assert hunk.old_lines == ("two",) and hunk.new_lines == ("two!",)


def test_the_events_lines_are_those_of_the_lf_texts_for_every_line_break() -> None:
    """The store's ``lines`` equal ``line_change`` of the whole ``lf_text`` before and after,
    for LF, CRLF, lone CR and mixed texts, several edits per change and whole replacements
    (including edits that split or join a CRLF and insertions that repeat what follows)."""
    rng = random.Random(5)
    heard: list[DocumentChanged] = []

    def listen(event: DocumentEvent) -> None:
        if isinstance(event, DocumentChanged):
            heard.append(event)

    for alphabet in ("ab\n", "ab\r\n", "a\r", "a\r\n\n\r"):
        store = DocumentStore()
        store.subscribe(listen)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        if alphabet == "ab\r\n":
            text = text.replace("\n", "\r\n").replace("\r\r", "\r")
        document = store.open("file:///w/t.txt", "plaintext", 1, text)
        for version in range(2, 150):
            before = to_lf(document.text)
            changes: list[tuple[Position, Position, str] | str] = []
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                if rng.random() < 0.05:
                    changes.append("".join(rng.choice(alphabet) for _ in range(20)))
                    continue
                size = len(document.text) + 5 * len(changes)
                start = document.position_at(min(rng.randint(0, size), len(document.text)))
                end = document.position_at(min(len(document.text),
                                               document.offset_at(start) + rng.randint(0, 3)))
                inserted = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
                changes.append((start, end, inserted))
            heard.clear()
            store.change("file:///w/t.txt", version, changes)
            assert heard[-1].lines == line_change(before, to_lf(document.text)), (
                before, changes)


def test_the_events_lines_on_a_long_line_are_those_of_the_lf_texts_for_every_line_break() -> None:
    """The same on a line far longer than a hunk holds (its lines come ``oversized``), as the
    store finds them without making the ``\\n`` form of the line: typing, deleting, typing
    next to a break and breaking the line, in LF, CRLF and lone-CR text with wide characters."""
    heard: list[DocumentChanged] = []

    def listen(event: DocumentEvent) -> None:
        if isinstance(event, DocumentChanged):
            heard.append(event)

    for newline in ("\n", "\r\n", "\r"):
        store = DocumentStore()
        store.subscribe(listen)
        long = "x = [" + "'é😀', ".join(str(n) for n in range(2_000)) + "]"
        text = newline.join(["a = 1", long, "b = 2", ""])
        document = store.open("file:///w/t.py", "python", 1, text)
        middle = document.position_at(document.lines.line_start(1) + len(long) // 2)
        edits = [
            (middle, middle, "a"),
            (middle, Position(1, middle.character + 1), ""),
            (Position(1, 3), Position(1, 3), "漢字"),
            (None, None, "z"),  # right before the line break
            (Position(2, 0), Position(2, 0), "y"),  # right after it
            (middle, middle, newline),  # the line broken in two
            (Position(1, middle.character), Position(2, 0), ""),  # and joined again
        ]
        for version, (at, to, inserted) in enumerate(edits, start=2):
            end_of_line = document.position_at(document.lines.line_end(1))
            start, end = at or end_of_line, to or end_of_line
            before = to_lf(document.text)
            heard.clear()
            store.change("file:///w/t.py", version, [(start, end, inserted)])
            assert heard[-1].lines == line_change(before, to_lf(document.text)), (
                newline, start, end, inserted)
