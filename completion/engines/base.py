"""The one interface every completion backend implements."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)


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
    # ``time.monotonic()`` by which the whole answer must be in (the caller stops reading
    # then); an engine with a choice of replicas budgets its attempts within it. None: none.
    deadline: float | None = None


def affinity_key(uri: str, adapter: str | None = None) -> str:
    """The routing key of a document's requests (replica choice, the embedded engine's KV
    cache slot): per document and LoRA adapter, since a KV cache computed under one adapter
    is wrong under another."""
    return uri if adapter is None else f"{uri}#lora={adapter}"


@dataclass(slots=True)
class GenerationStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    cached_prompt_tokens: int = 0
    first_token_s: float | None = None
    # "stop", "length", "cancelled", "error"; "deadline" / "length" when the caller cut it.
    finish_reason: str | None = None
    # time.perf_counter() when the engine stopped working on the request (cancel latency).
    stopped_at: float | None = None


class EngineUnavailable(Exception):
    """The engine cannot serve now (loading, down, unreachable). Expected; not a bug."""


class EngineRequestError(Exception):
    """The engine refused the request itself (an OpenAI-compatible server's HTTP 400, 413 or
    422: a prompt too long for its context, a parameter it does not take). The request's
    fault, not an outage: another replica would refuse it too, and the message (the
    server's own words, secrets redacted) is what the user needs, not a traceback."""


# Hears ``(state, status_message)``.
StateListener = Callable[[EngineState, str], None]
Unsubscribe = Callable[[], None]


class StateBroadcast:
    """An engine's listeners: each hears the current ``(state, message)`` when it subscribes,
    then every change once. A failing listener is logged and does not stop the others."""

    def __init__(self) -> None:
        self._listeners: list[StateListener] = []
        self._last: tuple[EngineState, str] | None = None

    def subscribe(self, listener: StateListener, state: EngineState, message: str) -> Unsubscribe:
        self._listeners.append(listener)
        self._call(listener, state, message)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, state: EngineState, message: str) -> None:
        if (state, message) == self._last:
            return
        self._last = (state, message)
        for listener in list(self._listeners):
            self._call(listener, state, message)

    @staticmethod
    def _call(listener: StateListener, state: EngineState, message: str) -> None:
        try:
            listener(state, message)
        except Exception:
            log.exception("engine state listener failed")


@runtime_checkable
class Engine(Protocol):
    """A code model that streams text for a prompt.

    ``stream`` is an async generator: closing it (``aclose``, or cancelling the task that
    iterates it) must stop generation promptly, so no tokens are burnt for nothing.
    Callers learn of state changes through ``subscribe`` (no polling) and read the model's
    tokenizer from ``tokenizer`` / ``model_dir`` (no probing for attributes).
    """

    name: str

    @property
    def state(self) -> EngineState: ...

    @property
    def status_message(self) -> str: ...

    @property
    def tokenizer(self) -> Any | None:
        """The model's tokenizer once loaded in this process (a transformers tokenizer:
        ``encode(text, add_special_tokens=False)``, ``apply_chat_template``), else None."""
        ...

    @property
    def model_dir(self) -> Path | None:
        """A local directory holding the model's ``tokenizer.json``, or None when there is none
        (or, for the embedded engine, not yet: it is known once the model is resolved)."""
        ...

    def subscribe(self, listener: StateListener) -> Unsubscribe:
        """Call ``listener(state, status_message)`` now and on every change after, on the event
        loop, until the returned function is called."""
        ...

    async def start(self) -> None:
        """Begin preparing (load weights, connect). Returns once started, not once ready."""

    def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        """Text chunks for ``request``. Raises ``EngineUnavailable`` when it cannot serve."""
        ...

    async def close(self) -> None: ...


async def wait_settled(engine: Engine, timeout: float | None = None) -> EngineState:
    """Wait until ``engine`` is neither starting nor loading; returns that state.

    Raises ``TimeoutError`` after ``timeout`` seconds (None: no limit).
    """
    settled = asyncio.Event()
    unsubscribe = engine.subscribe(
        lambda state, _: settled.set()
        if state not in (EngineState.STARTING, EngineState.LOADING)
        else None
    )
    try:
        await asyncio.wait_for(settled.wait(), timeout)
    finally:
        unsubscribe()
    return engine.state
