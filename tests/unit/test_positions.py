from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loomline.context.documents import DocumentStore
from loomline.context.positions import (
    LineIndex,
    Position,
    byte_offset,
    index_to_utf16,
    point,
    utf16_length,
    utf16_to_index,
)


def test_utf16_columns_count_surrogate_pairs():
    line = "a😀b"
    assert utf16_length(line) == 4
    assert utf16_to_index(line, 1) == 1
    assert utf16_to_index(line, 3) == 2  # after the emoji
    assert utf16_to_index(line, 2) == 1  # inside the pair: rounds down
    assert index_to_utf16(line, 2) == 3


def test_line_index_round_trip_and_clamping():
    text = "first\nsé😀cond\r\nthird"
    index = LineIndex(text)
    assert index.line_count == 3
    assert index.line_text(1) == "sé😀cond"
    assert index.offset(Position(1, 4)) == text.index("c")
    assert index.position(text.index("c")) == Position(1, 4)
    assert index.clamp(Position(99, 0)) == Position(2, 5)
    assert index.clamp(Position(0, 99)) == Position(0, 5)
    assert not index.contains(Position(3, 0))
    assert not index.contains(Position(0, 6))
    assert index.contains(Position(0, 5))


def test_bytes_and_points():
    text = "é\nx😀y"
    assert byte_offset(text, 1) == 2
    assert point(text, text.index("y")) == (1, 5)


@given(st.text(alphabet=st.sampled_from("ab\n😀é\t"), max_size=40), st.data())
def test_offset_position_round_trip(text, data):
    index = LineIndex(text)
    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    assert index.offset(index.position(offset)) == offset


def test_document_store_incremental_changes():
    store = DocumentStore()
    doc = store.open("file:///x.py", "python", 1, "a😀b\nxyz")
    store.change("file:///x.py", 2, [(Position(0, 3), Position(1, 1), "Q")])
    assert doc.text == "a😀Qyz"
    store.change("file:///x.py", 3, ["whole"])
    assert doc.text == "whole" and doc.version == 3
    assert store.change("file:///missing.py", 1, ["x"]) is None


def test_edit_reports_byte_coordinates():
    store = DocumentStore()
    doc = store.open("file:///x.py", "python", 1, "é\nab")
    edit = doc.apply_change(Position(1, 1), Position(1, 2), "ZZ")
    assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == (4, 5, 6)
    assert edit.start_point == (1, 1) and edit.new_end_point == (1, 3)


def test_language_is_inferred_for_plaintext():
    store = DocumentStore()
    assert store.open("file:///a/b.rs", "plaintext", 1, "").language_id == "rust"
    assert store.open("file:///a/b.unknown", "", 1, "").language_id == "plaintext"


# ---- line breaks as the LSP defines them ----------------------------------------------------


def test_line_breaks_are_lf_crlf_and_lone_cr_only():
    text = "a\rb\r\nc\nd\fe\u2028f\u0085g\vh"
    index = LineIndex(text)
    assert index.line_count == 4
    assert [index.line_text(n) for n in range(4)] == ["a", "b", "c", "d\fe\u2028f\u0085g\vh"]
    assert index.offset(Position(1, 0)) == 2
    assert index.offset(Position(2, 0)) == 5
    assert index.offset(Position(3, 3)) == text.index("\u2028")
    # An offset inside a CRLF counts as the end of its line.
    assert index.position(text.index("\r\n") + 1) == Position(1, 1)
    assert index.texts() == ["a", "b", "c", "d\fe\u2028f\u0085g\vh"]


def test_a_trailing_break_starts_an_empty_line():
    for text in ("x\r", "x\n", "x\r\n"):
        index = LineIndex(text)
        assert index.line_count == 2
        assert index.line_text(1) == "" and index.offset(Position(1, 0)) == len(text)
        assert index.line_end(0) == 1


def test_columns_past_the_end_of_a_line_mean_its_end():
    index = LineIndex("abc\r\nde")
    assert index.offset(Position(0, 10)) == 3
    assert index.offset(Position(1, 10)) == 7
    assert index.offset(Position(7, 0)) == 7


def test_change_on_the_line_after_a_lone_cr():
    store = DocumentStore()
    doc = store.open("file:///cr.py", "python", 1, "a = 1\rb = 2\nc = 3\n")
    store.change("file:///cr.py", 2, [(Position(1, 4), Position(1, 5), "9")])
    assert doc.text == "a = 1\rb = 9\nc = 3\n"


def test_full_change_replaces_every_character():
    store = DocumentStore()
    doc = store.open("file:///full.py", "python", 1, "x = 1\r")
    store.change("file:///full.py", 2, ["y = 2"])
    assert doc.text == "y = 2"


def test_insert_past_the_end_of_the_line_appends():
    store = DocumentStore()
    doc = store.open("file:///end.py", "python", 1, "abc")
    store.change("file:///end.py", 2, [(Position(0, 10), Position(0, 10), "X")])
    assert doc.text == "abcX"


def test_form_feed_is_not_a_line_break():
    store = DocumentStore()
    doc = store.open("file:///ff.py", "python", 1, "a\fbcdef")
    store.change("file:///ff.py", 2, [(Position(0, 4), Position(0, 4), "X")])
    assert doc.text == "a\fbcXdef"


def test_utf16_helpers_agree_with_a_plain_count():
    for line in ["", "abc", "a😀b", "😀😀", "é\u2028x", "a\ud83db"]:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in line)
        assert utf16_length(line) == units
        assert utf16_to_index(line, units + 5) == len(line)
        for index in range(len(line) + 1):
            assert utf16_to_index(line, index_to_utf16(line, index)) == index
