"""OpenAICompletionsEngine against real vLLM servers (CPU build here, CUDA elsewhere)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.openai import OpenAICompletionsEngine
from loomline.completion.settings import EngineSettings, Settings
from loomline.server.vllm_server import VllmServer
from tests.vllm.vllm_support import SERVED_NAME, metrics, start_server, wait_for

pytestmark = pytest.mark.vllm

STOPS = ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>")
# Long enough (> 2 x 128-token KV blocks, the CPU default) for the prefix cache to show.
HELPERS = "".join(
    f"def scale_{i}(values: list[float], factor: float = {i}.0) -> list[float]:\n"
    f'    """Multiply every value by {i}."""\n'
    f"    return [v * factor for v in values]\n\n\n"
    for i in range(8)
)
FIM_PROMPT = (
    "<|fim_prefix|>" + HELPERS + "def fibonacci(n: int) -> int:\n"
    '    """The n-th Fibonacci number."""\n'
    "    <|fim_suffix|>\n\n\n"
    "if __name__ == '__main__':\n"
    "    print(fibonacci(10))\n<|fim_middle|>"
)
# Counting goes on for as long as it is allowed to: a request that only a cancel ends.
ENDLESS_PROMPT = "Numbers: " + ", ".join(str(i) for i in range(1, 40)) + ","


def make_engine(*urls: str, read_ms: int = 30_000) -> OpenAICompletionsEngine:
    return OpenAICompletionsEngine(Settings(backend="vllm", engine=EngineSettings(
        urls=list(urls), served_model=SERVED_NAME, read_timeout_ms=read_ms)))


@pytest.fixture
async def engine(vllm_server: VllmServer) -> AsyncIterator[OpenAICompletionsEngine]:
    eng = make_engine(vllm_server.url)
    await eng.start()
    yield eng
    await eng.close()


async def test_streams_a_fim_completion(engine: OpenAICompletionsEngine) -> None:
    request = GenerationRequest(FIM_PROMPT, SamplingParams(max_tokens=48, stop=STOPS),
                                affinity_key="file:///fib.py")
    stats = GenerationStats()
    chunks = [c async for c in engine.stream(request, stats)]
    text = "".join(chunks)
    assert "return" in text and "fibonacci(n" in text, text
    assert len(chunks) >= 2  # streamed, not one blob
    assert stats.finish_reason in ("stop", "length")
    assert stats.prompt_tokens > 256 and stats.generated_tokens > 0
    assert stats.first_token_s is not None and stats.first_token_s < 10
    assert engine.state is EngineState.READY

    # The same prompt again: vLLM's prefix cache serves most of it.
    again = GenerationStats()
    assert "".join([c async for c in engine.stream(request, again)]) == text
    assert again.cached_prompt_tokens >= 128


async def test_special_token_stop_strings_end_the_completion(
        engine: OpenAICompletionsEngine) -> None:
    request = GenerationRequest(FIM_PROMPT, SamplingParams(max_tokens=64, stop=STOPS))
    text = "".join([c async for c in engine.stream(request)])
    assert "<|" not in text


async def test_cancel_aborts_the_sequence_on_the_server(
        engine: OpenAICompletionsEngine, vllm_server: VllmServer) -> None:
    before = await asyncio.to_thread(metrics, vllm_server)
    request = GenerationRequest(ENDLESS_PROMPT, SamplingParams(max_tokens=1500))
    stats = GenerationStats()
    stream = engine.stream(request, stats)
    for _ in range(4):
        await anext(stream)
    running = await asyncio.to_thread(metrics, vllm_server)
    assert running["vllm:num_requests_running"] == 1
    await stream.aclose()
    assert stats.finish_reason == "cancelled"

    def stopped() -> bool:
        return metrics(vllm_server)["vllm:num_requests_running"] == 0

    started = time.monotonic()
    assert await asyncio.to_thread(wait_for, stopped, 5.0)
    assert time.monotonic() - started < 2  # aborted, not finished: 1500 tokens take minutes
    settled = (await asyncio.to_thread(metrics, vllm_server))["vllm:generation_tokens_total"]
    # A later request: vLLM steps every running sequence together, so once a later one has
    # run and its tokens are counted, an aborted sequence still running would be counted too.
    later = GenerationStats()
    async for _ in engine.stream(GenerationRequest(FIM_PROMPT, SamplingParams(max_tokens=2)),
                                 later):
        pass
    expected = settled + later.generated_tokens

    def counted() -> bool:
        return metrics(vllm_server)["vllm:generation_tokens_total"] >= expected

    assert later.generated_tokens > 0 and await asyncio.to_thread(wait_for, counted, 5.0)
    after = await asyncio.to_thread(metrics, vllm_server)
    assert after["vllm:generation_tokens_total"] == expected  # nothing generates any more
    assert settled - before["vllm:generation_tokens_total"] < 200


async def test_cancelling_many_concurrent_requests(engine: OpenAICompletionsEngine,
                                                   vllm_server: VllmServer) -> None:
    request = GenerationRequest(ENDLESS_PROMPT, SamplingParams(max_tokens=1500))

    async def consume() -> None:
        async for _ in engine.stream(request):
            pass

    tasks = [asyncio.create_task(consume()) for _ in range(6)]
    # All six reached the server (it says so), not a clock's guess that they started.
    def all_there() -> bool:
        now = metrics(vllm_server)
        return now["vllm:num_requests_running"] + now.get("vllm:num_requests_waiting", 0) == 6

    assert await asyncio.to_thread(wait_for, all_there, 60.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await asyncio.to_thread(
        wait_for, lambda: metrics(vllm_server)["vllm:num_requests_running"] == 0, 5.0)


async def test_unknown_model_is_a_clear_error(vllm_server: VllmServer) -> None:
    engine = make_engine(vllm_server.url)
    try:
        with pytest.raises(EngineUnavailable, match="does not serve model 'no-such-adapter'"):
            async for _ in engine.stream(GenerationRequest("x", adapter="no-such-adapter")):
                pass
    finally:
        await engine.close()


async def test_killed_replica_ends_the_stream_and_fails_over(
        vllm_server: VllmServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    second = await asyncio.to_thread(start_server, 1, 4, tmp_path_factory.mktemp("vllm2"))
    engine = make_engine(vllm_server.url, second.url)
    await engine.start()
    try:
        second_replica = engine.replicas.replicas[1]
        key = next(k for k in (f"file:///m{i}.py" for i in range(100))
                   if engine.replicas.owner(k) is second_replica)
        request = GenerationRequest(ENDLESS_PROMPT, SamplingParams(max_tokens=1500),
                                    affinity_key=key)
        stats = GenerationStats()
        stream = engine.stream(request, stats)
        for _ in range(3):
            await anext(stream)
        assert second_replica.in_flight == 1

        second.kill_group()  # the server dies mid-stream
        started = time.monotonic()
        with pytest.raises(EngineUnavailable):
            async for _ in stream:
                pass
        assert time.monotonic() - started < 5  # no hang
        assert stats.finish_reason == "error"
        assert not second_replica.healthy

        # The document's next request goes to the surviving replica, without an error.
        fim = GenerationRequest(FIM_PROMPT, SamplingParams(max_tokens=16, stop=STOPS),
                                affinity_key=key)
        text = "".join([c async for c in engine.stream(fim)])
        assert text
        assert engine.state is EngineState.READY
        assert "down:" in engine.status_message
    finally:
        await engine.close()
        second.stop(grace_s=2)
