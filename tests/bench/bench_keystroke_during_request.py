"""The keystroke typed while an inline completion request runs, on a 408,003-character line.

The server over stdio with the scripted engine (answer "1", no debounce): a request at the
cursor, 50 ms later a didChange typing "," and another request; the keystroke's wait is the
time from sending it to the answer of the request after it (the event loop was held by the
first request's work). Median of several, in milliseconds, for the cursor at the end of the
long line and on a short line above it.

    nice -n 10 .venv/bin/python tests/bench/bench_keystroke_during_request.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

SERVER = "from loomline.server.cli import main; main(['--log-level', 'warning', 'lsp'])"
LINE = "x = [" + ", ".join(["1"] * 136000) + "\n"
URI = "file:///tmp/loomline-bench/big.py"
SETTINGS = {"backend": "fake", "fake": {"response": "1"},
            "completion": {"adaptiveDebounce": False}}


class Client:
    """A bare LSP client over the server's stdio: requests, notifications, timed answers."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.answers: dict[int, float] = {}
        self.changed = threading.Condition()
        self.lock = threading.Lock()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = 0
            while True:
                header = stdout.readline()
                if not header:
                    return
                if not header.strip():
                    break
                name, value = header.decode().split(":", 1)
                if name.lower() == "content-length":
                    length = int(value)
            body = json.loads(stdout.read(length))
            if "id" in body and "method" in body:  # a request of the server's
                self.send({"jsonrpc": "2.0", "id": body["id"], "result": None})
            elif "id" in body:
                with self.changed:
                    self.answers[body["id"]] = time.perf_counter()
                    self.changed.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        assert self.process.stdin is not None
        with self.lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
            self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def answered_at(self, request_id: int) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: request_id in self.answers, timeout=120):
                raise TimeoutError(f"no answer to request {request_id}")
            return self.answers[request_id]

    def inline(self, line: int, character: int) -> int:
        return self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": URI}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}})

    def close(self) -> None:
        self.answered_at(self.request("shutdown", None))
        self.notify("exit", None)
        self.process.wait(timeout=60)


def keystroke_waits(text: str, line: int, column: int, runs: int) -> list[float]:
    """The wait (ms) of each of ``runs`` keystrokes typed 50 ms after a request."""
    client = Client()
    client.answered_at(client.request("initialize", {
        "processId": None, "rootUri": None, "capabilities": {},
        "initializationOptions": SETTINGS}))
    client.notify("initialized", {})
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": text}})
    client.answered_at(client.inline(line, column))  # the first parse is not a keystroke
    waits = []
    for version in range(2, runs + 2):
        first = client.inline(line, column)
        time.sleep(0.05)  # the user types while the request is being answered
        at = {"line": line, "character": column}
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": URI, "version": version},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": ","}]})
        sent = time.perf_counter()
        column += 1
        waits.append((client.answered_at(client.inline(line, column)) - sent) * 1000)
        client.answered_at(first)
    client.close()
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("keystroke wait during a completion request, ms (median; all runs)")
    for name, text, line, column in [
        (f"end of the {len(LINE):,}-character line", LINE, 0, len(LINE) - 1),
        ("short line above it", "y = \n" + LINE, 0, 4),
    ]:
        waits = keystroke_waits(text, line, column, args.runs)
        print(f"{statistics.median(waits):9.1f}  {name}  {[round(w) for w in waits]}")


if __name__ == "__main__":
    main()
