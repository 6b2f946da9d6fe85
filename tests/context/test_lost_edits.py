"""An edit the store cannot apply (a range that ends before it starts, a line or a character
below zero, a line past the one after the last) is a lost edit: never guessed at. The text
stays as it was, the document is marked out of sync with the reason, later range edits (made
to a text the server does not have) are not applied either, and a whole-text change brings it
back in sync. In every field of the range and with every line-break kind."""

from __future__ import annotations

import pytest

from loomline.context.documents import DocumentChanged, DocumentEvent, DocumentStore
from loomline.context.positions import Position

URI = "file:///work/lost.py"
BREAKS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}


def _text(br: str) -> str:
    return f"a = 1{br}bb = 22{br}ccc = 333"  # three lines


def _mixed() -> str:
    return "a = 1\r\nbb = 22\rccc = 333"


TEXTS = {**{name: _text(br) for name, br in BREAKS.items()}, "mixed": _mixed()}

# (start, end, a piece of the reason), for a three-line text: every field of the range.
IMPOSSIBLE = {
    "start line -1": ((-1, 0), (0, 1), "start"),
    "start character -1": ((0, -1), (0, 1), "start"),
    "end line -1": ((0, 0), (-1, 0), "end"),
    "end character -1": ((0, 0), (0, -1), "end"),
    "start line past the end": ((4, 0), (4, 0), "past the end"),
    "end line past the end": ((0, 0), (7, 0), "past the end"),
    "reversed on a line": ((1, 4), (1, 2), "before its start"),
    "reversed across lines": ((2, 0), (1, 3), "before its start"),
    "reversed past the line ends": ((0, 40), (0, 30), "before its start"),
}


def _store() -> tuple[DocumentStore, list[DocumentEvent]]:
    store = DocumentStore()
    heard: list[DocumentEvent] = []
    store.subscribe(heard.append)
    return store, heard


@pytest.mark.parametrize("text_kind", list(TEXTS))
@pytest.mark.parametrize("case", list(IMPOSSIBLE))
def test_an_impossible_range_is_a_lost_edit_and_a_whole_text_resyncs(
    text_kind: str, case: str
) -> None:
    text = TEXTS[text_kind]
    start, end, reason = IMPOSSIBLE[case]
    store, heard = _store()
    store.open(URI, "python", 1, text)
    document = store.change(URI, 2, [(Position(*start), Position(*end), "X")])
    assert document is not None
    assert document.text == text  # nothing guessed
    assert document.out_of_sync is not None and reason in document.out_of_sync
    assert document.version == 2
    changed = [e for e in heard if isinstance(e, DocumentChanged)]
    assert changed and changed[-1].edits == ()
    # A later edit was made to the client's text, which the server does not have: not applied.
    store.change(URI, 3, [(Position(0, 0), Position(0, 0), "Y")])
    assert document.text == text and document.out_of_sync is not None
    # The whole text brings it back, and edits apply again.
    store.change(URI, 4, ["fresh\n"])
    assert document.out_of_sync is None and document.text == "fresh\n"
    store.change(URI, 5, [(Position(1, 0), Position(1, 0), "z")])
    assert document.text == "fresh\nz"


@pytest.mark.parametrize("text_kind", list(TEXTS))
def test_edits_before_the_lost_one_in_the_same_change_apply_and_none_after(text_kind: str):
    text = TEXTS[text_kind]
    store, _heard = _store()
    store.open(URI, "python", 1, text)
    document = store.change(URI, 2, [
        (Position(0, 0), Position(0, 0), "#"),
        (Position(1, 3), Position(1, 1), "X"),  # reversed
        (Position(0, 0), Position(0, 0), "Y"),
    ])
    assert document is not None and document.text == "#" + text
    assert document.out_of_sync is not None
    # A whole text later in the same change resyncs, and the range edits after it apply.
    document = store.change(URI, 3, [(Position(0, 0), Position(0, 0), "Q"), "new",
                                     (Position(0, 3), Position(0, 3), "!")])
    assert document is not None and document.text == "new!" and document.out_of_sync is None


@pytest.mark.parametrize("text_kind", list(TEXTS))
def test_what_the_lsp_allows_still_applies(text_kind: str) -> None:
    """A character past a line's end means its end; the line after the last means the end of
    the text; an empty range at the start is an insert. None of these is lost."""
    text = TEXTS[text_kind]
    store, _heard = _store()
    store.open(URI, "python", 1, text)
    document = store.change(URI, 2, [(Position(0, 99), Position(0, 99), "!")])
    assert document is not None and document.out_of_sync is None
    assert document.text.startswith("a = 1!")
    store.change(URI, 3, [(Position(3, 0), Position(3, 0), "$")])
    assert document.out_of_sync is None and document.text.endswith("333$")
    store.change(URI, 4, [(Position(1, 0), Position(3, 5), "")])
    assert document.out_of_sync is None and document.text == "a = 1!" + text[5 : text.index("b")]


def test_a_change_the_client_sent_unreadably_is_lost_too() -> None:
    """A change whose params could not even be read (``lose``: the server saw a didChange for
    the document and could not apply it)."""
    store, heard = _store()
    document = store.open(URI, "python", 1, "x = 1\n")
    store.lose(URI, "its params were invalid (contentChanges[0].range.start.line: -1)")
    assert document.out_of_sync is not None and "invalid" in document.out_of_sync
    assert document.text == "x = 1\n" and document.version == 1
    store.lose("file:///never-opened.py", "whatever")  # not open: nothing to lose
    store.change(URI, 3, ["y = 2\n"])
    assert document.out_of_sync is None and document.text == "y = 2\n"
    assert isinstance(heard[-1], DocumentChanged)
