"""Golden cases of the whole clean-up: the cursor is marked with █ in the document."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean, clean_partial, refine
from loomline.context.analysis import line_above
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.cleanup.marks import cursor_for

STOPS = ("<|endoftext|>", "<|file_sep|>")


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
    """The text filters alone (without a language the syntax filters have nothing to add)."""
    cursor = cursor_for(document)
    assert clean_partial(raw, cursor, STOPS, final=True).text == expected
    assert clean(raw, cursor, STOPS) == expected


def test_finished_is_reported_early_so_the_stream_can_stop():
    info = cursor_for("def f(n):\n    █\n")
    assert not clean_partial("if n:\n        return 1\n", info).finished
    assert clean_partial("if n:\n        return 1\nprint(", info).finished
    single = cursor_for("x = █\n")
    assert not clean_partial("compute(", single).finished
    assert clean_partial("compute()\n", single).finished


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
@pytest.mark.parametrize("with_tree", [True, False])
def test_multiline_guess(document, multiline, with_tree):
    """One rule for the cursor of every request, from the syntax tree or from the text."""
    assert cursor_for(document, "python", with_tree=with_tree).multiline is multiline


def test_line_above_skips_blank_lines_and_stops_at_the_top() -> None:
    text = "def f():\n    x = 1\n\n   \n    y"
    assert line_above(text, text.rindex("\n") + 1) == "    x = 1"
    assert line_above(text, 0) == ""
    assert line_above("\n\nx", 2) == ""


INDENT_CASES = [
    # (document, raw model output, expected insert text): the file's own indent unit counts
    pytest.param(
        "def f():\n  if x:\n    █\n", "  return 1", "return 1",
        id="two-space-file-doubled-indent",
    ),
    pytest.param(
        "def f():\n  if x:\n    █\n", "  y = 1\n      return y", "y = 1\n    return y",
        id="two-space-file-doubled-indent-of-a-block",
    ),
    pytest.param(
        "def f():\n  if x:\n  █\n", "  return 1", "  return 1",
        id="two-space-file-indentation-still-being-typed",
    ),
    pytest.param(
        "def f():\n\tif x:\n\t\t█\n", "\treturn 1", "return 1",
        id="tab-file-doubled-indent",
    ),
    pytest.param(
        "def f():\n\tif x:\n\t\t█\n", "\ty = 1\n\t\t\treturn y", "y = 1\n\t\treturn y",
        id="tab-file-doubled-indent-of-a-block",
    ),
    pytest.param(
        "def f():\n\tif x:\n\t█\n", "\treturn 1", "\treturn 1",
        id="tab-file-indentation-still-being-typed",
    ),
    pytest.param(
        "def f(g):\n  if g:\n    if g > 3:\n      g = 1\n    elif g > 2:\n    █\n    return g\n",
        "    g = 2\n    elif g > 1:\n      g = 3", "  g = 2",
        id="two-space-file-one-unit-short-and-two-more",
    ),
]


@pytest.mark.parametrize("language_id", ["python", None])
@pytest.mark.parametrize(("document", "raw", "expected"), INDENT_CASES)
def test_indent_unit_of_the_file(document, raw, expected, language_id):
    cursor = cursor_for(document, language_id)
    assert clean(raw, cursor, STOPS) == expected


@pytest.mark.parametrize(
    ("language_id", "marked", "candidate", "expected"),
    [
        pytest.param(
            "python", "def add(a, b):\n    █\n\n\ndef sub(a, b):\n    return a - b\n",
            "return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n",
            "return a + b", id="python-runs-into-next-function",
        ),
        pytest.param(
            "typescript", "function f(a: number) {\n  █\n}\n",
            "const b = a * 2;\n  return b;\n}\n\nfunction g() {\n  return 1;\n}\n",
            "const b = a * 2;\n  return b;", id="ts-runs-past-block",
        ),
        pytest.param(
            "python", "print(█)\n", "'a', 'b')\nprint('a', 'b')\nprint('a', 'b')",
            "'a', 'b'", id="single-line-repeats-suffix-closer",
        ),
        pytest.param(
            "go", "func f() {\n\t█\n}\n", "log()\n\tlog()\n\tlog()\n\tlog()\n\tlog()",
            "log()", id="degenerate-repetition",
        ),
    ],
)
def test_syntax_filters(language_id: str, marked: str, candidate: str, expected: str) -> None:
    """The syntax filters in the order the pipeline applies them."""
    cursor = cursor_for(marked, language_id)
    text = refine(candidate, cursor)
    assert text == expected
    assert not adds_parse_errors(language_id, cursor.before, text, cursor.after)
