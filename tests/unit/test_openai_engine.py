"""OpenAICompletionsEngine against a scripted OpenAI-compatible server on 127.0.0.1.

The fake server (asyncio streams, HTTP/1.1, chunked SSE) records each request and notices
when the client hangs up mid-answer, which is how cancellation is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from loomline.completion.engines.base import (
    Engine,
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.openai import (
    Candidate,
    EngineRequestError,
    LogprobStats,
    OpenAICompletionsEngine,
    create,
)
from loomline.completion.engines.replicas import ReplicaSet, normalize_base_url, redact_url
from loomline.completion.settings import EngineSettings, Settings


@dataclass
class FakeRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

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
                    await json_answer(writer, 200, {
                        "object": "list", "data": [{"id": m} for m in self.models]})
                    continue
                watcher = asyncio.create_task(self._watch(reader))
                try:
                    keep = await self.script(self, request, writer)
                except (ConnectionError, OSError):
                    keep = False
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

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        # The client sends nothing while it reads an answer: EOF means it hung up.
        data = await reader.read(1)
        if not data:
            self.disconnects += 1
            self.disconnected.set()


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


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def engine(server: FakeOpenAI) -> AsyncIterator[OpenAICompletionsEngine]:
    eng = make_engine(server.url)
    yield eng
    await eng.close()


# ---- streaming ----------------------------------------------------------------------------
async def test_streams_chunks_and_fills_stats(server: FakeOpenAI,
                                              engine: OpenAICompletionsEngine) -> None:
    stats = GenerationStats()
    req = request(max_tokens=32, temperature=0.2, top_p=0.9, stop=("\n\n",), seed=7)
    chunks = [text async for text in engine.stream(req, stats)]
    assert chunks == ["return", " a +", " b"]
    assert stats.prompt_tokens == 11
    assert stats.cached_prompt_tokens == 8
    assert stats.generated_tokens == 4
    assert stats.finish_reason == "stop"
    assert stats.first_token_s is not None and stats.first_token_s < 1
    assert stats.stopped_at is not None
    (sent,) = server.completions
    assert sent.method == "POST" and sent.path == "/v1/completions"
    body = sent.json()
    assert body == {
        "model": "test-model", "prompt": req.prompt, "max_tokens": 32, "temperature": 0.2,
        "top_p": 0.9, "stream": True, "stream_options": {"include_usage": True},
        "stop": ["\n\n"], "seed": 7,
    }
    assert engine.state is EngineState.READY


async def test_model_name_adapter_then_served_model_then_model_id(server: FakeOpenAI) -> None:
    engine = make_engine(server.url, served=None)
    try:
        await collect(engine, request())
        await collect(engine, GenerationRequest(prompt="x", adapter="team-lora"))
    finally:
        await engine.close()
    assert [r.json()["model"] for r in server.completions] == [
        Settings().model.id, "team-lora"]


async def test_special_token_stops_keep_special_tokens(server: FakeOpenAI,
                                                       engine: OpenAICompletionsEngine) -> None:
    await collect(engine, request(stop=("<|file_sep|>", "\n\n")))
    assert server.completions[0].json()["skip_special_tokens"] is False


async def test_chunk_count_stands_in_for_missing_usage(server: FakeOpenAI,
                                                       engine: OpenAICompletionsEngine) -> None:
    async def no_usage(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("a"), choice_event("b", finish="length")])
        return True

    server.script = no_usage
    stats = GenerationStats()
    assert await collect(engine, request(), stats) == "ab"
    assert stats.generated_tokens == 2 and stats.finish_reason == "length"


# ---- cancellation -------------------------------------------------------------------------
async def test_closing_the_stream_closes_the_connection(server: FakeOpenAI,
                                                        engine: OpenAICompletionsEngine) -> None:
    server.script = stream_forever
    stats = GenerationStats()
    stream = engine.stream(request(), stats)
    assert await anext(stream) == " t0"
    assert await anext(stream) == " t1"
    closed_at = time.perf_counter()
    await stream.aclose()
    await asyncio.wait_for(server.disconnected.wait(), 2)
    assert time.perf_counter() - closed_at < 1
    assert stats.finish_reason == "cancelled"
    assert stats.generated_tokens == 2  # counted, as no usage arrives for a cancelled request
    assert engine.replicas.replicas[0].in_flight == 0


async def test_cancelling_the_consumer_closes_the_connection(
        server: FakeOpenAI, engine: OpenAICompletionsEngine) -> None:
    server.script = stream_forever
    stats = GenerationStats()
    seen: list[str] = []

    async def consume() -> None:
        async for text in engine.stream(request(), stats):
            seen.append(text)

    task = asyncio.create_task(consume())
    while len(seen) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.disconnected.wait(), 2)
    assert stats.finish_reason == "cancelled"
    # The engine still works afterwards.
    server.script = stream_words
    assert await collect(engine, request()) == "return a + b"


# ---- timeouts and retries -----------------------------------------------------------------
async def test_read_timeout_before_headers(server: FakeOpenAI) -> None:
    async def silent(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    server.script = silent
    engine = make_engine(server.url, read_ms=200)
    started = time.perf_counter()
    try:
        with pytest.raises(EngineUnavailable, match="did not answer"):
            await collect(engine, request())
    finally:
        await engine.close()
    assert time.perf_counter() - started < 1.5
    assert len(server.completions) == 1  # bytes were sent: never retried


async def test_read_timeout_mid_stream(server: FakeOpenAI) -> None:
    async def stalls(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("x")], done=False)
        await asyncio.sleep(5)
        return False

    server.script = stalls
    engine = make_engine(server.url, read_ms=200)
    stats = GenerationStats()
    got: list[str] = []
    try:
        with pytest.raises(EngineUnavailable, match="sent nothing"):
            async for text in engine.stream(request(), stats):
                got.append(text)
    finally:
        await engine.close()
    assert got == ["x"] and stats.finish_reason == "error"
    assert len(server.completions) == 1


async def test_retries_once_when_the_connection_drops_before_any_byte(
        server: FakeOpenAI, engine: OpenAICompletionsEngine) -> None:
    calls = 0

    async def flaky(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            return False  # hang up without answering
        return await stream_words(srv, req, w)

    server.script = flaky
    assert await collect(engine, request()) == "return a + b"
    assert len(server.completions) == 2


async def test_no_retry_after_bytes_were_received(server: FakeOpenAI,
                                                  engine: OpenAICompletionsEngine) -> None:
    async def dies(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("half")], done=False)
        return False  # the connection drops mid-answer

    server.script = dies
    got: list[str] = []
    with pytest.raises(EngineUnavailable, match="lost the connection"):
        async for text in engine.stream(request()):
            got.append(text)
    assert got == ["half"]
    assert len(server.completions) == 1


async def test_no_retry_after_an_error_status(server: FakeOpenAI,
                                              engine: OpenAICompletionsEngine) -> None:
    async def fails(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await json_answer(w, 500, {"error": {"message": "engine dead"}})
        return True

    server.script = fails
    with pytest.raises(EngineUnavailable, match="HTTP 500: engine dead"):
        await collect(engine, request())
    assert len(server.completions) == 1


async def test_error_statuses_map_to_exceptions(server: FakeOpenAI,
                                                engine: OpenAICompletionsEngine) -> None:
    status = 404

    async def refuses(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await json_answer(w, status, {"error": {"message": "The model does not exist."}})
        return True

    server.script = refuses
    with pytest.raises(EngineUnavailable, match="does not serve model 'test-model'"):
        await collect(engine, request())
    status = 400
    with pytest.raises(EngineRequestError, match="HTTP 400"):
        await collect(engine, request())
    status = 401
    with pytest.raises(EngineUnavailable, match=f"set \\${KEY_ENV}"):
        await collect(engine, request())


# ---- down, failover, affinity -------------------------------------------------------------
async def test_engine_down_fails_fast_then_recovers() -> None:
    port = unused_port()
    engine = make_engine(f"http://127.0.0.1:{port}/v1")
    await engine.start()
    try:
        started = time.perf_counter()
        with pytest.raises(EngineUnavailable):
            await collect(engine, request())
        assert time.perf_counter() - started < 0.5
        assert engine.state is EngineState.ERROR
        assert "cannot reach" in engine.status_message
        # While it is known down, requests fail without touching the network.
        started = time.perf_counter()
        for _ in range(20):
            with pytest.raises(EngineUnavailable):
                await collect(engine, request())
        assert time.perf_counter() - started < 0.5

        server = await FakeOpenAI(port=port).start()
        try:
            deadline = time.monotonic() + 5
            while engine.state is not EngineState.READY and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert engine.state is EngineState.READY
            assert server.probes >= 1
            assert await collect(engine, request()) == "return a + b"
        finally:
            await server.stop()
    finally:
        await engine.close()


async def test_status_listener_hears_down_and_back() -> None:
    port = unused_port()
    heard: list[EngineState] = []
    engine = make_engine(f"http://127.0.0.1:{port}", on_status_change=lambda s, m: heard.append(s))
    await engine.start()
    try:
        while EngineState.ERROR not in heard:
            await asyncio.sleep(0.02)
        server = await FakeOpenAI(port=port).start()
        try:
            deadline = time.monotonic() + 5
            while EngineState.READY not in heard and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await server.stop()
    finally:
        await engine.close()
    assert heard[-1] is EngineState.READY


async def test_affinity_failover_and_rejoin() -> None:
    a, b = await FakeOpenAI().start(), await FakeOpenAI().start()
    engine = make_engine(a.url, b.url)
    await engine.start()
    keys = [f"file:///src/module_{i}.py" for i in range(24)]
    try:
        for key in keys:
            for _ in range(2):
                await collect(engine, request(key))
        owners = {key: engine.replicas.owner(key) for key in keys}
        by_a = [k for k in keys if owners[k] is engine.replicas.replicas[0]]
        assert 0 < len(by_a) < len(keys)  # both replicas get documents
        assert len(a.completions) == 2 * len(by_a)
        assert len(b.completions) == 2 * (len(keys) - len(by_a))
        # Each request for a document went to the same replica.
        prompts_a = {r.json()["prompt"] for r in a.completions}
        assert prompts_a  # (same prompt text; ownership checked by counts)

        # A goes away: its documents fail over to B, with no error to the caller.
        await a.stop()
        before_b = len(b.completions)
        for key in by_a:
            assert await collect(engine, request(key)) == "return a + b"
        assert len(b.completions) == before_b + len(by_a)
        assert engine.state is EngineState.READY
        assert "down:" in engine.status_message

        # A comes back on the same port and gets its documents back.
        a2 = await FakeOpenAI(port=a.port).start()
        try:
            deadline = time.monotonic() + 5
            while not engine.replicas.replicas[0].healthy and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for key in by_a:
                await collect(engine, request(key))
            assert len(a2.completions) == len(by_a)
        finally:
            await a2.stop()
    finally:
        await engine.close()
        await b.stop()


async def test_requests_without_key_spread_by_load() -> None:
    a, b = await FakeOpenAI(script=stream_forever).start(), await FakeOpenAI(
        script=stream_forever).start()
    engine = make_engine(a.url, b.url)
    streams = [engine.stream(request(None)) for _ in range(4)]
    try:
        for s in streams:
            await anext(s)
        assert len(a.completions) == 2 and len(b.completions) == 2
    finally:
        for s in streams:
            await s.aclose()
        await engine.close()
        await a.stop()
        await b.stop()


def test_rendezvous_moves_only_the_lost_replicas_keys() -> None:
    three = ReplicaSet.from_urls(["http://h1:8000", "http://h2:8000/v1/", "h3:8000"])
    assert [r.base_url for r in three.replicas] == [
        "http://h1:8000/v1", "http://h2:8000/v1", "http://h3:8000/v1"]
    keys = [f"k{i}" for i in range(300)]
    before = {k: three.owner(k) for k in keys}
    counts = {r.base_url: sum(1 for k in keys if before[k] is r) for r in three.replicas}
    assert all(60 < c < 140 for c in counts.values()), counts
    lost = three.replicas[1]
    three.mark_failed(lost, "gone")
    after = {k: three.owner(k) for k in keys}
    moved = [k for k in keys if after[k] is not before[k]]
    assert moved and all(before[k] is lost for k in moved)
    three.mark_ok(lost)
    assert {k: three.owner(k) for k in keys} == before


def test_url_helpers() -> None:
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("https://x.example/openai/v1/") == "https://x.example/openai/v1"
    assert redact_url("https://user:pw@x.example/v1") == "https://x.example/v1"


# ---- API key ------------------------------------------------------------------------------
async def test_api_key_sent_as_bearer_and_never_logged(
        server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    caplog.set_level(logging.DEBUG)
    engine = make_engine(server.url)
    messages: list[str] = []
    try:
        await engine.start()
        await collect(engine, request())

        async def refuses(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
            await json_answer(w, 401, {"error": {"message": "bad key"}})
            return True

        server.script = refuses
        with pytest.raises(EngineUnavailable) as refused:
            await collect(engine, request())
        messages += [str(refused.value), engine.status_message, repr(engine)]
        await server.stop()
        with pytest.raises(EngineUnavailable) as down:
            await collect(engine, request())
        messages += [str(down.value), engine.status_message]
    finally:
        await engine.close()
    assert server.completions[0].headers["authorization"] == f"Bearer {SECRET}"
    assert caplog.records  # debug logging was on
    assert SECRET not in caplog.text
    assert all(SECRET not in m for m in messages)


async def test_no_authorization_header_without_a_key(
        server: FakeOpenAI, engine: OpenAICompletionsEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    await collect(engine, request())
    assert "authorization" not in server.completions[0].headers


# ---- logprobs and candidates --------------------------------------------------------------
async def test_candidates_carry_cumulative_logprobs(server: FakeOpenAI,
                                                    engine: OpenAICompletionsEngine) -> None:
    async def two(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [
            choice_event("return", 0, logprob=-0.5),
            choice_event("pass", 1, logprob=-2.0, finish="stop"),
            choice_event(" a", 0, logprob=-0.25, finish="length"),
            usage_event(11, 3),
        ])
        return True

    server.script = two
    stats = GenerationStats()
    got = await engine.candidates(request(temperature=0.8), 2, stats)
    assert got == [Candidate("return a", -0.75, "length", 2), Candidate("pass", -2.0, "stop", 1)]
    assert got[0].mean_logprob == pytest.approx(-0.375)
    body = server.completions[0].json()
    assert body["n"] == 2 and body["logprobs"] == 1 and body["stream"] is True
    assert stats.generated_tokens == 3


async def test_logprob_stats_collect_token_logprobs(server: FakeOpenAI,
                                                    engine: OpenAICompletionsEngine) -> None:
    async def scored(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("a", logprob=-1.0),
                              choice_event("b", logprob=-0.5, finish="stop")])
        return True

    server.script = scored
    stats = LogprobStats()
    assert await collect(engine, request(), stats) == "ab"
    assert stats.token_logprobs == [-1.0, -0.5] and stats.cumulative_logprob == -1.5
    assert server.completions[0].json()["logprobs"] == 1


async def test_engine_satisfies_the_protocol(engine: OpenAICompletionsEngine) -> None:
    assert isinstance(engine, Engine)
    assert isinstance(create(Settings()), OpenAICompletionsEngine)
    assert engine.state is EngineState.STARTING


# ---- more than four stop strings ----------------------------------------------------------
async def test_stops_beyond_four_are_applied_locally_across_chunks(
        server: FakeOpenAI, engine: OpenAICompletionsEngine) -> None:
    async def long_answer(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        events = [choice_event(t) for t in ("x = 1", "\nde", "f g():", " pass")]
        await send_events(w, events + [choice_event(f" t{i}") for i in range(200)], delay=0.02)
        return True

    server.script = long_answer
    stats = GenerationStats()
    stops = ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "\ndef ", "\nclass ")
    text = await collect(engine, request(stop=stops), stats)
    assert text == "x = 1"
    assert stats.finish_reason == "stop"
    assert server.completions[0].json()["stop"] == list(stops[:4])
    await asyncio.wait_for(server.disconnected.wait(), 2)  # the rest was aborted


async def test_local_stop_held_back_text_is_flushed_at_the_end(
        server: FakeOpenAI, engine: OpenAICompletionsEngine) -> None:
    async def ends_in_prefix(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("a\n"), choice_event("de", finish="length")])
        return True

    server.script = ends_in_prefix
    stats = GenerationStats()
    text = await collect(engine, request(stop=("1", "2", "3", "4", "\ndef ")), stats)
    assert text == "a\nde" and stats.finish_reason == "length"


async def test_candidates_cut_at_local_stops(server: FakeOpenAI,
                                             engine: OpenAICompletionsEngine) -> None:
    async def two(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        await send_events(w, [choice_event("a\nclass X", 0, finish="length"),
                              choice_event("b", 1, finish="stop")])
        return True

    server.script = two
    got = await engine.candidates(request(stop=("1", "2", "3", "4", "\nclass ")), 2)
    assert [(c.text, c.finish_reason) for c in got] == [("a", "stop"), ("b", "stop")]


async def test_seed_is_sent_only_when_sampling(server: FakeOpenAI,
                                               engine: OpenAICompletionsEngine) -> None:
    await collect(engine, request(temperature=0.0, seed=3))
    await collect(engine, request(temperature=0.7, seed=3))
    assert ["seed" in r.json() for r in server.completions] == [False, True]


def test_tls_verification_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = httpx.AsyncClient

    def spy(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        seen.append(kwargs.get("verify"))
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", spy)
    for verify in (True, False):
        settings = Settings(backend="vllm", engine=EngineSettings(
            urls=["https://engine.example:8443/v1"], verify_tls=verify))
        OpenAICompletionsEngine(settings)._ensure_client()
    assert seen == [True, False]
