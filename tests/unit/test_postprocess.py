"""Golden cases: the cursor is marked with █ in the document."""

from __future__ import annotations

import pytest

from loomline.completion.postprocess import CursorInfo, process
from loomline.completion.service import guess_multiline, line_above

STOPS = ("<|endoftext|>", "<|file_sep|>")


def info_for(document: str, multiline: bool | None = None) -> CursorInfo:
    prefix, suffix = document.split("█")
    line_prefix = prefix.rsplit("\n", 1)[-1]
    line_suffix = suffix.split("\n", 1)[0]
    probe = CursorInfo(line_prefix, line_suffix, suffix, False)
    return CursorInfo(
        line_prefix,
        line_suffix,
        suffix,
        guess_multiline(probe) if multiline is None else multiline,
        line_above=line_above(prefix, len(prefix) - len(line_prefix)),
    )


CASES = [
    # (document, raw model output, expected insert text)
    pytest.param(
        "def f(n):\n    █\n\nprint(f(3))\n",
        "return n * 2\n\nprint(f(3))\n",
        "return n * 2",
        id="stops-where-the-suffix-repeats",
    ),
    pytest.param(
        "def f(n):\n    █\n",
        "if n < 2:\n        return n\n    return f(n - 1)\n\ndef g():\n    pass",
        "if n < 2:\n        return n\n    return f(n - 1)",
        id="stops-when-the-code-dedents-out-of-the-block",
    ),
    pytest.param(
        "x = compute(█)\n",
        "a, b)\ny = 2",
        "a, b",
        id="single-line-in-an-expression-drops-the-closer-the-line-has",
    ),
    pytest.param(
        "if name.endswith(█):\n    pass\n",
        "'.py'):\n    pass",
        "'.py'",
        id="single-line-ends-at-the-line-end",
    ),
    pytest.param(
        "def f():\n    █\n",
        "    return 1",
        "return 1",
        id="doubled-indentation-after-a-whitespace-line",
    ),
    pytest.param(
        "def f():\n    █\n",
        "    x = 1\n        y = 2\n        return x + y",
        "x = 1\n    y = 2\n    return x + y",
        id="doubled-indentation-of-a-whole-block",
    ),
    pytest.param(
        "def f():\n  █\n",
        "  return 1",
        "  return 1",
        id="indentation-the-user-is-still-typing-is-kept",
    ),
    pytest.param(
        "class A:\n    def f(self):\n        x = 1\n\n    █\n",
        "    return x\n\n    def g(self):\n        pass",
        "    return x",
        id="completing-the-indentation-of-the-block-above",
    ),
    pytest.param(
        "class A:\n    def f(self):\n        x = 1\n    █\n",
        "        return x",
        "    return x",
        id="deeper-than-the-block-above-is-doubled",
    ),
    pytest.param(
        "def f():\n    █\n",
        "  \n\n   ",
        "",
        id="whitespace-only-is-nothing",
    ),
    pytest.param(
        "def f():\n    █\n",
        "return 1<|endoftext|>garbage",
        "return 1",
        id="cut-at-stop-token",
    ),
    pytest.param(
        "def f():\n    █\n",
        "total = compute(a)\n    total = compute(a)\n    total = compute(a)",
        "total = compute(a)",
        id="repeated-lines-are-cut",
    ),
    pytest.param(
        "def f():\n    █\n\ndef main():\n    f()\n",
        "```\n\nThis function does nothing.",
        "",
        id="a-markdown-fence-is-not-code",
    ),
    pytest.param(
        "def f():\n    █\n",
        "return 1\n```\nExplanation",
        "return 1",
        id="code-ends-at-a-fence",
    ),
    pytest.param(
        "function f() {\n  █\n}\n",
        "return 1;\n}\n\nfunction g() {",
        "return 1;",
        id="brace-language-block-end",
    ),
]


@pytest.mark.parametrize(("document", "raw", "expected"), CASES)
def test_golden(document, raw, expected):
    assert process(raw, info_for(document), STOPS, final=True).text == expected


def test_finished_is_reported_early_so_the_stream_can_stop():
    info = info_for("def f(n):\n    █\n")
    assert not process("if n:\n        return 1\n", info).finished
    assert process("if n:\n        return 1\nprint(", info).finished
    single = info_for("x = █\n")
    assert not process("compute(", single).finished
    assert process("compute()\n", single).finished


@pytest.mark.parametrize(
    ("document", "multiline"),
    [
        ("def f():\n    █\n", True),
        ("def f():█\n", True),
        ("x = foo(█)\n", False),
        ("x = █ + 1\n", False),
        ("if x {█}\n", True),
    ],
)
def test_multiline_guess(document, multiline):
    assert info_for(document).multiline is multiline


def test_line_above_skips_blank_lines_and_stops_at_the_top() -> None:
    text = "def f():\n    x = 1\n\n   \n    y"
    assert line_above(text, text.rindex("\n") + 1) == "    x = 1"
    assert line_above(text, 0) == ""
    assert line_above("\n\nx", 2) == ""
