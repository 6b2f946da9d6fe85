"""The streamed answer's clean-up: the same output as cleaning everything on every chunk, and
a work per received character that does not grow with the answer (counted, not timed)."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean, clean_partial
from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.streaming import (
    MAX_CONSIDERED_LINES,
    REGROWTH,
    SMALL_ANSWER_CHARS,
    StreamingCleanup,
)
from loomline.completion.cursor import Cursor
from tests.unit.cleanup.marks import cursor_for

BLOCK = cursor_for("def f(x):\n    █\n", "python", multiline=True)
LINE = cursor_for("total = █\nprint(total)\n", "python", multiline=False)
STOPS = ("<|endoftext|>", "<|file_sep|>")

ANSWERS = [
    (BLOCK, "if x:\n        return 1\n    return 2\nprint(f(3))\n"),
    (BLOCK, "    y = x + 1\n    return y\n<|endoftext|>junk"),
    (BLOCK, "y = 1\n```\nmore"),
    (BLOCK, "a = 1\nb = 2\na = 1\nb = 2\n"),
    (LINE, "x + 1\nprint(x)"),
    (LINE, "compute(x) <|file_sep|> other file"),
    (LINE, "   "),
]


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize(("cursor", "raw"), ANSWERS)
def test_a_short_answer_is_cleaned_on_every_chunk_as_before(
    cursor: Cursor, raw: str, size: int
) -> None:
    cleanup = StreamingCleanup(cursor, STOPS)
    so_far = ""
    for piece in _chunks(raw, size):
        so_far += piece
        assert cleanup.feed(piece) == clean_partial(so_far, cursor, STOPS)
    assert cleanup.raw == raw
    assert cleanup.final() == clean(raw, cursor, STOPS)


def test_whole_lines_drop_an_unfinished_last_line() -> None:
    block = StreamingCleanup(BLOCK)
    block.feed("y = x + 1\n    ret")
    assert block.final(whole_lines=True) == "y = x + 1"
    assert block.final(whole_lines=True, limit=5) == ""
    line = StreamingCleanup(LINE)
    line.feed("x + ")
    # Half a line is withheld: `x +` (or `pow(radius,`) is worse than no answer.
    assert line.final(whole_lines=True) == ""
    assert line.final() == "x +"


class CountingCleaner:
    """``clean_partial`` that counts its calls and the characters it was handed."""

    def __init__(self) -> None:
        self.calls = 0
        self.chars = 0

    def __call__(self, raw: str, cursor: Cursor, stops: tuple[str, ...]) -> Answer:
        self.calls += 1
        self.chars += len(raw)
        return clean_partial(raw, cursor, stops)


MEGABYTE = 1 << 20


@pytest.mark.parametrize(
    ("cursor", "unit"),
    [(LINE, "abcdefgh" * 2), (BLOCK, "\n" * 16), (BLOCK, "        z = 1  # " * 4)],
    ids=["one-long-line", "blank-lines", "deep-lines"],
)
def test_a_megabyte_answer_costs_a_bounded_work_per_character(cursor: Cursor, unit: str) -> None:
    """1 MiB in 16-character chunks: the old way handed ~32 GiB to the cleaner (every chunk
    cleaned the whole text so far); now each character is scanned a bounded number of times."""
    counter = CountingCleaner()
    cleanup = StreamingCleanup(cursor, STOPS, cleaner=counter)
    finished = False
    while cleanup.length < MEGABYTE and not finished:
        answer = cleanup.feed(unit)
        finished = answer is not None and answer.finished
    received = cleanup.length
    small_chunks = SMALL_ANSWER_CHARS // len(unit)
    # Every chunk of a short answer, then a run per growth by 1/REGROWTH: linear in all.
    assert counter.chars <= small_chunks * SMALL_ANSWER_CHARS + (REGROWTH + 2) * received
    assert counter.calls <= small_chunks + 80
    assert counter.chars == cleanup.chars_cleaned
    if not finished:
        assert received >= MEGABYTE  # the whole megabyte went through


def test_a_stop_string_split_across_chunks_of_a_long_answer_is_seen_at_once() -> None:
    counter = CountingCleaner()
    cleanup = StreamingCleanup(LINE, STOPS, cleaner=counter)
    for _ in range(SMALL_ANSWER_CHARS):  # past the short-answer phase
        cleanup.feed("ab")
    calls = counter.calls
    assert cleanup.feed("<|endof") is None or counter.calls == calls + 1
    answer = cleanup.feed("text|> more")
    assert answer is not None and answer.finished
    assert cleanup.final() == "ab" * SMALL_ANSWER_CHARS


def test_the_end_of_a_long_single_line_is_seen_at_once() -> None:
    cleanup = StreamingCleanup(LINE)
    for _ in range(SMALL_ANSWER_CHARS):
        cleanup.feed("cd")
    answer = cleanup.feed("e\nnext line")
    assert answer is not None and answer.finished and answer.text.endswith("cde")


def test_lines_past_the_cap_end_the_answer_where_they_start() -> None:
    cleanup = StreamingCleanup(BLOCK)
    assert cleanup.feed("y = 1\n") == clean_partial("y = 1\n", BLOCK)
    answer = cleanup.feed("\n" * 1000 + "z = 2")
    assert answer is not None and answer.finished
    assert cleanup.raw == "y = 1" + "\n" * (MAX_CONSIDERED_LINES - 1)
    assert cleanup.final() == "y = 1"
    assert cleanup.feed("more") is None  # nothing more is read
