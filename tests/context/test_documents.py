"""DocumentStore: the one owner of each document's text, its events and its style facts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.documents import (
    DocumentChanged,
    DocumentClosed,
    DocumentEvent,
    DocumentOpened,
    DocumentStore,
)
from loomline.context.positions import Position, lf_offset, to_lf
from loomline.context.text_style import indent_unit, line_ending_of
from tests.text_model import ReferenceText, changes, texts


def test_listeners_get_typed_events_in_order():
    store = DocumentStore()
    seen: list[DocumentEvent] = []
    store.subscribe(seen.append)
    doc = store.open("file:///a.py", "python", 1, "x = 1\n")
    store.change("file:///a.py", 2, [(Position(0, 4), Position(0, 5), "2"), "y = 3\n"])
    store.close("file:///a.py")
    assert [type(e) for e in seen] == [DocumentOpened, DocumentChanged, DocumentClosed]
    assert all(e.document is doc for e in seen)
    changed = seen[1]
    assert isinstance(changed, DocumentChanged) and len(changed.edits) == 2
    assert changed.edits[0].start_byte == 4 and changed.edits[0].new_end_byte == 5
    store.unsubscribe(seen.append)
    store.open("file:///b.py", "python", 1, "")
    assert len(seen) == 3


def test_a_failing_listener_does_not_stop_the_others():
    store = DocumentStore()
    seen: list[DocumentEvent] = []

    def broken(event: DocumentEvent) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(seen.append)
    store.open("file:///a.py", "python", 1, "x")
    assert len(seen) == 1


def test_documents_are_keyed_by_uri_not_by_path():
    # Two cells of one notebook share the notebook's path.
    store = DocumentStore()
    first = store.open("vscode-notebook-cell:/w/nb.ipynb#W0", "python", 1, "a = 1")
    second = store.open("vscode-notebook-cell:/w/nb.ipynb#W1", "python", 1, "b = 2")
    assert first.path == second.path
    assert {d.text for d in store} == {"a = 1", "b = 2"}


def test_closed_documents_stay_readable_for_a_while():
    store = DocumentStore(keep_closed=2)
    for name in "abc":
        store.open(f"file:///{name}.py", "python", 1, name)
        store.close(f"file:///{name}.py")
    assert store.get("file:///c.py") is None
    assert store.last_known("file:///c.py") is not None
    assert store.last_known("file:///b.py") is not None
    assert store.last_known("file:///a.py") is None  # pushed out
    reopened = store.open("file:///b.py", "python", 2, "new")
    assert store.last_known("file:///b.py") is reopened


def test_line_ending_is_judged_once_and_kept():
    store = DocumentStore()
    crlf = store.open("file:///w.py", "python", 1, "a\r\nb\r\nc\n")
    assert crlf.line_ending == "\r\n"
    store.change("file:///w.py", 2, [(Position(2, 0), Position(2, 0), "x\n")])
    assert crlf.line_ending == "\r\n"
    fresh = store.open("file:///n.py", "python", 1, "abc")
    assert fresh.line_ending == "\n"  # no break yet: the default
    store.change("file:///n.py", 2, [(Position(0, 3), Position(0, 3), "\r\n")])
    assert fresh.line_ending == "\r\n"  # the first break typed decides
    store.change("file:///n.py", 3, ["x\ry\rz"])
    assert fresh.line_ending == "\r"  # a whole new text is judged afresh


def test_line_ending_golden_cases():
    assert line_ending_of("") is None
    assert line_ending_of("a\nb\r\nc\n") == "\n"
    assert line_ending_of("a\r\nb\r\nc\n") == "\r\n"
    assert line_ending_of("a\rb\rc\r\n") == "\r"


def test_indent_unit_follows_changes_to_whitespace_only():
    store = DocumentStore()
    doc = store.open("file:///i.py", "python", 1, "def f():\n  if x:\n    return 1\n")
    assert doc.indent_unit == "  "
    store.change("file:///i.py", 2, ["def f():\n\tif x:\n\t\treturn 1\n"])
    assert doc.indent_unit == "\t"
    empty = store.open("file:///e.py", "python", 1, "x = 1\n")
    assert empty.indent_unit is None
    store.change("file:///e.py", 2, [(Position(1, 0), Position(1, 0), "if x:\n    y")])
    assert empty.indent_unit == "    "
    # Typing a word cannot change it: judged once, then kept.
    store.change("file:///e.py", 3, [(Position(2, 5), Position(2, 5), "abc")])
    assert empty.indent_unit == "    "


def test_indent_unit_golden_cases():
    assert indent_unit([]) is None
    assert indent_unit(["x", "  y", "    z"]) == "  "
    assert indent_unit(["x", "\ty", "\t\tz", "  w"]) == "\t"
    assert indent_unit(["x", " y"]) == "    "  # one-space steps are not a style: the default


def test_unknown_document_changes_are_ignored():
    store = DocumentStore()
    assert store.change("file:///nope.py", 2, ["x"]) is None


@settings(max_examples=200, deadline=None)
@given(text=texts(), data=st.data())
def test_store_matches_a_reference_client(text: str, data: st.DataObject) -> None:
    """Any sequence of edits, in any Unicode, leaves the store's text equal to the client's."""
    store = DocumentStore()
    reference = ReferenceText(text)
    document = store.open("file:///p.txt", "plaintext", 0, text)
    assert document.has_lone_cr == (text.count("\r") != text.count("\r\n"))
    for version in range(1, 16):
        change = data.draw(changes(reference))
        if isinstance(change, str):
            reference.replace_all(change)
            store.change(document.uri, version, [change])
        else:
            (start_line, start_char), (end_line, end_char), new_text = change
            reference.apply(start_line, start_char, end_line, end_char, new_text)
            start, end = Position(start_line, start_char), Position(end_line, end_char)
            store.change(document.uri, version, [(start, end, new_text)])
        assert document.text == reference.text
        assert document.lines.line_count == reference.line_count()
        lone_cr = reference.text.count("\r") != reference.text.count("\r\n")
        assert document.has_lone_cr == lone_cr  # kept current edit by edit, never recounted


def test_language_by_suffix_when_the_editor_names_none():
    store = DocumentStore()
    assert store.open("file:///a/b.pyw", "plaintext", 1, "").language_id == "python"
    assert store.open("file:///a/b.rb", "", 1, "").language_id == "ruby"  # no grammar: named
    assert store.open("untitled:Untitled-1", "", 1, "").language_id == "plaintext"
    assert store.open("file:///a/b.py", "cython", 1, "").language_id == "cython"  # as sent


def test_lone_cr_fact_is_kept_by_each_edit_not_recounted():
    """The lone-CR fact costs the edit: typing keeps the count known (no recount of the
    text); an edit that makes or unmakes a lone CR (a CR-LF split or joined) updates it."""
    store = DocumentStore()
    document = store.open("file:///a.py", "python", 1, "a = 1\r\nb = 2\r\n" * 1000)
    assert not document.has_lone_cr
    store.change(document.uri, 2, [(Position(5, 0), Position(5, 0), "x")])
    assert document._lone_crs == 0  # still known: a keystroke did not drop it
    # Split the CR-LF ending line 0: its CR is now lone.
    store.change(document.uri, 3, [(Position(0, 5), Position(0, 5), "\r")])
    assert document._lone_crs is not None and document.has_lone_cr
    store.change(document.uri, 4, [(Position(0, 5), Position(1, 0), "")])
    assert document._lone_crs is not None and not document.has_lone_cr
    assert document.text.startswith("a = 1\r\nb = 2")


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="ab😀\r\n", max_size=40)
    | st.lists(st.sampled_from(["a", "😀", "\r\n"]), max_size=30).map("".join),
    edits=st.lists(st.tuples(st.integers(0, 45), st.integers(0, 4),
                             st.text(alphabet="ab😀\r\n", max_size=3)
                             | st.sampled_from(["", "x", "\r\n"]), st.booleans()),
                   min_size=1, max_size=12),
)
def test_the_lf_text_and_offsets_follow_edits_as_made_afresh(
    text: str, edits: list[tuple[int, int, str, bool]]
) -> None:
    r"""``lf_text`` (kept through edits no line break takes part in) and ``lf_offset``
    (counted by lines when every break is ``\r\n``) are those of the text made afresh, in LF,
    CRLF, lone-CR and mixed text, read after each edit or only now and then."""
    store = DocumentStore()
    document = store.open("file:///w/a.py", "python", 1, text)
    for version, (at, size, inserted, read) in enumerate(edits, start=2):
        start = document.position_at(min(at, len(document.text)))
        end = document.position_at(min(at + size, len(document.text)))
        store.change(document.uri, version, [(start, end, inserted)])
        if read:
            assert document.lf_text == to_lf(document.text)
            assert [document.lf_offset(o) for o in range(len(document.text) + 1)] == [
                lf_offset(document.text, o) for o in range(len(document.text) + 1)]
