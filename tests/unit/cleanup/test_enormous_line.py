"""The clean-up of an answer on (or next to) a 400,000-character line: no step hands the
parser, the lexer or a per-character loop the whole line, so the work of a request does not
grow with the line (it held the event loop for over a second per request). Structural: the
inputs' sizes are recorded, no clock is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import loomline.completion.cleanup.closers as closers
import loomline.completion.cleanup.rest_of_line as rest_of_line
import loomline.completion.cleanup.suffix_overlap as suffix_overlap
import loomline.context.parse_errors as parse_errors
from loomline.completion.cleanup import clean
from tests.unit.cleanup.marks import cursor_for

# Far less than the line: what the windows around the cursor may read.
LIMIT = 100_000
ITEMS = 136_000


class _SizeLog:
    """The longest text each spied function was given."""

    def __init__(self) -> None:
        self.longest: dict[str, int] = {}

    def note(self, name: str, text: str | bytes) -> None:
        self.longest[name] = max(self.longest.get(name, 0), len(text))

    def spy(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def spied(text: Any, *args: Any, **kwargs: Any) -> Any:
            self.note(name, text)
            return function(text, *args, **kwargs)
        return spied


class _SpyParser:
    def __init__(self, parser: Any, log: _SizeLog) -> None:
        self.parser, self.log = parser, log

    def parse(self, source: bytes, *args: Any) -> Any:
        self.log.note("tree-sitter parse", source)
        return self.parser.parse(source, *args)


@pytest.fixture
def sizes(monkeypatch: pytest.MonkeyPatch) -> _SizeLog:
    log = _SizeLog()
    shared = parse_errors.shared_parser
    monkeypatch.setattr(parse_errors, "shared_parser",
                        lambda key: None if (p := shared(key)) is None else _SpyParser(p, log))
    monkeypatch.setattr(parse_errors, "parse", log.spy("parse", parse_errors.parse))
    for module in (closers, rest_of_line):
        for name in ("tokens", "state_at_end", "open_brackets"):
            monkeypatch.setattr(module, name, log.spy(name, getattr(module, name)))
    monkeypatch.setattr(suffix_overlap, "_without_blanks",
                        log.spy("_without_blanks", suffix_overlap._without_blanks))
    return log


def _long_line(language_id: str) -> str:
    items = ", ".join(["1"] * ITEMS)
    if language_id == "python":
        return f"x = [{items}"
    return f"const x = [{items}"


@pytest.mark.parametrize("language_id", ["python", "javascript", "go", "rust"])
@pytest.mark.parametrize("where", ["end of the line", "line above"])
@pytest.mark.parametrize("raw", ["1", "1, 2]\ny = 3", ", 2, 3])"])
def test_clean_up_reads_a_window_of_an_enormous_line(
    sizes: _SizeLog, language_id: str, where: str, raw: str
):
    line = _long_line(language_id)
    marked = f"{line}█\n" if where == "end of the line" else f"y = █\n{line}\n"
    cursor = cursor_for(marked, language_id, with_tree=False)
    answer = clean(raw, cursor)
    assert answer.startswith(raw.split("\n")[0].rstrip("])")[:1])
    too_long = {name: size for name, size in sizes.longest.items() if size > LIMIT}
    assert not too_long, f"whole-line work in the clean-up: {too_long}"


def test_a_normal_file_is_still_parse_checked_and_lexed(sizes: _SizeLog):
    """(And the spies above watch the clean-up's real calls.)"""
    cursor = cursor_for("def f(n):\n    █\n\nprint(f(3))\n", "python")
    assert clean("return (n * 2\n", cursor) == ""  # breaks the parse: withheld
    assert sizes.longest.get("tree-sitter parse", 0) > 0
    cursor = cursor_for("x = compute(█)\n", "python")
    assert clean("a, b)", cursor) == "a, b"
    assert {"tokens", "state_at_end", "_without_blanks"} <= set(sizes.longest)
