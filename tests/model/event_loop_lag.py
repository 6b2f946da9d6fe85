"""How much a completion holds up the event loop: shared by the real-model tests and the bench.

A ticker task sleeps 1 ms at a time on the loop while an engine streams; where the model runs
in the server's process and holds the GIL, the loop turns only between forward passes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from loomline.completion.engines.base import Engine, GenerationRequest, GenerationStats
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.engines.onnx import _OnnxRunner
from loomline.completion.engines.runner import ModelRunner
from loomline.completion.engines.threads import ThreadPolicy
from loomline.completion.model_store import ProgressCallback
from loomline.completion.onnx_build import execution_provider, prepare_onnx_model


@dataclass
class Lag:
    ticks: int  # the ticker's turns until the first chunk (or the end)
    max_stall_s: float  # the longest gap between two turns meanwhile
    stats: GenerationStats


async def lag_until_first_chunk(
    engine: Engine, request: GenerationRequest, whole: bool = False
) -> Lag:
    """Run ``request`` until its first chunk (the whole prefill), or with ``whole`` to its
    end, while a ticker turns."""
    ticks = 0
    last = time.perf_counter()
    max_stall = 0.0

    async def ticker() -> None:
        nonlocal ticks, last, max_stall
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            max_stall, last = max(max_stall, now - last), now
            ticks += 1

    stats = GenerationStats()
    stream = engine.stream(request, stats)
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker's first turn starts the count
    try:
        await anext(stream)
        if whole:
            async for _chunk in stream:
                pass
        return Lag(ticks, max(max_stall, time.perf_counter() - last), stats)
    finally:
        task.cancel()
        await stream.aclose()


class InThreadOnnxEngine(EmbeddedEngine):
    """The ONNX runtime as it was before it ran in a process of its own: in the worker thread
    of the server's process (for comparison only)."""

    name = "onnx-in-thread"
    applies_adapters = False

    def _open_model(self, report: ProgressCallback) -> ModelRunner:
        model = self._settings.model
        directory = prepare_onnx_model(
            self._store, model.id, model.path, model.onnx_precision, report
        )
        self._model_dir = directory
        threads = ThreadPolicy(model.threads).at_start()
        return _OnnxRunner(directory, threads, execution_provider())
