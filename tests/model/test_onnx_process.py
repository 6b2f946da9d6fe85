"""The ONNX runtime's model in a process of its own, with the real model: the server's event
loop keeps turning through a long prefill (it froze while the model ran in its thread), and a
model process killed mid-answer fails that request, then a new one answers the same."""

from __future__ import annotations

import math
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    SamplingParams,
)
from loomline.completion.engines.onnx import PREFILL_CHUNK, OnnxEngine
from loomline.completion.settings import ModelSettings, Settings
from loomline.completion.templates import template_for
from tests.model.event_loop_lag import InThreadOnnxEngine, Lag, lag_until_first_chunk
from tests.model.fim_prompts import FIM_PROMPTS
from tests.waiting import eventually

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

QWEN = template_for("Qwen/Qwen2.5-Coder-0.5B-Instruct")
# The ticker sleeps 1 ms a turn; a forward pass of 32 tokens takes tens of ms. Where the model
# holds the GIL in the server's process the loop turns about once per pass (measured: 1-2);
# with the model in a child it turns many times per pass.
TURNS_PER_PASS = 5
LONG_PREFIX = (Path(__file__).resolve().parents[2] / "completion" / "service.py").read_text()[
    :3600
]


@pytest.fixture(scope="module")
async def onnx_engine(model_dir: Path) -> AsyncIterator[OnnxEngine]:
    engine = OnnxEngine(Settings(model=ModelSettings(runtime="onnx")))
    await engine.wait_ready(timeout=900)
    yield engine
    await engine.close()


def _long_request(key: str) -> GenerationRequest:
    params = SamplingParams(max_tokens=8, temperature=0.0, stop=QWEN.stop)
    return GenerationRequest(QWEN.fim(LONG_PREFIX, "\n"), params, affinity_key=key)


def _turns_per_pass(lag: Lag) -> float:
    passes = math.ceil(lag.stats.prompt_tokens / PREFILL_CHUNK) + 1  # prefill, first token
    print(f"{lag.ticks} turns over {passes} forward passes, "
          f"longest stall {lag.max_stall_s * 1000:.0f} ms")  # fmt: skip
    return lag.ticks / passes


async def test_the_event_loop_keeps_turning_during_a_long_prefill(
    onnx_engine: OnnxEngine,
) -> None:
    lag = await lag_until_first_chunk(onnx_engine, _long_request("lag"))
    assert lag.stats.prompt_tokens > 500 and lag.stats.cached_prompt_tokens == 0
    assert _turns_per_pass(lag) >= TURNS_PER_PASS


async def test_the_lag_check_catches_a_model_in_the_servers_thread(model_dir: Path) -> None:
    """The same check fails on the former design (a check that cannot fail proves nothing)."""
    engine = InThreadOnnxEngine(Settings(model=ModelSettings(runtime="onnx")))
    await engine.wait_ready(timeout=900)
    try:
        lag = await lag_until_first_chunk(engine, _long_request("lag"))
    finally:
        await engine.close()
    assert lag.stats.prompt_tokens > 500
    assert _turns_per_pass(lag) < TURNS_PER_PASS


async def test_a_killed_model_process_fails_its_request_then_a_new_one_answers(
    onnx_engine: OnnxEngine,
) -> None:
    prefix, suffix = FIM_PROMPTS[1]
    params = SamplingParams(max_tokens=24, temperature=0.0, stop=QWEN.stop)
    request = GenerationRequest(QWEN.fim(prefix, suffix), params, affinity_key="killed")
    before = "".join([c async for c in onnx_engine.stream(request)])
    pid = onnx_engine._runner.pid if onnx_engine._runner else None
    assert pid is not None and before
    with pytest.raises(EngineUnavailable, match="killed by signal 9"):
        async for _chunk in onnx_engine.stream(request):
            os.kill(pid, signal.SIGKILL)
    assert onnx_engine.state is EngineState.LOADING
    await eventually(lambda: onnx_engine.state, lambda s: s is EngineState.READY,
                     within_s=300, what="a new model process")  # fmt: skip
    after = "".join([c async for c in onnx_engine.stream(request)])
    assert after == before
