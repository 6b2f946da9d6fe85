"""server/document_writer.py: code written piece by piece through applyEdit, each edit after
what the previous one left, and a stop when the user changed the text."""

from __future__ import annotations

import pytest
from lsprotocol import types

from loomline.completion.instruct_targets import edit_target
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.server import document_writer
from loomline.server.document_writer import DocumentWriter, end_of

URI = "file:///t/a.py"


class _Client:
    """Applies each edit to the server's store as an editor's didChange would."""

    def __init__(self, documents: DocumentStore, refuse: bool = False) -> None:
        self.documents = documents
        self.refuse = refuse
        self.ranges: list[tuple[int, int, int, int]] = []

    async def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if self.refuse:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="read-only")
        (edit,) = (params.edit.changes or {})[URI]
        start, end = edit.range.start, edit.range.end
        self.ranges.append((start.line, start.character, end.line, end.character))
        document = self.documents.get(URI)
        assert document is not None
        self.documents.change(
            URI,
            document.version + 1,
            [
                (
                    Position(start.line, start.character),
                    Position(end.line, end.character),
                    edit.new_text,
                )
            ],
        )
        return types.ApplyWorkspaceEditResult(applied=True)


def _writer(
    text: str, start: Position, end: Position | None = None, refuse: bool = False
) -> tuple[DocumentWriter, _Client, DocumentStore]:
    documents = DocumentStore()
    document = documents.open(URI, "python", 1, text)
    client = _Client(documents, refuse)
    writer = DocumentWriter(client.apply, documents, URI, edit_target(document, start, end))
    return writer, client, documents


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (Position(2, 4), "abc", Position(2, 7)),
        (Position(2, 4), "ab\ncd\n", Position(4, 0)),
        (Position(0, 0), "😀x", Position(0, 3)),  # UTF-16: the emoji is two code units
        (Position(2, 4), "ab\r\ncd\rx", Position(4, 1)),  # CRLF and a lone CR end lines too
        (Position(2, 4), "a\fb\u2028c", Position(2, 9)),  # form feed, U+2028 do not
    ],
)
def test_end_of(start, text, end):
    assert end_of(start, text) == end


async def test_pieces_go_after_each_other_and_replace_the_selection_first():
    writer, client, documents = _writer("a\nold\nz\n", Position(1, 0), Position(2, 0))
    assert await writer.write("new1\n") is None
    assert await writer.write("new2\n") is None
    assert client.ranges == [(1, 0, 2, 0), (2, 0, 2, 0)]
    assert documents.get(URI).text == "a\nnew1\nnew2\nz\n"  # type: ignore[union-attr]
    assert writer.written == "new1\nnew2\n" and writer.history == ["new1\n", "new1\nnew2\n"]
    assert await writer.write("") is None and len(client.ranges) == 2  # nothing to send


async def test_a_refused_edit_says_why_and_changes_nothing():
    writer, _, documents = _writer("x = 1\n", Position(1, 0), refuse=True)
    assert await writer.write("y = 2") == "the client refused the edit: read-only"
    assert writer.written == "" and documents.get(URI).text == "x = 1\n"  # type: ignore[union-attr]


async def test_a_change_by_the_user_stops_the_writing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(document_writer, "RESYNC_WAIT_S", 0.05)
    writer, client, documents = _writer("def f():\n    \n", Position(1, 4))
    assert await writer.write("return 1") is None
    # The user adds a line above: the place moved (what follows it never tells, since an
    # insertion's earlier state, "", is always there).
    documents.change(URI, 9, [(Position(0, 0), Position(0, 0), "import os\n")])
    assert await writer.write("\n") == "the document changed during generation"
    assert len(client.ranges) == 1
    documents.close(URI)
    assert await writer.write("\n") == "the document was closed"
