"""An engine that refuses the request itself (HTTP 400/413/422: the request's fault): one
WARNING line with the server's words (secrets redacted), a clear message for the user, no
ERROR record and no traceback; on every path that streams from an engine. HTTP 5xx and a
dead engine keep their own handling (the fault matrix covers them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from loomline.completion.engine_stream import stream_into
from loomline.completion.engines.base import GenerationStats
from loomline.completion.engines.openai import OpenAICompletionsEngine
from loomline.completion.service import CompletionService, Skip
from loomline.completion.settings import CompletionSettings, EngineSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from tests.unit.openai_engine.fake_server import (
    KEY_ENV,
    SECRET,
    FakeOpenAI,
    FakeRequest,
    json_answer,
    request,
)


def _refuses(status: int):  # type: ignore[no-untyped-def]
    async def answer(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        key = req.headers.get("authorization", "").removeprefix("Bearer ")
        await json_answer(w, status, {"error": {"message": f"prompt too long for {key}"}})
        return True

    return answer


@pytest.fixture
async def engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OpenAICompletionsEngine]:
    monkeypatch.setenv(KEY_ENV, SECRET)
    server = await FakeOpenAI().start()
    settings = Settings(
        backend="vllm",
        engine=EngineSettings(urls=[server.url], served_model="test-model", api_key_env=KEY_ENV,
                              connect_timeout_ms=500, read_timeout_ms=5000),
        completion=CompletionSettings(deadline_ms=5000, explicit_deadline_ms=5000),
    )
    eng = OpenAICompletionsEngine(settings)
    eng.server = server  # type: ignore[attr-defined]
    await eng.start()
    yield eng
    await eng.close()
    await server.stop()


def _one_warning_no_traceback(caplog: pytest.LogCaptureFixture, status: int) -> None:
    loomline = [r for r in caplog.records if r.name.startswith("loomline")]
    assert not [r for r in loomline if r.levelno >= logging.ERROR], caplog.text
    assert not [r for r in loomline if r.exc_info], caplog.text
    warnings = [r.getMessage() for r in loomline if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"HTTP {status}" in warnings[0] and "prompt too long for <redacted>" in warnings[0]
    assert "\n" not in warnings[0]
    assert SECRET not in caplog.text


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_a_completion_the_engine_refuses_warns_once_and_tells_the_user(
    engine: OpenAICompletionsEngine, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    engine.server.script = _refuses(status)  # type: ignore[attr-defined]
    told: list[str] = []

    def notify(message: str) -> None:  # what the server does: a warning line and a pop-up
        logging.getLogger("loomline.server.status").warning("%s", message)
        told.append(message)

    store = DocumentStore()
    service = CompletionService(engine._settings, engine, documents=store, notify=notify)
    try:
        document = store.open("file:///work/a.py", "python", 1, "def f(x):\n    \n")
        result = await service.complete(document, Position(1, 4), explicit=True)
    finally:
        service.close()
    assert isinstance(result, Skip) and f"HTTP {status}" in result.reason
    assert len(told) == 1 and "rejected the request" in told[0] and SECRET not in told[0]
    _one_warning_no_traceback(caplog, status)


async def test_without_a_notifier_the_pool_still_warns(
    engine: OpenAICompletionsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    engine.server.script = _refuses(400)  # type: ignore[attr-defined]
    store = DocumentStore()
    service = CompletionService(engine._settings, engine, documents=store)
    try:
        document = store.open("file:///work/a.py", "python", 1, "def f(x):\n    \n")
        result = await service.complete(document, Position(1, 4), explicit=True)
    finally:
        service.close()
    assert isinstance(result, Skip) and "HTTP 400" in result.reason
    _one_warning_no_traceback(caplog, 400)


async def test_next_edits_and_generate_streams_warn_without_a_traceback(
    engine: OpenAICompletionsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """``stream_into`` is the path of next edit suggestions and code from instructions."""
    caplog.set_level(logging.DEBUG)
    engine.server.script = _refuses(400)  # type: ignore[attr-defined]
    failure = await stream_into(engine, request(), GenerationStats(), lambda chunk: False)
    assert failure is not None and not failure.unavailable
    assert "HTTP 400" in failure.message and SECRET not in failure.message
    _one_warning_no_traceback(caplog, 400)
