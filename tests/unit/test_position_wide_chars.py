"""Columns on lines with characters outside the BMP, through edits: the line index keeps where
those characters are (a binary search per conversion instead of a scan of the line), and its
answers stay those of the plain per-line conversions, whatever was edited before."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.documents import Document, Edit
from loomline.context.positions import (
    LineIndex,
    Position,
    byte_offset,
    point,
    utf16_length,
    utf16_to_index,
)

ALPHABET = "ab \n\r\té中😀🎉\ud800"
texts = st.text(alphabet=ALPHABET, max_size=40)


def _check(index: LineIndex, text: str) -> None:
    for number, line in enumerate(LineIndex(text).texts()):
        units = utf16_length(line)
        start = index.offset(Position(number, 0))
        for column in range(units + 3):
            position = Position(number, column)
            assert index.offset(position) == start + utf16_to_index(line, column)
            assert index.contains(position) == (column <= units)
            assert index.clamp(position) == Position(number, min(column, units))
        for at in range(len(line) + 1):
            assert index.position(start + at) == Position(number, utf16_length(line[:at]))


@settings(max_examples=300, deadline=None)
@given(text=texts, edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8), texts),
                                  max_size=6))
def test_the_index_converts_as_the_plain_functions_through_edits(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    index = LineIndex(text)
    index.offset(Position(0, 1))  # the wide characters are worked out before the edits
    for at, size, inserted in edits:
        start = min(at, len(text))
        end = min(start + size, len(text))
        text = text[:start] + inserted + text[end:]
        index = index.edited(start, end, inserted, text)
        _check(index, text)


def test_a_column_after_an_emoji_on_a_long_line() -> None:
    line = "x = '😀' + " + "a" * 100_000
    index = LineIndex(line + "\nnext")
    assert index.offset(Position(0, 50_000)) == 49_999
    assert index.position(49_999) == Position(0, 50_000)
    assert index.offset(Position(0, 5)) == 5 and index.offset(Position(0, 6)) == 5  # the pair
    edited_text = "😀" + line + "\nnext"
    edited = index.edited(0, 0, "😀", edited_text)
    assert edited.offset(Position(0, 50_002)) == 49_999 + 1
    assert edited.position(len(line) + 2) == Position(1, 0)


@settings(max_examples=300, deadline=None)
@given(text=texts, edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8), texts),
                                  min_size=1, max_size=5))
def test_an_edits_tree_sitter_coordinates_are_the_plain_ones(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    """The rows and byte columns an edit reports (read from the line index, without counting
    the text's breaks) are those counted on the whole text, in LF, CRLF and lone-CR text;
    also when read after later edits (as a listener reads a change of several edits)."""
    document = Document(uri="file:///w/a.py", language_id="python", version=1, text=text)
    applied: list[tuple[Edit, tuple[int, ...], tuple[tuple[int, int], ...]]] = []
    for at, size, inserted in edits:
        old = document.text
        start = document.position_at(min(at, len(old)))
        end = document.position_at(min(at + size, len(old)))
        start_index, end_index = document.offset_at(start), document.offset_at(end)
        end_index = max(start_index, end_index)
        edit = document.apply_change(start, end, inserted)
        new_end = start_index + len(inserted)
        applied.append((edit, (byte_offset(old, start_index), byte_offset(old, end_index),
                               byte_offset(document.text, new_end)),
                        (point(old, start_index), point(old, end_index),
                         point(document.text, new_end))))
    for edit, offsets, points in applied:
        assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == offsets
        assert (edit.start_point, edit.old_end_point, edit.new_end_point) == points
