"""The cursor model: one analysis of a position, read by the prompt, the wait and the clean-up."""

from __future__ import annotations

import pytest

from loomline.completion.cursor import cursor_at, skip_reason
from loomline.context.analysis import line_above
from tests.unit.cleanup.marks import cursor_for


def test_line_above_skips_blank_lines_and_stops_at_the_top() -> None:
    text = "def f():\n    x = 1\n\n   \n    y"
    assert line_above(text, text.rindex("\n") + 1) == "    x = 1"
    assert line_above(text, 0) == ""
    assert line_above("\n\nx", 2) == ""
    assert line_above("a\r\n\r\nb", 6) == "a"


@pytest.mark.parametrize(
    ("marked", "unit"),
    [
        ("def f():\n  if x:\n    █\n", "  "),
        ("def f():\n\tif x:\n\t\t█\n", "\t"),
        ("def f():\n    x = 1\n    █\n", "    "),
        ("x = █\n", "    "),  # nothing indented yet: four spaces
    ],
)
@pytest.mark.parametrize("with_tree", [True, False])
def test_indent_unit_is_the_files_own(marked: str, unit: str, with_tree: bool) -> None:
    assert cursor_for(marked, "python", with_tree=with_tree).indent_unit == unit


def test_the_text_on_both_sides_and_the_lines_around() -> None:
    cursor = cursor_for("def f(x):\n    y = 1\n\n    return █x + 1\n\n    z\n", "python")
    assert cursor.before.endswith("return ") and cursor.after.startswith("x + 1\n")
    assert (cursor.line_prefix, cursor.line_suffix) == ("    return ", "x + 1")
    assert cursor.line_above == "    y = 1"
    assert cursor.next_code_line() == "    z"
    assert not cursor.multiline


@pytest.mark.parametrize(("mode", "multiline"), [("auto", True), ("always", True),
                                                 ("never", False)])
def test_the_setting_overrules_the_analysis(mode: str, multiline: bool) -> None:
    text = "def f():\n    \n"
    assert cursor_at(text, 13, "python", mode=mode).multiline is multiline
    assert cursor_at("x = f()\n", 6, "python", mode=mode).multiline is (mode == "always")


def test_offsets_outside_the_text_are_clamped() -> None:
    assert cursor_at("abc", 10, None).before == "abc"
    assert cursor_at("abc", -1, None).after == "abc"


@pytest.mark.parametrize(
    ("marked", "comments", "strings", "reason"),
    [
        ("x = 'ab█c'\n", True, False, "string"),
        ("x = 'ab█c'\n", True, True, None),
        ("x = 1  # no█te\n", False, True, "comment"),
        ("x = 1  # no█te\n", True, False, None),
        ("x = █\n", False, False, None),
    ],
)
def test_skip_reason(marked: str, comments: bool, strings: bool, reason: str | None) -> None:
    found = skip_reason(cursor_for(marked, "python"), comments, strings)
    assert (found is None) if reason is None else (found is not None and reason in found)
