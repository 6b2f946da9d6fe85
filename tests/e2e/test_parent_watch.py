"""The server exits when the client's process (``initialize``'s ``processId``) dies, over
stdio (its pipe held open by someone else) and over TCP (its socket still connected)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import server_command
from tests.e2e.test_lsp_tcp import TcpServer


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for the editor: a process the test can end."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(10)


def end(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(10)  # reaped: not even a zombie is left


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_stdio_server_exits_when_the_client_process_dies(parent):
    server = subprocess.Popen(server_command("lsp"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(frame({"id": 1, "method": "initialize", "params": {
            "processId": parent.pid, "capabilities": {},
            "initializationOptions": {"backend": "fake"}}}))
        server.stdin.flush()
        assert b"capabilities" in server.stdout.read1(65536)
        with pytest.raises(subprocess.TimeoutExpired):
            server.wait(4)  # alive while its client is (the watch looks every 3 s)
        end(parent)
        # stdin is still open (the test holds it): only the watch can end the server.
        assert server.wait(30) == 0
    finally:
        server.kill()
        server.wait(10)


def test_tcp_server_exits_when_the_client_process_dies(parent):
    server = TcpServer()
    try:
        editor = server.connect()
        editor.initialize(process_id=parent.pid)
        assert "result" in editor.answer(1)
        end(parent)
        assert server.process.wait(30) == 0
        assert any("has ended; exiting" in line for line in server.stderr)
    finally:
        server.close()
