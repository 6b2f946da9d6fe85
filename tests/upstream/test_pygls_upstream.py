"""What pygls 2.1.1 does wrong, against plain pygls (none of Loomline's protocol classes).

Each test asserts what pygls *should* do and is marked ``xfail(strict=True)``: it passes while
the upstream behaviour is as docs/upstream-pygls.md describes, and fails (XPASS) once pygls
changes it, the sign that our workaround (named in each reason) may go.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from typing import Any

import pytest
from lsprotocol import types
from pygls.io_ import StdinAsyncReader, run_async
from pygls.lsp.server import LanguageServer

URI = "file:///w/a.py"


def upstream(workaround: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"pygls 2.1.1; worked around in {workaround}")


class Wire:
    """What a server writes (framed JSON), decoded."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        body = data.split(b"\r\n\r\n", 1)[1]
        self.messages.append(json.loads(body))

    def close(self) -> None:
        pass


def plain_server() -> tuple[LanguageServer, Wire]:
    server = LanguageServer("upstream", "1")
    wire = Wire()
    server.protocol.set_writer(wire)
    return server, wire


def receive(server: LanguageServer, message: dict[str, Any]) -> None:
    """Hand pygls one decoded message, as its reader does."""
    protocol = server.protocol
    protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **message}))


def initialize(server: LanguageServer, options: Any = None) -> None:
    receive(server, {"id": 1, "method": "initialize", "params": {
        "processId": None, "capabilities": {}, "initializationOptions": options}})


def open_document(server: LanguageServer, text: str) -> None:
    receive(server, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": text}}})


def insert(server: LanguageServer, line: int, character: int, text: str,
           version: int = 2) -> None:
    at = {"line": line, "character": character}
    receive(server, {"method": "textDocument/didChange", "params": {
        "textDocument": {"uri": URI, "version": version},
        "contentChanges": [{"range": {"start": at, "end": at}, "text": text}]}})


@upstream("server/notifications.py (NotificationProtocol)")
def test_notifications_leave_no_future_behind():
    server, _ = plain_server()
    initialize(server)
    open_document(server, "")
    for version in range(2, 102):
        insert(server, 0, 0, "x", version)
    # pygls files a future per generator handler under a fresh id; only requests remove it.
    assert len(server.protocol._request_futures) == 0


@upstream("server/pygls_internals.py (forget_result_type), called by server/transport.py")
async def test_an_error_answer_forgets_the_requests_result_type():
    server, wire = plain_server()
    initialize(server)
    server.protocol.send_request(types.WINDOW_WORK_DONE_PROGRESS_CREATE,
                                 types.WorkDoneProgressCreateParams(token="t"))
    sent = wire.messages[-1]
    assert sent["id"] in server.protocol._result_types
    receive(server, {"id": sent["id"], "error": {"code": -32601, "message": "no"}})
    assert sent["id"] not in server.protocol._result_types


async def _read_with_pygls(data: bytes) -> list[Any]:
    """pygls' own reading loop (what ``start_io`` runs) over ``data``: the messages it hands
    on."""
    handled: list[Any] = []

    class Recorder:
        def structure_message(self, payload: dict[str, Any]) -> dict[str, Any]:
            return payload

        def handle_message(self, message: Any) -> None:
            handled.append(message)

    reader = StdinAsyncReader(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    await run_async(threading.Event(), reader, Recorder())  # type: ignore[arg-type]
    return handled


def _frame(message: dict[str, Any], header: bytes = b"Content-Length: %d\r\n\r\n") -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return header % len(body) + body


@upstream("server/framing.py and server/transport.py (our reader)")
@pytest.mark.parametrize("header", [b"content-length: %d\r\n\r\n", b"Content-Length: %d\n\n",
                                    b"Content-Length:%d\r\n\r\n"],
                         ids=["lower-case", "lf-only", "no-space"])
async def test_header_variants_are_read_and_the_next_message_too(header):
    data = _frame({"id": 1, "method": "a"}, header) + _frame({"id": 2, "method": "b"})
    assert [m["id"] for m in await _read_with_pygls(data)] == [1, 2]


@upstream("server/framing.py (MAX_BODY_BYTES: refused without allocating it)")
async def test_an_absurd_length_is_refused_and_the_stream_goes_on():
    data = b"Content-Length: 1000000000000\r\n\r\n{}" + _frame({"id": 2, "method": "b"})
    # pygls' stdin reader asks for the whole length at once: MemoryError, and its loop ends.
    assert [m["id"] for m in await _read_with_pygls(data)] == [2]


@upstream("server/transport.py (MessageGate refuses ids that are not numbers or strings)")
def test_a_request_with_an_object_id_is_an_invalid_request():
    server, wire = plain_server()
    initialize(server)
    # JSON-RPC ids are numbers or strings; pygls files the request's future under the id:
    # TypeError (unhashable), answered as an internal error with its traceback.
    receive(server, {"id": {"x": 1}, "method": "shutdown"})
    answer = wire.messages[-1]
    assert answer["error"]["code"] == -32600 and answer["id"] is None


@upstream("server/cli.py (pygls' loggers at WARNING) and server/tcp.py (token taken out)")
def test_initialize_params_are_not_logged_at_info(caplog):
    server, _ = plain_server()
    with caplog.at_level(logging.INFO, logger="pygls"):
        initialize(server, {"token": "s3cret-tcp-token", "engine": {"urls": ["http://x"]}})
    assert "s3cret-tcp-token" not in caplog.text


@upstream("server/document_sync.py (OwnDocumentsProtocol: pygls applies no document edit)")
def test_did_change_leaves_the_params_as_the_client_sent_them():
    server, _ = plain_server()
    seen: list[types.DidChangeTextDocumentParams] = []
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(lambda ls, params: seen.append(params))
    initialize(server)
    open_document(server, "abc")
    insert(server, 0, 10, "X")  # past the line's end: the LSP says the end of the line
    change = seen[0].content_changes[0]
    assert isinstance(change, types.TextDocumentContentChangePartial)
    assert change.range.start.character == 10


@upstream("server/document_sync.py and context/positions.py (LSP line breaks only)")
@pytest.mark.parametrize("separator", ["\f", "\v", "\x1c", "\x85", "\u2028"],
                         ids=["form-feed", "vertical-tab", "file-separator", "nel", "u2028"])
def test_did_change_breaks_lines_where_the_lsp_does(separator):
    server, _ = plain_server()
    initialize(server)
    text = f"a{separator}bcdef"
    open_document(server, text)
    insert(server, 0, 4, "X")  # one line for the LSP: \n, \r\n and \r only
    assert server.workspace.get_text_document(URI).source == text[:4] + "X" + text[4:]


@upstream("server/commands.py (CommandProtocol: request commands are cancellable)")
async def test_cancel_request_cancels_an_async_command():
    server, _ = plain_server()
    initialize(server)
    started, cancelled = asyncio.Event(), asyncio.Event()

    @server.command("upstream.wait")
    async def wait(ls: LanguageServer, *args: Any) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    receive(server, {"id": 7, "method": "workspace/executeCommand",
                     "params": {"command": "upstream.wait", "arguments": []}})
    await started.wait()
    receive(server, {"method": "$/cancelRequest", "params": {"id": 7}})
    # pygls cancels its own wrapper (and answers the request as cancelled); the command's
    # coroutine runs on in a task of its own. (The timeout only bounds the failing case.)
    await asyncio.wait_for(cancelled.wait(), 2.0)
