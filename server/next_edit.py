"""Next edit suggestions over the wire: Copilot's ``textDocument/copilotInlineEdit`` (so
clients made for it, such as copilot-lsp and sidekick.nvim, work unchanged), the same
suggestion as an inline completion item when it touches the cursor's line, and the
next-edit part of ``loomline.showContext``.

The request's result is always ``{edits: [...]}`` (those clients read ``result.edits``
without a check): empty when there is no suggestion, the document is unknown or at another
version, or a newer request superseded this one. Params that do not fit
(server/next_edit_params.py) are answered with Invalid params (-32602) by the transport.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.completion.next_edit.service import NextEdit, NextEditService
from loomline.completion.results import Skip
from loomline.completion.service import SUPERSEDED
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position
from loomline.server import convert
from loomline.server.methods import (
    ACCEPT_COMMAND,
    COPILOT_INLINE_EDIT_REQUEST,
    DID_FOCUS_NOTIFICATION,
    DID_SHOW_INLINE_EDIT_NOTIFICATION,
)
from loomline.server.next_edit_params import CopilotInlineEditParams

log = logging.getLogger(__name__)


class Host(Protocol):
    """What this module reads of Loomline's server (``app.LoomlineServer``)."""

    documents: DocumentStore
    next_edit: NextEditService | None

    def record_event(self, event: dict[str, Any]) -> None: ...


def plain(value: Any) -> Any:
    """pygls' params of a method it has no type for (namedtuple ``Object``s, nested) as
    plain dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


async def suggest(
    host: Host, document: Document, position: Position, *, explicit: bool
) -> NextEdit | Skip:
    """The next edit for ``position``, or why there is none (superseded included)."""
    if host.next_edit is None:
        return Skip("the server is not initialized")
    try:
        return await host.next_edit.suggest(document, position, explicit=explicit)
    except asyncio.CancelledError as error:
        task = asyncio.current_task()
        if error.args and error.args[0] == SUPERSEDED and task is not None:
            task.uncancel()
            return Skip(SUPERSEDED)
        raise


def inline_edit_json(edit: NextEdit) -> dict[str, Any]:
    """One edit of a copilotInlineEdit result."""
    return {
        "range": {
            "start": {"line": edit.start.line, "character": edit.start.character},
            "end": {"line": edit.end.line, "character": edit.end.character},
        },
        "text": edit.text,
        "textDocument": {"uri": edit.uri, "version": edit.version},
        "command": {"title": "Accept next edit", "command": ACCEPT_COMMAND,
                    "arguments": [edit.id]},
    }


def inline_item(
    document: Document, position: Position, edit: NextEdit
) -> types.InlineCompletionItem | None:
    """The edit as an inline completion item for a cursor at ``position``, when it touches
    the cursor's line: its range grows to take in the cursor (the text between joins the
    item's text), so an editor can show it from there. None otherwise."""
    if document.version != edit.version or not edit.start.line <= position.line <= edit.end.line:
        return None
    at = document.offset_at(position)
    start, end = document.offset_at(edit.start), document.offset_at(edit.end)
    text = document.text
    insert = text[min(at, start):start] + edit.text + text[end:max(at, end)]
    return types.InlineCompletionItem(
        insert_text=insert,
        range=types.Range(start=convert.lsp_position(document.position_at(min(at, start))),
                          end=convert.lsp_position(document.position_at(max(at, end)))),
        command=types.Command(title="Accepted", command=ACCEPT_COMMAND, arguments=[edit.id]),
    )


def context_json(host: Host, document: Document, position: Position) -> dict[str, Any] | None:
    """The next-edit prompt for ``loomline.showContext`` (None when next edits are off)."""
    service = host.next_edit
    if service is None or not service.completions.settings.next_edit.enabled:
        return None
    prompt = service.prepare(document, position)
    refused = service.refuse(document, position)
    return {
        "prompt": prompt.text,
        "format": prompt.format.name,
        "promptTokens": prompt.tokens,
        "window": {"startLine": prompt.window.start_line, "endLine": prompt.window.end_line},
        "edits": [{"path": e.path, "diff": e.diff} for e in prompt.edits],
        "skip": refused.reason if refused else None,
    }


def register(server: LanguageServer, host: Host) -> None:
    """The copilotInlineEdit request and the notifications its clients send, on ``server``."""

    @server.feature(COPILOT_INLINE_EDIT_REQUEST)
    async def copilot_inline_edit(params: CopilotInlineEditParams) -> dict[str, Any]:
        # The transport's gate read the params strictly: a bad field was answered -32602.
        uri, version = params.text_document.uri, params.text_document.version
        document = host.documents.get(uri)
        if document is None or (version is not None and version != document.version):
            log.debug("no next edit for %s: %s", uri, "unknown document" if document is None
                      else f"version {version} is not the current {document.version}")
            return {"edits": []}
        position = convert.position_in(document, params.position)
        result = await suggest(host, document, position, explicit=params.invoked)
        if isinstance(result, Skip):
            log.debug("no next edit for %s: %s", uri, result.reason)
            return {"edits": []}
        return {"edits": [inline_edit_json(result)]}

    @server.feature(DID_SHOW_INLINE_EDIT_NOTIFICATION)
    def did_show_inline_edit(params: Any) -> None:
        item = plain(params).get("item") if isinstance(plain(params), dict) else None
        command = item.get("command") if isinstance(item, dict) else None
        arguments = command.get("arguments") if isinstance(command, dict) else None
        if isinstance(arguments, list) and arguments:
            host.record_event({"type": "shown", "completionId": str(arguments[0])})

    @server.feature(DID_FOCUS_NOTIFICATION)
    def did_focus(params: Any) -> None:
        """Nothing to do: the recent edits of every document already feed the prompts."""
