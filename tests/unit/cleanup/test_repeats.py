"""Repetition filters."""

from __future__ import annotations

from loomline.completion.cleanup.repeats import drop_repeated_lines


def test_drop_repeated_lines() -> None:
    assert drop_repeated_lines("x = 1\nlog()\nlog()\nlog()\nlog()") == "x = 1\nlog()"
    block = "a = f(1)\nb = g(a)\n"
    assert drop_repeated_lines("start()\n" + block * 3 + "a = f") == "start()\n" + block.rstrip()
    closers = "    }\n  }\n}\n}\n}"
    assert drop_repeated_lines(closers) == closers
    assert drop_repeated_lines("x()\nx()\ny()") == "x()\nx()\ny()"
    assert drop_repeated_lines("") == ""
