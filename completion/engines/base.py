"""The one interface every completion backend implements."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class EngineState(enum.Enum):
    STARTING = "starting"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A finished prompt for the model: text in, text chunks out."""

    prompt: str
    params: SamplingParams = field(default_factory=SamplingParams)
    # Routing hint: requests with the same key go to the same replica (prefix-cache affinity).
    affinity_key: str | None = None
    # LoRA adapter name chosen by settings, for backends that serve several.
    adapter: str | None = None


@dataclass(slots=True)
class GenerationStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    cached_prompt_tokens: int = 0
    first_token_s: float | None = None
    finish_reason: str | None = None  # "stop", "length", "cancelled", "error"
    # time.perf_counter() when the engine stopped working on the request (cancel latency).
    stopped_at: float | None = None


class EngineUnavailable(Exception):
    """The engine cannot serve now (loading, down, unreachable). Expected; not a bug."""


@runtime_checkable
class Engine(Protocol):
    """A code model that streams text for a prompt.

    ``stream`` is an async generator: closing it (``aclose``, or cancelling the task that
    iterates it) must stop generation promptly, so no tokens are burnt for nothing.
    """

    name: str

    @property
    def state(self) -> EngineState: ...

    @property
    def status_message(self) -> str: ...

    async def start(self) -> None:
        """Begin preparing (load weights, connect). Returns once started, not once ready."""

    def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        """Text chunks for ``request``. Raises ``EngineUnavailable`` when it cannot serve."""
        ...

    async def close(self) -> None: ...
