"""The fault matrix: every way an OpenAI-compatible engine misbehaves, through the whole
completion service, with one replica and with a healthy second one.

Each case must end by the deadline (never hang), never raise, and answer with a usable prefix
or an empty answer with a clear reason; where a second replica is there and nothing of an
answer was shown yet, it takes the request over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from loomline.completion.engines.openai import OpenAICompletionsEngine
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

DEADLINE_MS = 800
# Slack for a loaded 2-core machine; a hang would take the 10 s read timeout or for ever.
SLACK_S = 1.5
MAX_TOKENS = 16
TEXT = "def f(x):\n    \n"
CURSOR = Position(1, 4)


# ---- the misbehaving engines ----------------------------------------------------------------
async def _until_hung_up(server: FakeOpenAI, bound_s: float = 5.0) -> bool:
    server.disconnected.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.disconnected.wait(), bound_s)
    return False


async def slow_first_token(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    w.write(SSE_HEADERS)
    await w.drain()
    await asyncio.sleep(DEADLINE_MS / 1000 * 1.5)
    await send_events(w, [choice_event("late = 1", finish="stop")])
    return True


async def drip(server: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
    """Two whole lines at once, then a token every 150 ms that never ends a line."""
    w.write(SSE_HEADERS + chunk(sse_event(choice_event("a = 1\n    b = 2\n"))))
    await w.drain()
    for _ in range(100):
        await asyncio.sleep(0.15)
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


async def wrong_content_type(server: FakeOpenAI, req: FakeRequest,
                             w: asyncio.StreamWriter) -> bool:
    body = b"<html><body>proxy login</body></html>"
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await w.drain()
    return True


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
    # Its whole lines still serve (and the user is told the engine broke).
    "dies mid-stream": Fault(dies_mid_stream, alone_text="a = 1", fails_over=False),
    # One unfinished line (of a multi-line request) is no usable answer.
    "huge answer": Fault(huge_answer, alone_reason="ignored max_tokens", fails_over=False),
    "enormous event": Fault(enormous_event, alone_reason="longer than"),
    "invalid JSON": Fault(invalid_json, alone_reason="unreadable event"),
    "429 Retry-After": Fault(rate_limited, alone_reason="HTTP 429"),
    "500 with a body": Fault(server_error, alone_reason="HTTP 500: engine core died"),
    "wrong content type": Fault(wrong_content_type, alone_reason="not an event stream"),
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
            self.service.complete(document, CURSOR, explicit=True), DEADLINE_MS / 1000 + 5
        )
        return result, time.perf_counter() - started


async def _server(script: Script) -> FakeOpenAI:
    return await FakeOpenAI(script=script).start()


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    fault, replicas = request.param
    faulty = await _server(fault.script) if fault.script is not None else None
    faulty_url = faulty.url if faulty else f"http://127.0.0.1:{unused_port()}/v1"
    healthy = await _server(stream_words) if replicas == 2 else None
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
    yield Rig(service, engine, store, faulty, healthy, faulty_url, fault)
    service.close()
    await engine.close()
    for server in (faulty, healthy):
        if server is not None:
            await server.stop()


def _cases(replicas: int) -> list[object]:
    return [pytest.param((fault, replicas), id=name) for name, fault in FAULTS.items()]


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An expected failure is a warning at most: an error record means something crashed."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.mark.parametrize("rig", _cases(1), indirect=True)
async def test_alone_it_ends_by_the_deadline_with_a_prefix_or_a_reason(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    fault = rig.fault
    result, took = await rig.complete("file:///work/alone.py")
    assert took < DEADLINE_MS / 1000 + SLACK_S
    if fault.alone_text is not None:
        assert isinstance(result, Completion), result
        assert result.text == fault.alone_text
    else:
        assert isinstance(result, Skip), result
        assert fault.alone_reason is not None and fault.alone_reason in result.reason
    # The service keeps answering afterwards, just as quickly.
    _again, took = await rig.complete("file:///work/other.py")
    assert took < DEADLINE_MS / 1000 + SLACK_S
    _no_errors_logged(caplog)


@pytest.mark.parametrize("rig", _cases(2), indirect=True)
async def test_with_two_replicas_the_healthy_one_takes_over(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    fault = rig.fault
    result, took = await rig.complete(rig.uri_owned_by_faulty())
    assert took < DEADLINE_MS / 1000 + SLACK_S
    if fault.fails_over:
        assert isinstance(result, Completion), result
        assert result.text == "return a + b"
    else:
        assert isinstance(result, Completion | Skip)
        assert rig.healthy is not None and not rig.healthy.completions  # never asked twice
    _no_errors_logged(caplog)


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["hang after headers"], 2), id="hung")],
                         indirect=True)
async def test_a_hung_replica_loses_its_documents_after_two_timeouts(rig: Rig) -> None:
    """The issue's case: one replica accepts and never answers. Every document still gets its
    answer from the other within the deadline; after two timeouts the hung one is out, and
    its documents go straight to the other (no wait at all)."""
    assert rig.faulty is not None and rig.healthy is not None
    owned = [rig.uri_owned_by_faulty(n) for n in range(3)]
    for uri in owned[:2]:
        result, took = await rig.complete(uri)
        assert isinstance(result, Completion) and result.text == "return a + b"
        assert took < DEADLINE_MS / 1000 + SLACK_S
    (hung,) = [r for r in rig.engine.replicas.replicas if r.base_url == rig.faulty_url]
    assert not hung.healthy and "did not answer" in hung.last_error
    asked = len(rig.faulty.completions)
    result, took = await rig.complete(owned[2])
    assert isinstance(result, Completion) and took < DEADLINE_MS / 1000 / 2
    assert len(rig.faulty.completions) == asked


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["429 Retry-After"], n), id=f"{n}")
                                 for n in (1, 2)], indirect=True)
async def test_retry_after_keeps_the_replica_unasked_until_then(rig: Rig) -> None:
    assert rig.faulty is not None
    uri = rig.uri_owned_by_faulty() if rig.healthy else "file:///work/alone.py"
    reasons = []
    for _ in range(3):
        result, took = await rig.complete(uri)
        assert took < DEADLINE_MS / 1000
        if rig.healthy is None:
            assert isinstance(result, Skip)
            reasons.append(result.reason)
        else:
            assert isinstance(result, Completion) and result.text == "return a + b"
    assert len(rig.faulty.completions) == 1  # asked once, then left alone for 30 s
    # Alone, the same reason every time (a throttled message shows it once).
    assert len(set(reasons)) <= 1 and all("HTTP 429" in r for r in reasons)


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["hang mid-stream"], 2), id="stalls")],
                         indirect=True)
async def test_a_replica_that_stalls_mid_answer_is_taken_out_like_a_hung_one(rig: Rig) -> None:
    """Silence mid-answer until the deadline counts as a timeout (the deadline comes long
    before the read timeout): each answer keeps its whole lines, and after two the replica
    is out and its documents go to the other."""
    assert rig.faulty is not None
    owned = [rig.uri_owned_by_faulty(n) for n in range(3)]
    for uri in owned[:2]:
        result, _took = await rig.complete(uri)
        assert isinstance(result, Completion) and result.text == "a = 1"
    (stalled,) = [r for r in rig.engine.replicas.replicas if r.base_url == rig.faulty_url]
    assert not stalled.healthy and "mid-answer" in stalled.last_error
    result, took = await rig.complete(owned[2])
    assert isinstance(result, Completion) and result.text == "return a + b"
    assert took < DEADLINE_MS / 1000 / 2
