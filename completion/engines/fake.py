"""A scripted engine: fast, deterministic tests of everything around the model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.completion.settings import FakeSettings


class FakeEngine:
    name = "fake"

    def __init__(self, settings: FakeSettings | None = None) -> None:
        self.settings = settings or FakeSettings()
        self._state = EngineState.STARTING
        self.requests: list[GenerationRequest] = []
        self.cancelled = 0
        self.down = False

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def status_message(self) -> str:
        return "fake engine " + self._state.value

    async def start(self) -> None:
        self._state = EngineState.LOADING
        if self.settings.load_delay_ms:
            asyncio.get_running_loop().call_later(
                self.settings.load_delay_ms / 1000, self._set_ready
            )
        else:
            self._set_ready()

    def _set_ready(self) -> None:
        self._state = EngineState.READY

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        if self.down:
            raise EngineUnavailable("the fake engine is down")
        if self._state is not EngineState.READY:
            raise EngineUnavailable("the fake engine is loading")
        self.requests.append(request)
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
        self._state = EngineState.STARTING
