"""``loomline lsp --tcp``: a token on connect, one session, and the session's end ends the
server. Raw sockets play the editor and the intruder."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_command

TOKEN = "test-token-0123456789"
URI = "file:///tmp/tcp.py"
SECRET_TEXT = "API_KEY = 'do-not-leak'\ndef f():\n    "


class TcpServer:
    """``loomline lsp --tcp 127.0.0.1:0``; its stderr is kept, its port read from it."""

    def __init__(
        self, token: str | None = TOKEN, log_level: str = "info",
        address: str = "127.0.0.1:0", *extra: str,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k != "LOOMLINE_TCP_TOKEN"}
        if token is not None:
            env["LOOMLINE_TCP_TOKEN"] = token
        command = server_command("lsp", "--tcp", address, *extra)
        command[command.index("--log-level") + 1] = log_level
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
        self.stderr: list[str] = []
        self._listening = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._listening.wait(60):
            raise AssertionError(f"the server did not listen: {self.stderr}")

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr.append(line)
            if match := re.search(r"listening on [\d.]+:(\d+)", line):
                self.port = int(match.group(1))
                self._listening.set()

    def connect(self) -> Client:
        return Client(self.port)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._reader.join(10)  # every line of stderr read


class Client:
    """One TCP connection speaking raw JSON-RPC; collects what arrives, notices the close."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.received: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                while b"\r\n\r\n" in buffer:
                    header, _, rest = buffer.partition(b"\r\n\r\n")
                    length = int(re.search(rb"Content-Length: (\d+)", header).group(1))  # type: ignore[union-attr]
                    if len(rest) < length:
                        break
                    message, buffer = json.loads(rest[:length]), rest[length:]
                    with self._arrived:
                        self.received.append(message)
                        self._arrived.notify_all()
        except OSError:
            pass
        finally:
            self.closed.set()
            with self._arrived:
                self._arrived.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def answer(self, msg_id: Any, timeout: float = 60.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.received if m.get("id") == msg_id
                         and "method" not in m), None)

        with self._arrived:
            if not self._arrived.wait_for(lambda: found() is not None or self.closed.is_set(),
                                          timeout):
                raise AssertionError(f"no answer to {msg_id!r}")
            answer = found()
        if answer is None:
            raise AssertionError(f"closed without answering {msg_id!r}: {self.received}")
        return answer

    def initialize(
        self, msg_id: int = 1, token: str | None = TOKEN, process_id: int | None = None
    ) -> None:
        init_options: dict[str, Any] = {"backend": "fake"}
        if token is not None:
            init_options["token"] = token
        self.send({"id": msg_id, "method": "initialize", "params": {
            "processId": process_id, "capabilities": {},
            "initializationOptions": init_options}})

    def start(self) -> None:
        self.initialize()
        assert "result" in self.answer(1)
        self.send({"method": "initialized", "params": {}})
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": URI, "languageId": "python", "version": 1, "text": SECRET_TEXT}}})

    def inline(self, msg_id: int) -> dict[str, Any]:
        self.send({"id": msg_id, "method": "textDocument/inlineCompletion", "params": {
            "textDocument": {"uri": URI}, "position": {"line": 2, "character": 4},
            "context": {"triggerKind": 1}}})
        return self.answer(msg_id)

    def close(self) -> None:
        # shutdown first: a close alone waits for the reading thread's recv to end.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[TcpServer]:
    running = TcpServer()
    try:
        yield running
    finally:
        running.close()


def show_context(msg_id: int) -> dict[str, Any]:
    return {"id": msg_id, "method": "workspace/executeCommand", "params": {
        "command": "loomline.showContext",
        "arguments": [{"textDocument": {"uri": URI}, "position": {"line": 2, "character": 4}}]}}


def document_text(msg_id: int) -> dict[str, Any]:
    return {"id": msg_id, "method": "workspace/executeCommand", "params": {
        "command": "loomline.documentText", "arguments": [{"textDocument": {"uri": URI}}]}}


@pytest.mark.parametrize("first", ["no-token", "wrong-token", "not-initialize"])
def test_a_client_without_the_token_is_refused_and_closed(server, first):
    intruder = server.connect()
    if first == "not-initialize":
        intruder.send(show_context(1))
    else:
        intruder.initialize(token=None if first == "no-token" else TOKEN[:-1] + "X")
    refusal = intruder.answer(1)
    assert refusal["error"]["code"] == -32001
    assert "token" in refusal["error"]["message"]
    assert intruder.closed.wait(30)
    assert [m for m in intruder.received if "result" in m] == []
    # The server goes on listening for the real client.
    editor = server.connect()
    editor.start()
    assert editor.inline(2)["result"]["items"][0]["insertText"] == "return 42"


def test_a_second_client_cannot_see_or_steer_the_first(server):
    editor = server.connect()
    editor.start()
    assert editor.inline(2)["result"]["items"]
    # Without initialize, and with the right token: refused either way, and closed.
    for intruder_first in (document_text(1), None):
        intruder = server.connect()
        if intruder_first is None:
            intruder.initialize()
        else:
            intruder.send(intruder_first)
        refusal = intruder.answer(1)
        assert refusal["error"]["code"] == -32003
        assert "Another client is connected" in refusal["error"]["message"]
        # Anything sent after the refusal goes nowhere: settings, commands, shutdown.
        try:
            intruder.send({"method": "workspace/didChangeConfiguration",
                           "params": {"settings": {"fake": {"response": "stolen"}}}})
            intruder.send(show_context(2))
            intruder.send({"id": 3, "method": "shutdown"})
        except OSError:
            pass
        assert intruder.closed.wait(30)
        assert [m["id"] for m in intruder.received] == [1]
        assert SECRET_TEXT not in json.dumps(intruder.received)
        intruder.close()
    # The first client is still served, its answers come to it, its settings stand.
    assert editor.inline(3)["result"]["items"][0]["insertText"] == "return 42"
    assert editor.answer(3) and server.process.poll() is None
    editor.send(document_text(4))
    assert editor.answer(4)["result"]["text"] == SECRET_TEXT


def test_the_clients_disconnect_ends_the_server(server):
    editor = server.connect()
    editor.start()
    assert editor.inline(2)["result"]["items"]
    editor.close()
    assert server.process.wait(30) == 0


def test_shutdown_and_exit_end_the_server(server):
    editor = server.connect()
    editor.start()
    editor.send({"id": 2, "method": "shutdown"})
    assert editor.answer(2)["result"] is None
    editor.send({"method": "exit"})
    assert server.process.wait(30) == 0


def test_a_generated_token_is_printed_once_and_never_logged():
    server = TcpServer(token=None, log_level="debug")
    try:
        printed = [line for line in server.stderr if "TCP token" in line]
        assert len(printed) == 1
        token = printed[0].rsplit(": ", 1)[1].strip()
        assert len(token) >= 40
        editor = server.connect()
        editor.initialize(token=token)
        assert "result" in editor.answer(1)
        editor.send({"method": "initialized", "params": {}})
        editor.send(document_text(2))
        editor.answer(2)
        editor.close()
        assert server.process.wait(30) == 0
    finally:
        server.close()
    assert sum(line.count(token) for line in server.stderr) == 1


def test_a_large_first_message_is_refused_unread(server):
    intruder = server.connect()
    intruder.sock.sendall(b"Content-Length: 50000000\r\n\r\n")
    assert intruder.closed.wait(30)
    assert [m["error"]["code"] for m in intruder.received] == [-32001]
    editor = server.connect()
    editor.start()
    assert editor.inline(2)["result"]["items"]


async def test_an_lsp_client_library_connects_with_the_token_in_its_options(server):
    """pygls' own client over TCP, as an editor would: the token in initializationOptions."""
    from lsprotocol import types

    from tests.lsp_client import LoomlineClient, inline, open_doc

    client = LoomlineClient()
    await client.start_tcp("127.0.0.1", server.port)
    result = await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), process_id=os.getpid(),
        initialization_options={"backend": "fake", "token": TOKEN}))
    assert result.capabilities.inline_completion_provider
    open_doc(client, URI, SECRET_TEXT)
    answer = await inline(client, URI, 2, 4)
    assert answer is not None and answer.items[0].insert_text == "return 42"
    await client.shutdown_session()
    assert server.process.wait(30) == 0


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", ":::0"])
def test_an_address_beyond_this_machine_is_refused_without_allow_remote(address):
    result = subprocess.run(server_command("lsp", "--tcp", address), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "--allow-remote" in result.stderr and "not a loopback address" in result.stderr
    assert "listening on" not in result.stderr


def test_allow_remote_listens_beyond_loopback_with_a_warning_and_the_token_still_required():
    server = TcpServer(TOKEN, "info", "0.0.0.0:0", "--allow-remote")
    try:
        assert any("warning" in line and "0.0.0.0" in line for line in server.stderr)
        intruder = server.connect()
        intruder.initialize(token=None)
        assert intruder.answer(1)["error"]["code"] == -32001
        assert intruder.closed.wait(30)
        client = server.connect()
        client.start()
        assert client.inline(2)["result"]["items"]
    finally:
        server.close()
