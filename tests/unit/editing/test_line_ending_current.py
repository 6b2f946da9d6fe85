r"""A document's line ending stays current as it is edited: judged again whenever an edit
brings or removes a break (or joins or parts a CR and an LF), so answers are written with the
breaks the document has now (a document opened without a break, then given ``\r\n``, writes
``\r\n``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.context.text_style import line_ending_of
from tests.text_model import ReferenceText, changes, texts

URI = "untitled:Untitled-1"


def _store(text: str) -> DocumentStore:
    store = DocumentStore()
    store.open(URI, "python", 1, text)
    return store


# (opened with, changes as (start, end, text), the line ending after)
CASES = [
    pytest.param("x = 1", [((0, 5), (0, 5), "\r\ny = 2")], "\r\n", id="first-break-crlf"),
    pytest.param("x = 1", [((0, 5), (0, 5), "\r"), ((1, 0), (1, 0), "\ny = 2")], "\r\n",
                 id="cr-then-lf-joined"),
    pytest.param("x = 1", [((0, 5), (0, 5), "\n"), ((0, 5), (0, 5), "\r")], "\r\n",
                 id="lf-then-cr-before-it"),
    pytest.param("a\nb\n", [((0, 0), (2, 0), "a\r\nb\r\n")], "\r\n", id="whole-range-crlf"),
    pytest.param("a\r\nb\r\n", [((0, 0), (2, 0), "a\nb\n")], "\n", id="whole-range-lf"),
    pytest.param("a\r\nb", [((0, 1), (1, 0), "")], "\n", id="break-removed"),
    pytest.param("a\r\nb", [((0, 1), (0, 1), "x")], "\r\n", id="word-typed"),
    pytest.param("a\rb\rc\r", [((0, 0), (3, 0), "a\r\nb\r\nc\r\n")], "\r\n",
                 id="cr-file-made-crlf"),
    pytest.param("a\r\nb\r\n", [((0, 0), (2, 0), "a\rb\rc\r")], "\r", id="crlf-made-cr"),
    pytest.param("", [((0, 0), (0, 0), "x\r\n"), ((1, 0), (1, 0), "y\r\n")], "\r\n",
                 id="empty-then-typed"),
]


@pytest.mark.parametrize(("opened", "edits", "ending"), CASES)
def test_the_line_ending_follows_the_edits(
    opened: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]], ending: str
) -> None:
    store = _store(opened)
    for version, (start, end, text) in enumerate(edits, start=2):
        store.change(URI, version, [(Position(*start), Position(*end), text)])
    document = store.get(URI)
    assert document is not None
    assert document.line_ending == ending


@settings(max_examples=200, deadline=None)
@given(st.data(), texts())
def test_the_line_ending_is_always_the_texts(data: st.DataObject, opened: str) -> None:
    """After any edits, the line ending is what judging the whole text afresh says (a tie
    keeps the ending the document had)."""
    store = _store(opened)
    reference = ReferenceText(opened)
    before = line_ending_of(opened)
    for version in range(2, 8):
        change = data.draw(changes(reference))
        if isinstance(change, str):
            reference.replace_all(change)
            store.change(URI, version, [change])
        else:
            (sl, sc), (el, ec), text = change
            reference.apply(sl, sc, el, ec, text)
            store.change(URI, version, [(Position(sl, sc), Position(el, ec), text)])
        document = store.get(URI)
        assert document is not None and document.text == reference.text
        prefer = None if isinstance(change, str) else before
        before = line_ending_of(reference.text, prefer=prefer)
        assert document.line_ending == (before or "\n")
