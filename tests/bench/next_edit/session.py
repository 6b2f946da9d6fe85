"""Replaying a case's edit into a language server over stdio, as an editor sends it.

The server runs as a subprocess (pygls ``LanguageClient.start_io``); each case is opened with
its old text, the user's edit is sent as ``didChange`` edits (the removed text in one change,
then the inserted text one character a change, or all at once with ``typing="whole"``), and
the server's copy is read back with ``loomline.documentText`` to check the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from loomline.context.positions import LineIndex, Position, utf16_length
from loomline.server.methods import DOCUMENT_TEXT_COMMAND, STATUS_NOTIFICATION
from tests.bench.next_edit.case import Case


@dataclass
class Opened:
    """A case open in the server: its URI, the version after the replay, the cursor."""

    case: Case
    uri: str
    version: int
    cursor: Position


def _range(start: Position, end: Position) -> types.Range:
    return types.Range(types.Position(start.line, start.character),
                       types.Position(end.line, end.character))


class Session:
    """One server process and the client talking to it."""

    def __init__(self, command: list[str], options: dict[str, Any]) -> None:
        self.command, self.options = command, options
        self.client = LanguageClient("bench-next-edit", "1")
        self.states: list[str] = []
        self._settled = asyncio.Event()  # the engine said ready or error
        # pygls marks the handler it registers: a function, not a bound method.
        self.client.feature(STATUS_NOTIFICATION)(lambda params: self._on_status(params))

    def _on_status(self, params: Any) -> None:
        state = (params.get("state", "") if isinstance(params, dict)
                 else getattr(params, "state", ""))
        self.states.append(state)
        if state in ("ready", "error"):
            self._settled.set()

    async def start(self, ready_within_s: float | None) -> None:
        """Start and initialize the server; with ``ready_within_s``, wait for the engine's
        ``ready`` status (RuntimeError on ``error`` or when it does not come in time)."""
        await self.client.start_io(*self.command)
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), initialization_options=self.options,
            process_id=os.getpid()))  # the server ends with the bench, however it ends
        self.client.initialized(types.InitializedParams())
        if ready_within_s is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), ready_within_s)
        if "ready" not in self.states:
            raise RuntimeError(f"the server's engine did not get ready: {self.states}")

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def _change(self, uri: str, version: int, start: Position, end: Position,
                text: str) -> None:
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=_range(start, end), text=text)],
        ))

    async def open(self, case: Case, uri: str, typing: str) -> Opened:
        """Open ``case``'s old text and replay the user's edit; RuntimeError when the
        server's copy then differs from the edited text."""
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=case.text)))
        edit, version = case.user_edit, 1
        old_lines = LineIndex(case.text)
        start = old_lines.position(edit.start)
        if edit.removed or typing == "whole":
            version += 1
            end = old_lines.position(edit.start + len(edit.removed))
            self._change(uri, version, start, end, edit.inserted if typing == "whole" else "")
        cursor = start
        for char in edit.inserted if typing != "whole" else "":
            version += 1
            self._change(uri, version, cursor, cursor, char)
            cursor = (Position(cursor.line + 1, 0) if char == "\n"
                      else Position(cursor.line, cursor.character + utf16_length(char)))
        cursor = LineIndex(case.edited).position(case.cursor)
        held = await self.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=DOCUMENT_TEXT_COMMAND, arguments=[{"textDocument": {"uri": uri}}]))
        text = held.get("text") if isinstance(held, dict) else getattr(held, "text", None)
        if text != case.edited:
            raise RuntimeError("the server's copy differs from the edited text after the replay")
        return Opened(case, uri, version, cursor)

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    async def request(self, method: str, params: dict[str, Any], timeout_s: float) -> Any:
        """A request the client has no typed method for; its raw result."""
        return await asyncio.wait_for(
            self.client.protocol.send_request_async(method, params), timeout_s)
