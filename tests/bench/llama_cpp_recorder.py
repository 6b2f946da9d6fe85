"""llama-cpp-python's OpenAI server (``python -m llama_cpp.server``) with a log of every HTTP
exchange it serves, for ``check_llama_cpp.py``: run it with the Python that has
``llama-cpp-python[server]`` (not the project's venv; nothing here imports Loomline)::

    LLAMA_RECORD=/tmp/exchanges.jsonl python tests/bench/llama_cpp_recorder.py --model M.gguf ...

The arguments are the server's own. Each exchange becomes one JSON line when it ends: method,
path, request body, status, the response body (up to 256 KiB), and wall-clock times (s) of its
arrival, first response byte, last response byte and the client's disconnect. It sits inside
the server process as ASGI middleware, so the network path and the server's behaviour (one
request at a time, interrupts, disconnects) are exactly the real server's.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

MAX_KEPT = 256 * 1024


class ExchangeRecorder:
    """ASGI middleware appending one JSON line per HTTP exchange to ``path``."""

    def __init__(self, app: App, path: str) -> None:
        self._app = app
        self._path = path

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        entry: dict[str, Any] = {
            "method": scope["method"], "path": scope["path"], "arrived": time.time(),
        }
        request: list[bytes] = []
        response = bytearray()

        async def observed_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            elif message["type"] == "http.disconnect":
                entry.setdefault("disconnected", time.time())
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body:
                    entry.setdefault("first_byte", time.time())
                    entry["last_byte"] = time.time()
                    response.extend(body[: MAX_KEPT - len(response)])
            await send(message)

        try:
            await self._app(scope, observed_receive, observed_send)
        finally:
            entry["finished"] = time.time()
            entry["request"] = b"".join(request).decode("utf-8", "replace")
            entry["response"] = response.decode("utf-8", "replace")
            with open(self._path, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")


def main() -> None:
    import llama_cpp.server.__main__ as server_main

    path = os.environ["LLAMA_RECORD"]
    create_app = server_main.create_app

    def recorded_app(*args: Any, **kwargs: Any) -> Any:
        return ExchangeRecorder(create_app(*args, **kwargs), path)

    server_main.create_app = recorded_app  # type: ignore[assignment]
    sys.argv[0] = "llama_cpp.server"
    server_main.main()


if __name__ == "__main__":
    main()
