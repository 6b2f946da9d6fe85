"""Notifications leave nothing behind in the protocol (pygls files a future for every
generator or coroutine handler and keeps it: about 2 KB per keystroke), and still reach the
server's handlers, synchronous or not."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.server.app import LoomlineProtocol
from loomline.server.framing import Message
from loomline.server.transport import MessageGate
from tests.waiting import eventually

URI = "file:///tmp/n.py"


def live_futures() -> int:
    gc.collect()
    return sum(
        isinstance(o, asyncio.Future | concurrent.futures.Future) for o in gc.get_objects()
    )


def make_server() -> tuple[LanguageServer, list[Any], MessageGate]:
    server = LanguageServer("t", "1", protocol_cls=LoomlineProtocol)
    heard: list[Any] = []

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        heard.append(params.text_document.version)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: LanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await asyncio.sleep(0)
        heard.append(params.settings)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
        heard.append("initialized")

    server.protocol.set_writer(_Discard())
    gate = MessageGate(server.protocol, lambda data: None)
    return server, heard, gate


class _Discard:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def notify(gate: MessageGate, method: str, params: Any) -> None:
    gate.handle(Message({"jsonrpc": "2.0", "method": method, "params": params}))


def change(version: int) -> dict[str, Any]:
    start = {"line": 0, "character": version}
    return {"textDocument": {"uri": URI, "version": version},
            "contentChanges": [{"range": {"start": start, "end": start}, "text": "x"}]}


async def test_notifications_leave_no_future_behind() -> None:
    _server, heard, gate = make_server()
    gate.handle(Message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"capabilities": {}}}))
    notify(gate, "initialized", {})
    notify(gate, "textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": ""}})
    for _ in range(5):
        await asyncio.sleep(0)
    before = live_futures()
    for version in range(2, 1002):
        notify(gate, "textDocument/didChange", change(version))
    for round_ in range(100):
        notify(gate, "workspace/didChangeConfiguration", {"settings": {"round": round_}})
    notify(gate, "$/setTrace", {"value": "off"})
    for _ in range(5):
        await asyncio.sleep(0)
    # pygls' own handlers would leave one future per notification: 1,101 here.
    assert live_futures() - before < 10
    assert heard[0] == "initialized"
    assert heard[1:1001] == list(range(2, 1002))
    assert heard[1001:] == [{"round": r} for r in range(100)]


async def test_a_failing_coroutine_handler_is_logged(caplog: Any) -> None:
    server, _heard, gate = make_server()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        raise ValueError("broken handler")

    notify(gate, "textDocument/didClose", {"textDocument": {"uri": URI}})
    await eventually(lambda: "broken handler" in caplog.text, what="the handler's error logged")
    assert "broken handler" in caplog.text


async def test_shutdown_cancels_a_notification_handler_still_running() -> None:
    server, heard, gate = make_server()

    started = asyncio.Event()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def slow(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            heard.append("cancelled")
            raise

    gate.handle(Message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"capabilities": {}}}))
    notify(gate, "textDocument/didClose", {"textDocument": {"uri": URI}})
    await asyncio.wait_for(started.wait(), 10)  # it runs: only a cancel can end it
    assert heard == []
    gate.handle(Message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    await eventually(lambda: heard, what="the handler's cancel")
    assert heard == ["cancelled"]


def test_no_built_in_notification_handler_is_one_pygls_would_keep() -> None:
    """A notification handler added later as a generator would bring the leak back."""
    import inspect

    from loomline.server.app import server

    kept = sorted(
        method
        for method, handler in server.protocol.fm.builtin_features.items()
        if types.METHOD_TO_TYPES.get(method, (None, None))[1] is None  # a notification
        and (inspect.isgeneratorfunction(handler) or inspect.iscoroutinefunction(handler))
    )
    assert kept == ["exit"]  # once per process
