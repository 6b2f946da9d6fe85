"""Stop strings and fences: where the model's text stops being the answer."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.stops import StopHoldback, cut_at_fence, cut_at_stops
from tests.unit.cleanup.marks import cursor_for


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [
        ("return 1<|endoftext|>x", ("<|endoftext|>",), ("return 1", True)),
        ("a<b>c<a>", ("<a>", "<b>"), ("a", True)),  # the first one in the text wins
        ("return 1", ("<|endoftext|>",), ("return 1", False)),
        ("return 1", ("",), ("return 1", False)),  # an empty stop string is none
        ("", (), ("", False)),
    ],
)
def test_cut_at_stops(text: str, stops: tuple[str, ...], expected: tuple[str, bool]) -> None:
    assert cut_at_stops(text, stops) == expected


def test_a_stop_string_split_across_chunks_is_held_back_then_cut() -> None:
    holdback = StopHoldback(("<|end|>",))
    assert holdback.feed("x = 1<|e") == ("x = 1", False)
    assert holdback.feed("nd|>rest") == ("", True)
    other = StopHoldback(("<|end|>",))
    assert other.feed("a <") == ("a ", False)
    assert other.feed("b") == ("<b", False)  # not a stop after all: shown late
    assert other.feed("<|") == ("", False)
    assert other.flush() == "<|"
    assert StopHoldback(()).feed("<|") == ("<|", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("return 1\n```\nExplanation", Answer("return 1", True)),
        ("```python\nx", Answer("", True)),
        ("return 1\n", Answer("return 1\n", False)),
    ],
)
def test_cut_at_fence(raw: str, expected: Answer) -> None:
    assert cut_at_fence(Answer(raw, False), cursor_for("def f():\n    █\n")) == expected
