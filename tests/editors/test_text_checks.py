"""Golden cases for the checks the real-editor tests make of saved text (fast, no editor): each
passes a well-formed file and fails the faults it is there to catch."""

from __future__ import annotations

import pytest

from tests.editors.editing_scenarios import (
    CALL,
    CRLF,
    DEF,
    TABS,
    Scenario,
    check_brackets,
    check_crlf,
    check_tabs,
)
from tests.editors.text_checks import bracket_faults, indentation_faults, line_break_faults


def test_balanced_lines_have_no_bracket_faults():
    assert bracket_faults("    return math.pi * math.pow(radius, 2)") == []
    assert bracket_faults("def greet(name: str) -> dict[str, int]:") == []
    assert bracket_faults("print(')', \"(\")  # a ( in a comment") == []


def test_a_doubled_closer_is_a_fault():
    assert bracket_faults("def foo(bar: str):)") == ["')' at column 18 closes nothing"]
    assert bracket_faults("    return math.pow(radius, 2))") == ["')' at column 30 closes nothing"]
    assert bracket_faults("nums.map(num => num * 2);)") == ["')' at column 25 closes nothing"]


def test_a_mismatched_or_unclosed_bracket_is_a_fault():
    assert bracket_faults("xs = [1, 2)") == ["')' at column 10 closes '[' of column 5"]
    assert bracket_faults("f(a, [b") == [
        "'(' at column 1 is not closed",
        "'[' at column 5 is not closed",
    ]


def test_tab_indentation():
    assert indentation_faults("def f(x):\n\tif x:\n\t\treturn 1\n\n\treturn 0\n", "\t") == []
    assert indentation_faults("def f(x):\n\tif x:\n\t\ty = 1\n        return y\n", "\t") == [
        "line 3: indented with '        ': '        return y'"
    ]
    assert indentation_faults("def f(x):\n\t    return x\n", "\t") == [
        "line 1: indented with '\\t    ': '\\t    return x'"
    ]


def test_space_indentation():
    assert indentation_faults("def f(x):\n    return x\n", "    ") == []
    assert indentation_faults("def f(x):\n\treturn x\n  pass\n", "    ") == [
        "line 1: indented with '\\t': '\\treturn x'",
        "line 2: indented with '  ': '  pass'",
    ]


def test_line_breaks_all_crlf():
    assert line_break_faults(b"a = 1\r\nb = 2\r\n") == []
    assert line_break_faults(b"no break at all") == []
    assert line_break_faults(b"a = 1\r\nb = 2\nc = 3\r\n") == [
        "line 1: a lone \\n in b'b = 2\\nc = 3'"
    ]
    assert line_break_faults(b"a = 1\r\r\nb = 2\r\n") == ["line 0: a lone \\r in b'a = 1\\r'"]
    assert line_break_faults(b"a = 1\rb = 2") == ["line 0: a lone \\r in b'a = 1\\rb = 2'"]


def _saved(scenario: Scenario, line: str) -> bytes:
    """The scenario's file with the cursor's line replaced by ``line``."""
    lines = scenario.source.splitlines(keepends=True)
    ending = lines[scenario.line][len(lines[scenario.line].rstrip("\r\n")) :]
    lines[scenario.line] = line + ending
    return "".join(lines).encode()


def test_bracket_scenarios_pass_a_balanced_answer_and_fail_a_doubled_closer():
    check_brackets(CALL, _saved(CALL, "    return math.pi * math.pow(radius, 2)"))
    check_brackets(DEF, _saved(DEF, "def greet(name: str):"))
    check_brackets(DEF, _saved(DEF, "def greet(name)"))  # the ":" is the user's to type
    with pytest.raises(AssertionError, match="closes nothing"):
        check_brackets(CALL, _saved(CALL, "    return math.pi * math.pow(radius, 2))"))
    with pytest.raises(AssertionError, match="closes nothing"):
        check_brackets(DEF, _saved(DEF, "def greet(name: str):)"))
    with pytest.raises(AssertionError, match="nothing was inserted"):
        check_brackets(CALL, CALL.source.encode())


def test_the_untyped_source_lacks_the_auto_closed_pair():
    assert "    return math.pi * math.pow\n" in CALL.untyped_source
    assert DEF.untyped_source.startswith("def greet\n")
    assert CALL.character == len("    return math.pi * math.pow(")


def test_tab_scenario_fails_space_indentation_and_tab_errors():
    body = "for line in f:\n\t\t\tcounts[line] = counts.get(line, 0) + 1"
    check_tabs(TABS, _saved(TABS, "\t\t" + body))
    with pytest.raises(AssertionError, match="indented with"):
        check_tabs(TABS, _saved(TABS, "\t\tfor line in f:\n            counts[line] = 1"))
    with pytest.raises(AssertionError, match="nothing was inserted"):
        check_tabs(TABS, TABS.source.encode())


def test_crlf_scenario_fails_lone_line_feeds_and_doubled_returns():
    body = "    for char in text.lower():\r\n        if char in 'aeiou':\r\n            count += 1"
    check_crlf(CRLF, _saved(CRLF, body))
    with pytest.raises(AssertionError, match="lone"):
        check_crlf(CRLF, _saved(CRLF, body.replace("\r\n", "\n")))
    with pytest.raises(AssertionError, match="lone"):
        check_crlf(CRLF, _saved(CRLF, body.replace("\r\n", "\r\r\n")))
    with pytest.raises(AssertionError, match="no line was added"):
        check_crlf(CRLF, _saved(CRLF, "    count = len(text)"))
