"""A soak run against a real ``loomline lsp`` over stdio: keystrokes and completions, with the
server's resident memory read between rounds (the bench prints it, a test bounds it).

The client speaks raw JSON-RPC (no pygls on this side), waits for every request's answer and
syncs after each round of notifications with a request, so memory is read when the server has
handled everything sent so far. The fake backend answers, so no model is needed.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import server_command

URI = "file:///tmp/soak.py"
# Typed line after line, one character per didChange; each line differs from the ones before
# (its number), as a user's lines do, so caches keyed by a line's text see new keys.
TYPED = "total_{n} = compute(values, limit={n})\n"
# Typed lines are deleted when there are this many (a 50,000-keystroke document would
# otherwise hold 1,250 lines, and its text and syntax tree would grow the server by megabytes),
# unless the session grows its document.
KEPT_LINES = 40


def rss_bytes(pid: int) -> int:
    """The process' resident set size (Linux: ``VmRSS`` in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class SoakServer:
    """A ``loomline lsp`` subprocess driven with raw frames."""

    # The command line of the server (default: ``loomline lsp`` as the tests run it).
    command: list[str] = field(default_factory=lambda: server_command("lsp"))
    process: subprocess.Popen[bytes] = field(init=False)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _next_id: int = 0
    # Keep every typed line (the document grows) instead of deleting them every KEPT_LINES.
    grow: bool = False
    # Seconds to wait for an answer (a server traced by tracemalloc is several times slower).
    timeout: float = 60.0
    line: int = 0
    column: int = 0
    version: int = 1
    typed_lines: int = 0

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read, daemon=True).start()

    # ---- wire -----------------------------------------------------------------------
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
            length = int(header.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            message = json.loads(stdout.read(length))
            if "id" in message and "method" not in message:
                with self._arrived:
                    self.answers[message["id"]] = message
                    self._arrived.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        stdin.flush()

    def request(self, method: str, params: Any, timeout: float | None = None) -> dict[str, Any]:
        timeout = self.timeout if timeout is None else timeout
        self._next_id += 1
        msg_id = self._next_id
        self.send({"id": msg_id, "method": method, "params": params})
        with self._arrived:
            if not self._arrived.wait_for(lambda: msg_id in self.answers, timeout):
                raise AssertionError(f"no answer to {method} ({msg_id})")
            return self.answers.pop(msg_id)

    # ---- a session --------------------------------------------------------------------
    def start(self) -> None:
        options = {"backend": "fake", "fake": {"chunkDelayMs": 0}}
        # A long wait: a server traced by tracemalloc takes a minute to start on a busy machine.
        self.request("initialize", {"processId": None, "capabilities": {},
                                    "initializationOptions": options}, timeout=600)
        self.send({"method": "initialized", "params": {}})
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": URI, "languageId": "python", "version": 1, "text": ""}}})

    def keystrokes(self, count: int) -> None:
        """``count`` one-character didChange notifications, as typing sends them."""
        for _ in range(count):
            char = TYPED.format(n=self.typed_lines)[self.column]
            self.version += 1
            start = {"line": self.line, "character": self.column}
            self.send({"method": "textDocument/didChange", "params": {
                "textDocument": {"uri": URI, "version": self.version},
                "contentChanges": [{"range": {"start": start, "end": start}, "text": char}],
            }})
            if char == "\n":
                self.line, self.column = self.line + 1, 0
                self.typed_lines += 1
                if self.line == KEPT_LINES and not self.grow:
                    self._delete_typed_lines()
            else:
                self.column += 1
        self.sync()

    def _delete_typed_lines(self) -> None:
        """Select what was typed and delete it (one more didChange), as a user who rewrites a
        function: the document stays small, so what grows is what the server keeps."""
        self.version += 1
        start, end = {"line": 0, "character": 0}, {"line": self.line, "character": 0}
        self.send({"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": URI, "version": self.version},
            "contentChanges": [{"range": {"start": start, "end": end}, "text": ""}],
        }})
        self.line = 0

    def completions(self, count: int) -> None:
        """``count`` inline completions at the cursor, one after another, each answered."""
        for _ in range(count):
            answer = self.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": URI},
                "position": {"line": self.line, "character": self.column},
                "context": {"triggerKind": 1},
            })
            if "result" not in answer:
                raise AssertionError(f"a completion failed: {answer}")

    def sync(self) -> dict[str, Any]:
        """A request answered after everything sent before it: the server's copy's version."""
        answer = self.request("workspace/executeCommand", {
            "command": "loomline.documentText", "arguments": [{"textDocument": {"uri": URI}}]})
        result: dict[str, Any] = answer["result"]
        if result["version"] != self.version:
            raise AssertionError(f"the server is at version {result['version']}")
        return result

    def rss(self) -> int:
        return rss_bytes(self.process.pid)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


def soak(
    keystrokes: int,
    completions: int,
    every: int,
    report: Callable[[str, int, int], None] = lambda phase, done, rss: None,
    warm_up: tuple[int, int] = (5000, 200),
    *,
    grow: bool = False,
    command: list[str] | None = None,
    mark: Callable[[SoakServer], None] = lambda server: None,
) -> tuple[int, int]:
    """Warm up, then ``keystrokes`` keystrokes and ``completions`` completions, reporting the
    resident memory every ``every`` keystrokes (and every ``every // 10`` completions).
    ``grow``: keep every typed line (the document grows by each keystroke's character);
    ``command``: the server's command line; ``mark`` is called after the warm-up and at the
    end, with everything sent answered. Returns (resident bytes after the warm-up, at the end)."""
    server = SoakServer(command=command) if command else SoakServer()
    server.grow = grow
    # A traced server is several times slower, and a growing document's keystrokes cost
    # more as it grows (a busy machine's 5,000 of them took over a minute at 40,000 chars).
    server.timeout = 60.0 if command is None and not grow else 1800.0
    try:
        server.start()
        server.keystrokes(warm_up[0])
        server.completions(warm_up[1])
        server.sync()
        mark(server)
        baseline = server.rss()
        report("start", 0, baseline)
        done = 0
        while done < keystrokes:
            step = min(every, keystrokes - done)
            server.keystrokes(step)
            done += step
            report("keystrokes", done, server.rss())
        done = 0
        while done < completions:
            step = min(max(every // 10, 1), completions - done)
            server.completions(step)
            done += step
            server.sync()
            report("completions", done, server.rss())
        server.sync()
        mark(server)
        return baseline, server.rss()
    finally:
        server.close()
