"""The misbehaving engines of the fault matrix (scripts for the scripted server), and the
completion service on one of them, alone or beside a second replica (``open_rig``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from loomline.completion.engines.openai import OpenAICompletionsEngine
from loomline.completion.engines.replicas import Replica
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import CompletionSettings, EngineSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from tests.unit.openai_engine.fake_server import (
    KEY_ENV,
    SSE_HEADERS,
    FakeOpenAI,
    FakeRequest,
    Script,
    choice_event,
    chunk,
    json_answer,
    send_events,
    sse_event,
    stream_words,
    unused_port,
)

# Every scripted wait below is a share of the deadline, so the logic under test sees the same
# shapes at any deadline. It is long enough that a loaded 2-core machine (load 10) still
# fits a healthy replica's answer into what is left after a hand-over (a quarter of it, or
# less), which at 800 ms it did not always. A hang still shows: the read timeout is 10 s.
DEADLINE_MS = 2000
DEADLINE_S = DEADLINE_MS / 1000
# Slack for a loaded 2-core machine; a hang would take the 10 s read timeout or for ever.
SLACK_S = 1.5
MAX_TOKENS = 16
TEXT = "def f(x):\n    \n"
CURSOR = Position(1, 4)
# A drip's wait between two tokens: over a quarter of the deadline (a stall when the deadline
# ends the answer), under half of it (so the engine never sees one silence of half its time).
DRIP_GAP_S = DEADLINE_S * 0.375
# The plain drip's wait: steady enough never to be a stall.
QUICK_DRIP_GAP_S = DEADLINE_S * 0.1875


# ---- the misbehaving engines ----------------------------------------------------------------
async def _until_hung_up(server: FakeOpenAI, bound_s: float = DEADLINE_S * 6) -> bool:
    server.disconnected.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.disconnected.wait(), bound_s)
    return False


async def slow_first_token(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    w.write(SSE_HEADERS)
    await w.drain()
    await asyncio.sleep(DEADLINE_S * 1.5)
    await send_events(w, [choice_event("late = 1", finish="stop")])
    return True


async def drip(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    """Two whole lines at once, then a token every ``QUICK_DRIP_GAP_S`` that never ends a
    line."""
    w.write(SSE_HEADERS + chunk(sse_event(choice_event("a = 1\n    b = 2\n"))))
    await w.drain()
    for _ in range(100):
        await asyncio.sleep(QUICK_DRIP_GAP_S)
        w.write(chunk(sse_event(choice_event(" c"))))
        await w.drain()
    return False


async def hang_after_headers(server: FakeOpenAI, req: FakeRequest,
                             w: asyncio.StreamWriter) -> bool:
    w.write(SSE_HEADERS)
    await w.drain()
    return await _until_hung_up(server)


async def hang_mid_stream(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    await send_events(w, [choice_event("a = 1\n"), choice_event("    b = ")], done=False)
    return await _until_hung_up(server)


async def dies_mid_stream(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    await send_events(w, [choice_event("a = 1\n    b")], done=False)
    w.transport.abort()  # connection reset
    return False


async def huge_answer(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    """Ignores max_tokens: 20 MB of one long line in 64 KiB events, or until hung up."""
    w.write(SSE_HEADERS)
    piece = chunk(sse_event(choice_event("x" * 65536)))
    for _ in range(320):
        w.write(piece)
        await w.drain()
    return False


async def enormous_event(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    """One event line of 4 MB."""
    w.write(SSE_HEADERS + chunk(sse_event(choice_event("y" * 4_000_000))))
    await w.drain()
    return await _until_hung_up(server)


async def invalid_json(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    w.write(SSE_HEADERS + chunk(b'data: {"choices": [{"text": "a\n\n'))
    await w.drain()
    return False


async def rate_limited(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    body = b'{"error": {"message": "slow down"}}'
    w.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await w.drain()
    return True


async def server_error(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    await json_answer(w, 500, {"error": {"message": "engine core died"}})
    return True


async def bad_request(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    """HTTP 400, as vLLM answers a prompt longer than its context (the key echoed back)."""
    key = req.headers.get("authorization", "").removeprefix("Bearer ")
    await json_answer(w, 400, {"error": {"message": "This model's maximum context length is "
                                         f"2048 tokens (key {key})"}})
    return True


async def wrong_content_type(server: FakeOpenAI, req: FakeRequest,
                             w: asyncio.StreamWriter) -> bool:
    body = b"<html><body>proxy login</body></html>"
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await w.drain()
    return True


async def drip_after_a_line(server: FakeOpenAI, req: FakeRequest,
                            w: asyncio.StreamWriter) -> bool:
    """A line and a half at once, then a token every ``DRIP_GAP_S`` that never ends a line."""
    w.write(SSE_HEADERS + chunk(sse_event(choice_event("a = 1\n    b = ["))))
    await w.drain()
    for _ in range(100):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(req.hung_up.wait(), DRIP_GAP_S)
            return False
        w.write(chunk(sse_event(choice_event(" 1,"))))
        await w.drain()
    return False


async def silent_after_an_empty_event(server: FakeOpenAI, req: FakeRequest,
                                      w: asyncio.StreamWriter) -> bool:
    """A first event at once, without any text, then nothing more."""
    await send_events(w, [choice_event("")], done=False)
    return await _until_hung_up(server)


async def empty_events_only(server: FakeOpenAI, req: FakeRequest,
                            w: asyncio.StreamWriter) -> bool:
    """Events without text, one every ``DRIP_GAP_S``, and never an answer."""
    w.write(SSE_HEADERS)
    for _ in range(100):
        w.write(chunk(sse_event(choice_event(""))))
        await w.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(req.hung_up.wait(), DRIP_GAP_S)
            return False
    return False


@dataclass(frozen=True)
class Fault:
    script: Script | None  # None: nothing listens
    # Alone: the answer's text, or a piece of the reason it is empty.
    alone_text: str | None = None
    alone_reason: str | None = None
    # Whether a healthy second replica answers instead (nothing was shown yet).
    fails_over: bool = True


FAULTS = {
    "engine down": Fault(None, alone_reason="cannot reach"),
    "slow first token": Fault(slow_first_token, alone_reason="within"),
    "drip": Fault(drip, alone_text="a = 1\n    b = 2", fails_over=False),
    "hang after headers": Fault(hang_after_headers, alone_reason="within"),
    "hang mid-stream": Fault(hang_mid_stream, alone_text="a = 1", fails_over=False),
    "drip after a line": Fault(drip_after_a_line, alone_text="a = 1", fails_over=False),
    # Nothing of an answer yet: the other replica takes over, within the deadline.
    "silent after an empty event": Fault(silent_after_an_empty_event, alone_reason="within"),
    "empty events only": Fault(empty_events_only, alone_reason="within"),
    # Its whole lines still serve (and the user is told the engine broke).
    "dies mid-stream": Fault(dies_mid_stream, alone_text="a = 1", fails_over=False),
    # One unfinished line (of a multi-line request) is no usable answer.
    "huge answer": Fault(huge_answer, alone_reason="ignored max_tokens", fails_over=False),
    "enormous event": Fault(enormous_event, alone_reason="longer than"),
    "invalid JSON": Fault(invalid_json, alone_reason="unreadable event"),
    "429 Retry-After": Fault(rate_limited, alone_reason="HTTP 429"),
    "500 with a body": Fault(server_error, alone_reason="HTTP 500: engine core died"),
    "wrong content type": Fault(wrong_content_type, alone_reason="not an event stream"),
    # The request's fault: another replica would refuse it too.
    "400 bad request": Fault(bad_request, alone_reason="HTTP 400): This model's maximum",
                             fails_over=False),
}


# ---- the service on one or two replicas ------------------------------------------------------
@dataclass
class Rig:
    service: CompletionService
    engine: OpenAICompletionsEngine
    store: DocumentStore
    faulty: FakeOpenAI | None
    healthy: FakeOpenAI | None
    faulty_url: str
    fault: Fault

    def uri_owned_by_faulty(self, n: int = 0) -> str:
        """A document whose requests go to the faulty replica first (its n-th such)."""
        found = [
            uri for uri in (f"file:///work/m{i}.py" for i in range(200))
            if self.engine.replicas.route(uri)[0].base_url == self.faulty_url
        ]
        return found[n]

    async def complete(self, uri: str) -> tuple[Completion | Skip, float]:
        document = self.store.get(uri) or self.store.open(uri, "python", 1, TEXT)
        started = time.perf_counter()
        result = await asyncio.wait_for(
            self.service.complete(document, CURSOR, explicit=True), DEADLINE_S + 5
        )
        return result, time.perf_counter() - started

    @property
    def faulty_replica(self) -> Replica:
        (replica,) = [r for r in self.engine.replicas.replicas if r.base_url == self.faulty_url]
        return replica


async def _server(script: Script) -> FakeOpenAI:
    return await FakeOpenAI(script=script).start()


@contextlib.asynccontextmanager
async def open_rig(
    fault: Fault, replicas: int, second: Script = stream_words
) -> AsyncIterator[Rig]:
    """The completion service on the ``fault``'s replica, and with ``replicas == 2`` a second
    one that answers with ``second`` (by default well)."""
    faulty = await _server(fault.script) if fault.script is not None else None
    faulty_url = faulty.url if faulty else f"http://127.0.0.1:{unused_port()}/v1"
    healthy = await _server(second) if replicas == 2 else None
    urls = [faulty_url] + ([healthy.url] if healthy else [])
    settings = Settings(
        backend="vllm",
        engine=EngineSettings(urls=urls, served_model="test-model", api_key_env=KEY_ENV,
                              connect_timeout_ms=500, read_timeout_ms=10_000),
        completion=CompletionSettings(multiline="always", max_tokens=MAX_TOKENS,
                                      deadline_ms=DEADLINE_MS,
                                      explicit_deadline_ms=DEADLINE_MS),
    )
    engine = OpenAICompletionsEngine(settings)
    await engine.start()
    store = DocumentStore()
    service = CompletionService(settings, engine, documents=store)
    try:
        yield Rig(service, engine, store, faulty, healthy, faulty_url, fault)
    finally:
        service.close()
        await engine.close()
        for server in (faulty, healthy):
            if server is not None:
                await server.stop()
