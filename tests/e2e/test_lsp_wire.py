"""The real server over stdio against bad frames, bad params and the LSP lifecycle: every
request gets a result or a JSON-RPC error, and a bad frame never silences the server."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_command


def frame(body: bytes, header: bytes = b"Content-Length: %d\r\n\r\n", delta: int = 0) -> bytes:
    return header % (len(body) + delta) + body


def payload(msg_id: int | None, method: str, params: Any = None, **extra: Any) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, **extra}
    if msg_id is not None:
        message["id"] = msg_id
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


INITIALIZE = payload(
    1, "initialize", {"capabilities": {}, "initializationOptions": {"backend": "fake"}}
)
INITIALIZED = payload(None, "initialized", {})
OPEN = payload(
    None,
    "textDocument/didOpen",
    {"textDocument": {"uri": "file:///tmp/w.py", "languageId": "python", "version": 1,
                      "text": "def f():\n    "}},
)


def inline(msg_id: int, **params: Any) -> bytes:
    base: dict[str, Any] = {
        "textDocument": {"uri": "file:///tmp/w.py"},
        "position": {"line": 1, "character": 4},
        "context": {"triggerKind": 1},
    }
    base.update(params)
    return payload(msg_id, "textDocument/inlineCompletion", {k: v for k, v in base.items()
                                                              if v is not ...})


class Server:
    """A `loomline lsp` process and a reader thread that collects its messages by id."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            server_command("lsp"), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.by_id: dict[Any, dict[str, Any]] = {}
        self.other: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = stdout.read(1)
                if not byte:
                    return
                header += byte
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            message = json.loads(stdout.read(length))
            with self._arrived:
                if "error" in message and message.get("id") is None:
                    self.other.append(message)
                elif "id" in message and "method" not in message:
                    self.by_id[message["id"]] = message
                else:
                    self.other.append(message)
                self._arrived.notify_all()

    def send(self, *data: bytes) -> None:
        assert self.process.stdin is not None
        for chunk in data:
            self.process.stdin.write(chunk)
        self.process.stdin.flush()

    def answer(self, msg_id: Any, timeout: float = 60.0) -> dict[str, Any]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: msg_id in self.by_id, timeout):
                raise AssertionError(f"no answer to {msg_id!r}; got {list(self.by_id)}")
            return self.by_id[msg_id]

    def error_popups(self) -> list[dict[str, Any]]:
        """The "Error in server" pop-ups pygls shows for a handler's exception."""
        with self._arrived:
            return [m for m in self.other if m.get("method") == "window/showMessage"
                    and "Error in server" in m["params"]["message"]]

    def null_params_error(self, msg_id: int, method: str) -> dict[str, Any]:
        """The error answering a ``method`` request whose params are null."""
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": None}
        self.send(frame(json.dumps(message).encode()))
        return self.answer(msg_id)["error"]

    def errors_with_null_id(self) -> list[dict[str, Any]]:
        with self._arrived:
            return [m for m in self.other if "error" in m]

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


def start(server: Server) -> None:
    server.send(frame(INITIALIZE), frame(INITIALIZED), frame(OPEN))
    assert "result" in server.answer(1)


@pytest.mark.parametrize(
    "bad_frame",
    [
        frame(payload(50, "loomline/none"), delta=-10),
        frame(payload(50, "loomline/none"), delta=10),
        frame(payload(50, "loomline/none"), header=b"content-length: %d\r\n\r\n"),
        frame(payload(50, "loomline/none"), header=b"Content-Length: %d\n\n"),
        b"Content-Length: ten\r\n\r\n" + payload(50, "loomline/none"),
        b"Content-Length: 1000000000000\r\n\r\n" + payload(50, "loomline/none"),
    ],
    ids=["length-10", "length+10", "lower-case", "lf-only", "not-a-number", "absurd"],
)
def test_a_bad_frame_never_silences_the_server(server, bad_frame):
    start(server)
    server.send(bad_frame, frame(inline(2)))
    answer = server.answer(2)
    assert answer["result"]["items"][0]["insertText"] == "return 42"
    assert server.process.poll() is None


@pytest.mark.parametrize(
    "params",
    [
        {"position": {"line": -1, "character": 0}},
        {"context": ...},
        {"context": {"triggerKind": 99}},
        {"position": {"line": "one", "character": 0}},
        {"textDocument": None},
        # Values pygls' converter would coerce: each must be refused, not read as another.
        {"position": {"line": "1", "character": 4}},
        {"position": {"line": 1, "character": 1.5}},
        {"position": {"line": True, "character": 4}},
        {"position": [1, 4]},
        {"textDocument": "file:///tmp/w.py"},
        {"textDocument": {"uri": 5}},
        {"context": {"triggerKind": True}},
        {"context": {"triggerKind": "1"}},
    ],
    ids=["negative-line", "no-context", "trigger-kind-99", "wrong-type", "null-document",
         "line-as-string", "fractional-character", "line-as-boolean", "position-as-array",
         "document-as-string", "uri-as-number", "trigger-kind-boolean", "trigger-kind-string"],
)
def test_invalid_params_get_an_invalid_params_error(server, params):
    start(server)
    server.send(frame(inline(2, **params)))
    error = server.answer(2)["error"]
    assert error["code"] == -32602
    # The message says which field is wrong, in the LSP's names.
    field = next(iter(params))
    assert error["message"].startswith("Invalid params for textDocument/inlineCompletion: ")
    assert field in error["message"]
    assert server.null_params_error(3, "textDocument/inlineCompletion")["code"] == -32602
    # ...and no "Error in server" pop-up for either.
    assert not server.error_popups()
    server.send(frame(inline(4)))
    assert "result" in server.answer(4)


def test_broken_json_gets_a_parse_error_and_the_stream_goes_on(server):
    start(server)
    server.send(frame(b'{"jsonrpc": "2.0", "id": 2, "method": '), frame(inline(3)))
    assert "result" in server.answer(3)
    assert [m["error"]["code"] for m in server.errors_with_null_id()] == [-32700]


def test_the_lifecycle_is_enforced(server):
    server.send(frame(inline(7)))
    assert server.answer(7)["error"]["code"] == -32002
    start(server)
    server.send(frame(payload(8, "shutdown")))
    assert server.answer(8)["result"] is None
    server.send(frame(inline(9)))
    assert server.answer(9)["error"]["code"] == -32600
    server.send(frame(payload(None, "exit")))
    assert server.process.wait(30) == 0


def test_exit_without_shutdown_exits_with_1(server):
    start(server)
    server.send(frame(payload(None, "exit")))
    assert server.process.wait(30) == 1


def test_a_failing_notification_is_logged_not_shown(server):
    start(server)
    # A change to a document that was never opened.
    change = payload(None, "textDocument/didChange", {
        "textDocument": {"uri": "file:///tmp/never-opened.py", "version": 2},
        "contentChanges": [{"text": "x = 1\n"}],
    })
    server.send(frame(change), frame(inline(2)))
    assert "result" in server.answer(2)
    assert not server.error_popups()


@pytest.mark.parametrize("bad_id", [{"x": 1}, [7], True, 1.5])
def test_a_request_with_an_invalid_id_is_refused_and_not_carried_out(server, bad_id):
    start(server)
    message = {"jsonrpc": "2.0", "id": bad_id, "method": "shutdown"}
    server.send(frame(json.dumps(message).encode()), frame(inline(2)))
    # The shutdown was not carried out: the next request is served.
    assert "result" in server.answer(2)
    assert [m["error"]["code"] for m in server.errors_with_null_id()] == [-32600]


WRONG_TYPES = [
    ("textDocument/completion", {"textDocument": {"uri": "file:///tmp/w.py"},
                                 "position": {"line": "1", "character": 4}}, "position.line"),
    ("textDocument/codeAction", {"textDocument": {"uri": "file:///tmp/w.py"},
                                 "range": {"start": {"line": 0, "character": 0},
                                           "end": {"line": 1, "character": 2.0}},
                                 "context": {"diagnostics": []}}, "range.end.character"),
    ("workspace/executeCommand", {"command": 7, "arguments": []}, "command"),
    ("workspace/executeCommand", {"command": "loomline.showContext", "arguments": [
        {"textDocument": {"uri": "file:///tmp/w.py"}, "position": {"line": 1, "character": "4"}}
    ]}, "position.character"),
    ("workspace/executeCommand", {"command": "loomline.showContext",
                                  "arguments": ["file:///tmp/w.py"]}, "argument"),
]


@pytest.mark.parametrize("method,params,field", WRONG_TYPES,
                         ids=["completion", "code-action", "command-name", "show-context",
                              "show-context-not-an-object"])
def test_wrong_types_get_invalid_params_for_every_request_we_handle(server, method, params,
                                                                    field):
    start(server)
    server.send(frame(payload(2, method, params)))
    error = server.answer(2)["error"]
    assert error["code"] == -32602 and field in error["message"], error
    assert not server.error_popups()
    server.send(frame(inline(3)))
    assert "result" in server.answer(3)


def test_wrong_types_before_initialize_get_invalid_params(server):
    server.send(frame(payload(1, "initialize", {"processId": "12", "capabilities": {}})))
    error = server.answer(1)["error"]
    assert error["code"] == -32602 and "processId" in error["message"]
    start_again = payload(2, "initialize", {"processId": None, "capabilities": {},
                                            "initializationOptions": {"backend": "fake"}})
    server.send(frame(start_again), frame(INITIALIZED), frame(OPEN), frame(inline(3)))
    assert "result" in server.answer(3)


def inline_edit(msg_id: int, **params: Any) -> bytes:
    base: dict[str, Any] = {
        "textDocument": {"uri": "file:///tmp/w.py", "version": 1},
        "position": {"line": 1, "character": 4},
        "context": {"triggerKind": 1},
    }
    base.update(params)
    return payload(msg_id, "textDocument/copilotInlineEdit",
                   {k: v for k, v in base.items() if v is not ...})


@pytest.mark.parametrize(
    "params,field",
    [
        ({"position": {"line": -1, "character": 0}}, "position"),
        ({"position": {"line": "1", "character": 4}}, "position.line"),
        ({"position": {"line": True, "character": False}}, "position.line"),
        ({"position": {"line": 1, "character": 1.5}}, "position.character"),
        ({"textDocument": {"uri": 5}}, "textDocument.uri"),
        ({"textDocument": {"uri": "file:///tmp/w.py", "version": "1"}}, "textDocument.version"),
        ({"textDocument": ...}, "textDocument"),
        ({"context": {"triggerKind": 99}}, "context.triggerKind"),
        ({"context": {"triggerKind": True}}, "context.triggerKind"),
    ],
    ids=["negative-line", "line-as-string", "booleans-as-position", "fractional-character",
         "uri-as-number", "version-as-string", "no-document", "trigger-kind-99",
         "trigger-kind-boolean"],
)
def test_next_edit_requests_with_invalid_params_get_an_invalid_params_error(server, params,
                                                                            field):
    start(server)
    server.send(frame(inline_edit(2, **params)))
    error = server.answer(2)["error"]
    assert error["code"] == -32602, error
    assert error["message"].startswith("Invalid params for textDocument/copilotInlineEdit: ")
    assert field in error["message"], error
    assert server.null_params_error(3, "textDocument/copilotInlineEdit")["code"] == -32602
    # copilot-lsp sends no context, and no version: both are fine.
    server.send(frame(inline_edit(4, context=..., textDocument={"uri": "file:///tmp/w.py"})))
    assert isinstance(server.answer(4)["result"]["edits"], list)
    assert not server.error_popups()


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 81, "method": 5},
        {"jsonrpc": "2.0", "id": 81, "method": None, "params": {}},
        {"jsonrpc": "2.0", "id": 81, "params": {}},
        {"jsonrpc": "2.0", "id": 81},
    ],
    ids=["method-as-number", "method-null", "no-method", "only-an-id"],
)
def test_a_message_without_a_usable_method_gets_invalid_request(server, message):
    start(server)
    server.send(frame(json.dumps(message).encode()))
    error = server.answer(81)["error"]
    assert error["code"] == -32600 and "method" in error["message"], error
    server.send(frame(inline(2)))
    assert "result" in server.answer(2)
