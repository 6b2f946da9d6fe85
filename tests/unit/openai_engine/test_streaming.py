"""OpenAICompletionsEngine against a scripted server: streaming, cancellation, timeouts and
retries, error statuses, the API key, log probabilities and candidates, local stop strings."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from loomline.completion.engines.base import (
    Engine,
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.completion.engines.candidates import Candidate, LogprobStats
from loomline.completion.engines.openai import OpenAICompletionsEngine, create
from loomline.completion.engines.wire import EngineRequestError
from loomline.completion.settings import EngineSettings, Settings
from tests.unit.openai_engine.fake_server import (
    KEY_ENV,
    SECRET,
    FakeOpenAI,
    FakeRequest,
    choice_event,
    collect,
    json_answer,
    make_engine,
    request,
    send_events,
    stream_forever,
    stream_words,
    usage_event,
)


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


async def test_a_first_answer_tells_listeners_the_engine_is_ready(
        server: FakeOpenAI, engine: OpenAICompletionsEngine) -> None:
    heard: list[EngineState] = []
    engine.subscribe(lambda state, message: heard.append(state))
    # Not started, so no probe: only the request can say the replica is there.
    assert await collect(engine, request()) == "return a + b"
    assert heard == [EngineState.STARTING, EngineState.READY]
    assert server.probes == 0


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
