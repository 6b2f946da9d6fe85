"""A stand-in next-edit server: answers ``textDocument/copilotInlineEdit`` with the baseline.

It drives the bench's whole LSP path (open, typed didChange edits, the Copilot-style request,
ranges in UTF-16 back to offsets) with no model behind it, and so checks that path: through
it the baseline must score what it scores in process. The user's
edit is everything that changed since the document was opened. Also answers
``loomline.documentText`` so the bench can check the replay.

    python -m tests.bench.next_edit.standin_server      # stdio
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.context.positions import LineIndex
from loomline.server.methods import COPILOT_INLINE_EDIT_REQUEST, DOCUMENT_TEXT_COMMAND
from tests.bench.next_edit.baseline import repeat_last_change
from tests.bench.next_edit.hunks import char_edit

server = LanguageServer("next-edit-standin", "1")
opened: dict[str, str] = {}  # uri -> the text at didOpen


def _field(value: Any, name: str) -> Any:
    return value[name] if isinstance(value, dict) else getattr(value, name)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    opened[params.text_document.uri] = params.text_document.text


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    opened.pop(params.text_document.uri, None)


@server.command(DOCUMENT_TEXT_COMMAND)
def document_text(*arguments: Any) -> dict[str, Any] | None:
    uri = _field(_field(arguments[0], "textDocument"), "uri") if arguments else None
    if uri not in opened:
        return None
    document = server.workspace.get_text_document(uri)
    return {"text": document.source, "version": document.version}


@server.feature(COPILOT_INLINE_EDIT_REQUEST)
def next_edit(ls: LanguageServer, params: Any) -> dict[str, Any]:
    uri = _field(_field(params, "textDocument"), "uri")
    if uri not in opened:
        return {"edits": []}
    document = ls.workspace.get_text_document(uri)
    old, edited = opened[uri], document.source
    lines = LineIndex(edited)
    edits = []
    for edit in repeat_last_change(old, edited, char_edit(old, edited)):
        start, end = lines.position(edit.start), lines.position(edit.end)
        edits.append({
            "range": {"start": {"line": start.line, "character": start.character},
                      "end": {"line": end.line, "character": end.character}},
            "text": edit.text,
            "textDocument": {"uri": uri, "version": document.version},
        })
    return {"edits": edits}


if __name__ == "__main__":
    server.start_io()
