"""Malformed bytes on the wire: the server answers what it can and keeps serving."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import server_command


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def message(payload: dict) -> bytes:
    return frame(json.dumps(payload).encode())


def read_messages(stdout, until_id: int, timeout: float = 30.0) -> list[dict]:
    """Read framed messages until the response with ``until_id`` arrives."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            byte = stdout.read(1)
            if not byte:
                return out
            header += byte
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        body = json.loads(stdout.read(length))
        out.append(body)
        if body.get("id") == until_id:
            return out
    return out


def test_invalid_utf8_and_broken_json_do_not_stop_the_server(tmp_path):
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [*server_command("--log-file", str(log), "lsp")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(
            message(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"capabilities": {}, "initializationOptions": {"backend": "fake"}},
                }
            )
        )
        process.stdin.write(message({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        # Broken JSON, then a body that is not UTF-8, then a document with a lone surrogate.
        process.stdin.write(frame(b'{"jsonrpc": "2.0", "id": 2, "method": '))
        process.stdin.write(frame(b'{"jsonrpc": "2.0", "method": "x", "params": "\xff\xfe"}'))
        process.stdin.write(
            message(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": "file:///tmp/bad.py",
                            "languageId": "python",
                            "version": 1,
                            "text": "def f():\n    \udc80\n    ",
                        }
                    },
                }
            )
        )
        process.stdin.write(
            message(
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "textDocument/inlineCompletion",
                    "params": {
                        "textDocument": {"uri": "file:///tmp/bad.py"},
                        "position": {"line": 2, "character": 4},
                        "context": {"triggerKind": 1},
                    },
                }
            )
        )
        process.stdin.flush()
        messages = read_messages(process.stdout, until_id=3)
        answer = next((m for m in messages if m.get("id") == 3), None)
        assert answer is not None, f"no answer after bad input: {messages}"
        assert "result" in answer and "items" in answer["result"]
        assert process.poll() is None  # still running
    finally:
        process.kill()
        process.wait(10)
