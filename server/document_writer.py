"""Code written into an open document through ``workspace/applyEdit``, one piece at a time.

Each edit is relative to the document as the previous one left it: the first replaces the
target's range, the next go after what was written. Before each edit the server's copy must
still show what was written (the client's didChange for the last edit may lag a little);
otherwise the user changed the text and writing stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from lsprotocol import types

from loomline.completion.instruct_targets import EditTarget
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position, end_position

RESYNC_WAIT_S = 2.0  # how long a lagging didChange may take before we call it a conflict

#: Sends ``workspace/applyEdit`` (``LanguageServer.workspace_apply_edit_async``).
ApplyEdit = Callable[[types.ApplyWorkspaceEditParams], Awaitable[types.ApplyWorkspaceEditResult]]


class DocumentWriter:
    """Writes at ``target`` in the document ``uri`` and keeps track of what it wrote."""

    def __init__(
        self, apply_edit: ApplyEdit, documents: DocumentStore, uri: str, target: EditTarget
    ) -> None:
        self._apply_edit = apply_edit
        self._documents = documents
        self.uri = uri
        self.target = target
        self.written = ""  # everything applied so far, starting at ``target.start``
        self.history: list[str] = []  # states the client may still show

    def written_end(self) -> Position:
        return end_of(self.target.start, self.written)

    def next_range(self) -> types.Range:
        """Where the next piece goes: the target's range first, then after what was written."""
        if not self.history:
            start, end = self.target.start, self.target.end
        else:
            start = end = self.written_end()
        return types.Range(start=_lsp(start), end=_lsp(end))

    def consistent(self, document: Document) -> bool:
        """Whether the server's copy still shows what we wrote (or an earlier state of it)."""
        start = self.target.start
        offset = document.offset_at(start)
        if document.position_at(offset) != start:
            return False
        text, line_before = document.text, self.target.line_before
        if text[offset - len(line_before) : offset] != line_before:
            return False
        states = [self.target.selection or "", *self.history]
        return any(text.startswith(state, offset) for state in states)

    async def write(self, text: str) -> str | None:
        """One applyEdit after what was written; None when applied, else why not."""
        if not text:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESYNC_WAIT_S
        while True:
            document = self._documents.get(self.uri)
            if document is None:
                return "the document was closed"
            if self.consistent(document):
                break
            if loop.time() > deadline:
                return "the document changed during generation"
            await asyncio.sleep(0.02)
        edit = types.TextEdit(range=self.next_range(), new_text=text)
        params = types.ApplyWorkspaceEditParams(
            edit=types.WorkspaceEdit(changes={self.uri: [edit]})
        )
        # Shielded: once sent, the edit's outcome must be known to keep our view right.
        result = await asyncio.shield(asyncio.ensure_future(self._apply_edit(params)))
        if not result.applied:
            reason = f": {result.failure_reason}" if result.failure_reason else ""
            return f"the client refused the edit{reason}"
        self.written += text
        self.history.append(self.written)
        return None


def end_of(start: Position, text: str) -> Position:
    """Where ``text`` ends when written at ``start`` (UTF-16 columns)."""
    return end_position(start, text)


def _lsp(p: Position) -> types.Position:
    return types.Position(line=p.line, character=p.character)
