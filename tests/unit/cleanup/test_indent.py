"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.indent import (
    deepest_plausible_indent,
    fix_doubled_indent,
    indent_width,
)
from tests.unit.cleanup.marks import cursor_for


@pytest.mark.parametrize(
    ("line", "width"),
    [("", 0), ("x", 0), ("    x", 4), ("\tx", 4), ("\t\tx", 8), ("  \tx", 4), ("\t  x", 6),
     ("   ", 3)],
)
def test_indent_width_counts_tabs_to_the_next_stop(line: str, width: int) -> None:
    assert indent_width(line) == width


@pytest.mark.parametrize(
    ("marked", "deepest"),
    [
        pytest.param("def f():\n  if x:\n    █\n", 4, id="two-space-unit"),
        pytest.param("def f():\n\tif x:\n\t\t█\n", 8, id="tab-unit"),
        pytest.param("def f():\n    x = 1\n    █\n", 4, id="same-as-above"),
        pytest.param("def f():\n    █\n        y = 2\n", 8, id="next-line-deeper"),
    ],
)
def test_deepest_plausible_indent(marked: str, deepest: int) -> None:
    assert deepest_plausible_indent(cursor_for(marked, "python")) == deepest


FIX_CASES = [
    # (document, language, model output, expected text)
    pytest.param("def f():\n    █\n", "python", "    return 1", "return 1", id="doubled"),
    pytest.param("def f():\n  if x:\n    █\n", "python", "  return 1", "return 1",
                 id="doubled-two-space-unit"),
    pytest.param("def f():\n\tif x:\n\t\t█\n", "python", "\treturn 1", "return 1",
                 id="doubled-tab-unit"),
    pytest.param("def f():\n  █\n", "python", "  return 1", "  return 1",
                 id="completes-what-the-user-types"),
    pytest.param("def f():\n    █\n", "python", "    x = 1\n        y = 2",
                 "x = 1\n    y = 2", id="shifted-block"),
    pytest.param("x = █\n", "python", "  1", "  1", id="not-after-a-blank-prefix"),
    # The cursor's line is one unit short of the block's body and the model indented two
    # units more: one of them completes the body's indentation (dropping both left the line
    # at the `elif`'s level, which Python rejects, so the answer was lost).
    pytest.param("def f(g):\n  if g:\n    if g > 3:\n      g = 1\n    elif g > 2:\n    █\n",
                 "python", "    g = 2", "  g = 2", id="partial-prefix-two-space-unit"),
    pytest.param("def f(g):\n    if g:\n        if g > 3:\n            g = 1\n        elif g > 2:\n"
                 "        █\n", "python", "        g = 2", "    g = 2",
                 id="partial-prefix-four-space-unit"),
    pytest.param("def f(g):\n\tif g:\n\t\tif g > 3:\n\t\t\tg = 1\n\t\telif g > 2:\n\t\t█\n",
                 "python", "\t\tg = 2", "\tg = 2", id="partial-prefix-tab-unit"),
    pytest.param("function g() {\n  return 1;\n}\nif (a) {\n  █\n}\n", "javascript", "  b();",
                 "b();", id="braces-two-space-unit"),
    pytest.param("if (a) {\n  █\n}\n", "javascript", "  b();", "  b();",
                 id="braces-unit-unknown-so-four-spaces-may-be-meant"),
    # The user's own indentation is already deeper than any block allows (a stray tab at
    # the top level): the model's extra indentation all goes, nothing raises.
    pytest.param("\t█", "python", "\ta", "a", id="prefix-deeper-than-any-block"),
    pytest.param("  █", None, "\ta", "a", id="prefix-deeper-than-any-block-no-language"),
]


@pytest.mark.parametrize(("marked", "language_id", "raw", "expected"), FIX_CASES)
def test_fix_doubled_indent(marked: str, language_id: str, raw: str, expected: str) -> None:
    fixed = fix_doubled_indent(Answer(raw, False), cursor_for(marked, language_id))
    assert fixed == Answer(expected, False)
