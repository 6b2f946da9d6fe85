"""A scripted engine: fast, deterministic tests of everything around the model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    StateBroadcast,
    StateListener,
    Unsubscribe,
)
from loomline.completion.settings import FakeSettings

# The most recent requests, for tests to look at.
KEPT_REQUESTS = 100


class FakeEngine:
    """Streams ``settings.response`` word by word.

    ``model_dir``: a local model directory whose tokenizer counts prompt tokens as if that
    model were served (like a remote engine's local tokenizer copy); None by default.
    """

    name = "fake"

    def __init__(self, settings: FakeSettings | None = None, model_dir: Path | None = None) -> None:
        self.settings = settings or FakeSettings()
        self._state = EngineState.STARTING
        self._listeners = StateBroadcast()
        self._model_dir = model_dir
        self.requests: list[GenerationRequest] = []
        self.cancelled = 0
        self.down = False

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def status_message(self) -> str:
        return "fake engine " + self._state.value

    @property
    def tokenizer(self) -> Any | None:
        return None

    @property
    def model_dir(self) -> Path | None:
        return self._model_dir

    def subscribe(self, listener: StateListener) -> Unsubscribe:
        return self._listeners.subscribe(listener, self._state, self.status_message)

    def _set_state(self, state: EngineState) -> None:
        self._state = state
        self._listeners.publish(state, self.status_message)

    async def start(self) -> None:
        self._set_state(EngineState.LOADING)
        if self.settings.load_delay_ms:
            asyncio.get_running_loop().call_later(
                self.settings.load_delay_ms / 1000, self._set_ready
            )
        else:
            self._set_ready()

    def _set_ready(self) -> None:
        self._set_state(EngineState.READY)

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        if self.down:
            raise EngineUnavailable("the fake engine is down")
        if self._state is not EngineState.READY:
            raise EngineUnavailable("the fake engine is loading")
        self.requests.append(request)
        del self.requests[:-KEPT_REQUESTS]  # a long session must not grow with every answer
        if self.settings.record_prompts:
            _record(self.settings.record_prompts, request)
        stats = stats or GenerationStats()
        stats.prompt_tokens = len(request.prompt) // 3
        words = self.settings.response.split(" ")
        chunks = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        finished = False
        try:
            for chunk in chunks[: request.params.max_tokens]:
                await asyncio.sleep(self.settings.chunk_delay_ms / 1000)
                stats.generated_tokens += 1
                yield chunk
            finished = True
            stats.finish_reason = "stop"
        finally:
            if not finished:
                self.cancelled += 1
                stats.finish_reason = "cancelled"

    async def close(self) -> None:
        self._set_state(EngineState.STARTING)


def _record(path: str, request: GenerationRequest) -> None:
    """One JSON line per prompt (with its LoRA adapter); a file that cannot be written is a
    test's mistake: it raises."""
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps({"prompt": request.prompt, "adapter": request.adapter}) + "\n")
