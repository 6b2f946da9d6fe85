"""A scripted OpenAI-compatible server on 127.0.0.1, and helpers to drive the engine at it.

The fake server (asyncio streams, HTTP/1.1, chunked SSE) records each request and notices
when the client hangs up mid-answer, which is how cancellation is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loomline.completion.engines.base import GenerationRequest, GenerationStats, SamplingParams
from loomline.completion.engines.openai import OpenAICompletionsEngine
from loomline.completion.settings import EngineSettings, Settings


@dataclass
class FakeRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # Set when the client hangs up while this request is being answered.
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    def json(self) -> Any:
        return json.loads(self.body)


Script = Callable[["FakeOpenAI", FakeRequest, asyncio.StreamWriter], Awaitable[bool]]


def sse_event(payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def choice_event(text: str, index: int = 0, finish: str | None = None,
                 logprob: float | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": index, "text": text, "finish_reason": finish}
    if logprob is not None:
        choice["logprobs"] = {"tokens": [text], "token_logprobs": [logprob]}
    return {"object": "text_completion", "choices": [choice]}


def usage_event(prompt: int, completion: int, cached: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"object": "text_completion", "choices": [], "usage": usage}


SSE_HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")


async def send_events(writer: asyncio.StreamWriter, events: list[Any],
                      delay: float = 0.0, done: bool = True) -> None:
    writer.write(SSE_HEADERS)
    await writer.drain()
    for event in events:
        writer.write(chunk(sse_event(event)))
        await writer.drain()
        if delay:
            await asyncio.sleep(delay)
    if done:
        writer.write(chunk(sse_event("[DONE]")) + b"0\r\n\r\n")
        await writer.drain()


async def stream_words(server: FakeOpenAI, request: FakeRequest,
                       writer: asyncio.StreamWriter) -> bool:
    """The default answer: three chunks, a finish reason and usage."""
    await send_events(writer, [
        choice_event("return"), choice_event(" a +"), choice_event(" b", finish="stop"),
        usage_event(11, 4, cached=8),
    ])
    return True


async def stream_forever(server: FakeOpenAI, request: FakeRequest,
                         writer: asyncio.StreamWriter) -> bool:
    """One token every 20 ms for a long time: only a disconnect ends it early."""
    await send_events(writer, [choice_event(f" t{i}") for i in range(500)], delay=0.02)
    return True


async def json_answer(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "X")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()


@dataclass
class FakeOpenAI:
    script: Script = stream_words
    models: list[str] = field(default_factory=lambda: ["test-model"])
    port: int = 0
    requests: list[FakeRequest] = field(default_factory=list)
    probes: int = 0
    # How long ``/models`` takes to answer (a server busy prefilling).
    models_delay_s: float = 0.0
    # Probes that arrived while a completion was being answered.
    probes_during_completions: int = 0
    _answering: int = 0
    disconnects: int = 0
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def completions(self) -> list[FakeRequest]:
        return [r for r in self.requests if r.path.endswith("/completions")]

    async def start(self) -> FakeOpenAI:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and drop every open connection (a crashed server)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                if request.path.endswith("/models"):
                    self.probes += 1
                    self.probes_during_completions += self._answering > 0
                    await self.answer_models(writer)
                    continue
                watcher = asyncio.create_task(self._watch(reader, request))
                self._answering += 1
                try:
                    keep = await self.script(self, request, writer)
                except (ConnectionError, OSError):
                    keep = False
                finally:
                    self._answering -= 1
                if not keep or watcher.done():
                    watcher.cancel()
                    break
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def answer_models(self, writer: asyncio.StreamWriter) -> None:
        """The answer to ``GET /v1/models`` (after ``models_delay_s``)."""
        await asyncio.sleep(self.models_delay_s)
        await json_answer(writer, 200, {
            "object": "list", "data": [{"id": m} for m in self.models]})

    async def _watch(self, reader: asyncio.StreamReader, request: FakeRequest) -> None:
        # The client sends nothing while it reads an answer: EOF means it hung up.
        data = await reader.read(1)
        if not data:
            self.disconnects += 1
            self.disconnected.set()
            request.hung_up.set()


async def _read_request(reader: asyncio.StreamReader) -> FakeRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return FakeRequest(method, path, headers, body)


def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- engine helpers -----------------------------------------------------------------------
KEY_ENV = "LOOMLINE_TEST_API_KEY"
SECRET = "sk-loomline-test-7f3a9c1e"


def make_engine(*urls: str, read_ms: int = 2000, connect_ms: int = 500,
                served: str | None = "test-model", **kwargs: Any) -> OpenAICompletionsEngine:
    settings = Settings(backend="vllm", engine=EngineSettings(
        urls=list(urls), served_model=served, api_key_env=KEY_ENV,
        connect_timeout_ms=connect_ms, read_timeout_ms=read_ms))
    return OpenAICompletionsEngine(settings, **kwargs)


def request(key: str | None = "file:///src/app.py", **params: Any) -> GenerationRequest:
    return GenerationRequest(
        prompt="<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>",
        params=SamplingParams(**params), affinity_key=key)


async def collect(engine: OpenAICompletionsEngine, req: GenerationRequest,
                  stats: GenerationStats | None = None) -> str:
    return "".join([text async for text in engine.stream(req, stats)])
