"""Repetition filters."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.repeats import cut_second_copy, drop_repeated_lines
from tests.unit.cleanup.marks import cursor_for


def test_drop_repeated_lines() -> None:
    assert drop_repeated_lines("x = 1\nlog()\nlog()\nlog()\nlog()") == "x = 1\nlog()"
    block = "a = f(1)\nb = g(a)\n"
    assert drop_repeated_lines("start()\n" + block * 3 + "a = f") == "start()\n" + block.rstrip()
    closers = "    }\n  }\n}\n}\n}"
    assert drop_repeated_lines(closers) == closers
    assert drop_repeated_lines("x()\nx()\ny()") == "x()\nx()\ny()"
    assert drop_repeated_lines("") == ""


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        pytest.param("def f():\n    █\n", "x = g(1)\n    x = g(1)\n    y", "x = g(1)",
                     id="a-line-written-twice"),
        pytest.param("def f():\n    █\n", "a = f(1)\n    b = f(2)\n    a = f(1)\n    b = f(2)",
                     "a = f(1)\n    b = f(2)", id="a-block-written-twice"),
        pytest.param("def f():\n    x = 1\n    █\n", "    x = 1\n    z = 2", "    x = 1\n    z = 2",
                     id="the-first-line-counts-with-the-line-prefix"),
        pytest.param("def f():\n    █\n", "}\n    }\n    }", "}\n    }\n    }",
                     id="short-lines-are-no-repetition"),
    ],
)
def test_cut_second_copy(marked: str, raw: str, expected: str) -> None:
    answer = cut_second_copy(Answer(raw, False), cursor_for(marked, "python"))
    assert answer == Answer(expected, False)
