"""server/convert.py: lsprotocol values <-> Loomline's plain ones."""

from __future__ import annotations

import pytest
from lsprotocol import types

from loomline.context.positions import Position
from loomline.server import convert


def test_positions_convert_both_ways():
    assert convert.position(types.Position(line=3, character=7)) == Position(3, 7)
    assert convert.lsp_position(Position(3, 7)) == types.Position(line=3, character=7)
    assert convert.position(convert.lsp_position(Position(0, 0))) == Position(0, 0)


def test_content_changes_keep_ranges_and_whole_texts_in_order():
    changes = [
        types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(0, 7), end=types.Position(1, 2)), text="x"
        ),
        types.TextDocumentContentChangeWholeDocument(text="all new\n"),
        types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(2, 0), end=types.Position(2, 0)), text=""
        ),
    ]
    assert convert.content_changes(changes) == [
        (Position(0, 7), Position(1, 2), "x"),
        "all new\n",
        (Position(2, 0), Position(2, 0), ""),
    ]
    assert convert.content_changes([]) == []


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("return 42", 60, "return 42"),
        ("\n\n   total = a + b  \n    return total", 60, "total = a + b"),
        ("abcdefghij", 10, "abcdefghij"),  # exactly the limit: kept whole
        ("abcdefghijk", 10, "abcdefghi…"),  # one over: cut, the ellipsis counted in
        ("", 60, ""),
        ("   \n  ", 60, ""),
    ],
)
def test_first_line(text: str, limit: int, expected: str):
    assert convert.first_line(text, limit) == expected
    assert len(convert.first_line(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ("$x", "\\$x"),
        ("{'a': 1}", "{'a': 1\\}"),
        ("a\\b", "a\\\\b"),
        ("${1:x}\\", "\\${1:x\\}\\\\"),  # the backslash first, so escapes are not doubled
    ],
)
def test_snippet_escape(text: str, escaped: str):
    assert convert.snippet_escape(text) == escaped
