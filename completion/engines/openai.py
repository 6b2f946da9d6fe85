"""Completions from vLLM or any OpenAI-compatible ``/v1/completions`` server.

One streaming POST per request (``stream: true``, server-sent events). Closing the ``stream``
generator, or cancelling the task that iterates it, closes the HTTP response and with it the
connection; vLLM notices the disconnect and aborts the sequence, so no tokens are burnt for
a completion nobody will see.

Failures are expected and cheap: a connection failure (nothing received yet) is retried once
with a short backoff or sent to the next replica; a replica that does not start answering in
time (half of what is left of the request's deadline while another could take over), answers
HTTP 429 or 5xx, or something else than an event stream hands the request to the next replica;
so does one that falls silent, loses the connection or ends early before any text of its
answer was passed on. Once some was, a failure ends the stream (the caller keeps what it has):
the same text is never asked for twice. A replica that stalls or drips mid-answer until the
deadline counts a timeout (``stalls``). A stream that ends without a finish reason was cut
short (llama.cpp's server ends the running answer so when another request arrives): that is
an early end, not a whole answer. When no replica can be reached, ``stream`` raises
``EngineUnavailable`` at once (no network wait) until a health probe sees a replica again.

The prompt is the complete FIM text: these servers reject ``suffix`` for Qwen-style models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import httpx

from loomline.completion.cleanup.stops import StopHoldback, cut_at_stops
from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    StateBroadcast,
    StateListener,
    Unsubscribe,
)
from loomline.completion.engines.candidates import Candidate, CandidateCollector, LogprobStats
from loomline.completion.engines.failover import HealthReports, Opened, ReplicaOpener
from loomline.completion.engines.health import HealthProbe
from loomline.completion.engines.replicas import Replica, ReplicaSet
from loomline.completion.engines.stalls import SilenceWatch
from loomline.completion.engines.wire import (
    DONE,
    MAX_SERVER_STOPS,
    StreamTally,
    bearer,
    completions_body,
    describe,
    error_text,
    next_event,
)
from loomline.completion.settings import Settings
from loomline.completion.tokens import local_tokenizer_dir

log = logging.getLogger(__name__)


class HandOver(Exception):
    """A replica failed before any of its answer was passed on, and another one may take the
    request over."""


class OpenAICompletionsEngine:
    """The ``Engine`` for vLLM / OpenAI-compatible servers listed in ``engine.urls``.

    Use: ``engine = create(settings)``; ``await engine.start()`` (starts health probing, does
    not wait); then per completion ``async for text in engine.stream(request, stats)``, or
    ``await engine.candidates(request, n)`` for ``n`` ranked alternatives;
    ``await engine.close()`` at the end. ``state`` / ``status_message`` follow the replicas'
    health (READY while any replica answers); ``subscribe`` hears every change, e.g. to clear
    an "engine down" message as soon as it is back. ``model_dir`` is a local directory with
    the model's tokenizer when one is prepared (for exact prompt budgets), else None; there
    is never a ``tokenizer`` in this process.
    """

    name = "vllm"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        engine = settings.engine
        self._replicas = ReplicaSet.from_urls(engine.urls)
        self._model = engine.served_model or settings.model.id
        self._api_key_env = engine.api_key_env
        self._timeout = httpx.Timeout(
            connect=engine.connect_timeout_ms / 1000,
            read=engine.read_timeout_ms / 1000,
            write=engine.read_timeout_ms / 1000,
            pool=engine.connect_timeout_ms / 1000,
        )
        self._verify = engine.verify_tls
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # Probes share the client, so their timeouts are the completions' (read included).
        self._health = HealthProbe(
            self._replicas,
            self._ensure_client,
            failed=self._replica_failed,
            rejoined=self._replica_rejoined,
            changed=self._notify,
        )
        self._opener = ReplicaOpener(
            self._replicas, self._timeout, self._api_key_env,
            HealthReports(
                failed=self._replica_failed, timed_out=self._timed_out,
                rejoined=self._replica_rejoined, changed=self._notify,
                unavailable=lambda: self.status_message,
            ),
            probe_settled=self._health.settled,
        )
        self._listeners = StateBroadcast()
        self._closed = False
        self._model_dir = local_tokenizer_dir(settings.model)

    # ---- Engine protocol ------------------------------------------------------------------
    @property
    def state(self) -> EngineState:
        if not self._replicas:
            return EngineState.ERROR
        if any(r.healthy and not r.unknown for r in self._replicas.replicas):
            return EngineState.READY
        if all(r.unknown for r in self._replicas.replicas):
            return EngineState.STARTING
        return EngineState.ERROR

    @property
    def status_message(self) -> str:
        replicas = self._replicas.replicas
        if not replicas:
            return "no engine URL configured (engine.urls)"
        down = [r for r in replicas if not r.healthy]
        state = self.state
        if state is EngineState.STARTING:
            return f"connecting to {', '.join(r.display for r in replicas)}"
        limited = [r for r in replicas if r.healthy and self._replicas.rate_limited(r)]
        if state is EngineState.READY and len(limited) == len(self._replicas.healthy):
            # The same text for as long as they ask for a pause: the user is told once.
            return "; ".join(r.last_error for r in limited)
        if state is EngineState.READY:
            up = [r.display for r in replicas if r.healthy and r not in limited]
            text = f"model '{self._model}' served by {', '.join(up)}"
            if down:
                text += "; down: " + "; ".join(f"{r.display} ({r.last_error})" for r in down)
            return text
        return "cannot reach " + "; ".join(f"{r.display} ({r.last_error})" for r in down) + (
            "; retrying"
        )

    @property
    def tokenizer(self) -> Any | None:
        return None

    @property
    def model_dir(self) -> Path | None:
        return self._model_dir

    def subscribe(self, listener: StateListener) -> Unsubscribe:
        return self._listeners.subscribe(listener, self.state, self.status_message)

    @property
    def replicas(self) -> ReplicaSet:
        return self._replicas

    async def start(self) -> None:
        """Open the HTTP client and begin health probing; does not wait for a replica."""
        self._ensure_client()
        self._health.start()

    async def close(self) -> None:
        self._closed = True
        await self._health.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        """Text chunks as the server produces them.

        Raises ``EngineUnavailable`` when no replica can serve (at once if all are known down)
        or the connection breaks, ``EngineRequestError`` when the server rejects the request.
        Pass a ``LogprobStats`` to also collect token log probabilities.
        """
        stats = stats if stats is not None else GenerationStats()
        logprobs = 1 if isinstance(stats, LogprobStats) else None
        body = completions_body(request, self._model, 1, logprobs)
        stops = StopHoldback(request.params.stop[MAX_SERVER_STOPS:])
        stopped = False
        async with contextlib.aclosing(self._choices(request, body, stats)) as choices:
            async for choice in choices:
                if isinstance(stats, LogprobStats):
                    stats.add(choice)
                text, stopped = stops.feed(choice.get("text") or "")
                if text:
                    yield text
                if stopped:
                    break  # leaving the block closes the stream: the server aborts the rest
            else:
                if rest := stops.flush():
                    yield rest
        if stopped:
            stats.finish_reason = "stop"

    async def candidates(
        self, request: GenerationRequest, n: int, stats: GenerationStats | None = None
    ) -> list[Candidate]:
        """``n`` sampled completions of one prompt, in one request, with their log probabilities.

        The prompt is prefilled once and shared by all ``n`` sequences. Use a temperature
        above 0 (with 0 all candidates are the same). Same errors as ``stream``; cancelling
        the caller closes the request.
        """
        n = max(1, n)
        stats = stats if stats is not None else GenerationStats()
        body = completions_body(request, self._model, n, 1)
        collector = CandidateCollector(n)
        async with contextlib.aclosing(self._choices(request, body, stats)) as choices:
            async for choice in choices:
                collector.add(choice)
        stops = request.params.stop[MAX_SERVER_STOPS:]
        return collector.candidates(lambda text: cut_at_stops(text, stops))

    # ---- the request --------------------------------------------------------------------
    async def _choices(
        self, request: GenerationRequest, body: dict[str, Any], stats: GenerationStats
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``choices`` entries of the streamed events; fills ``stats``; closes on exit.

        A replica that fails before any choice was passed on hands the request to the next
        one (within the deadline), as if it had never started answering."""
        tally = StreamTally(stats, time.perf_counter())
        began = time.monotonic()
        tried: list[Replica] = []

        def others_left() -> bool:
            return any(r not in tried for r in self._replicas.route(request.affinity_key))

        while True:
            try:
                opened = await self._opener.open(self._ensure_client(), request, body, tried)
            except BaseException as exc:  # e.g. typed past while the server prefills
                cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
                stats.finish_reason = "cancelled" if cancelled else "error"
                raise
            reading = self._read(opened, request, tally, began, others_left)
            try:
                async with contextlib.aclosing(reading) as choices:
                    async for choice in choices:
                        yield choice
                return
            except HandOver as exc:
                log.info("trying another engine: %s", exc)

    async def _read(
        self, opened: Opened, request: GenerationRequest, tally: StreamTally, began: float,
        others_left: Callable[[], bool],
    ) -> AsyncGenerator[dict[str, Any], None]:
        """One replica's answer: its choices that carry anything; records its health.

        Raises ``HandOver`` when it fails before a choice was passed on and ``others_left()``,
        else ``EngineUnavailable``."""
        replica, stats, started = opened.replica, tally.stats, tally.started
        silences = SilenceWatch(began, time.monotonic())
        passed_on = False
        try:
            event = opened.first
            while isinstance(event, dict):
                if "error" in event:
                    raise EngineUnavailable(f"{replica.display}: {error_text(event)}")
                for choice in tally.add(event):
                    if passed_on or _carries_answer(choice):
                        passed_on = True
                        yield choice
                # Until it says something, it gets the share of the deadline a first event gets.
                hand_over = not passed_on and others_left()
                wait = self._opener.attempt_budget(request.deadline, True) if hand_over else None
                async with asyncio.timeout(wait):
                    event = await next_event(opened.lines)
                silences.heard()
            if not tally.finished:
                raise _EndedEarly(replica.display, event is DONE)
            self._replicas.mark_answered(replica)
            if self._replicas.mark_ok(replica):
                self._replica_rejoined(replica)
        except (asyncio.CancelledError, GeneratorExit):
            stats.finish_reason = "cancelled"
            if silences.stalled_at_deadline(request.deadline):
                gap = silences.longest_silence()
                self._timed_out(replica, f"{replica.display} stalled mid-answer ({gap:.1f} s "
                                         "without a token)")
            raise
        except (TimeoutError, httpx.TransportError, _EndedEarly) as exc:
            stats.finish_reason = "error"
            error = self._read_failed(replica, exc)
            if not passed_on and others_left():
                raise HandOver(error) from exc
            raise EngineUnavailable(error) from exc
        except BaseException:
            stats.finish_reason = "error"
            raise
        finally:
            tally.close()
            replica.in_flight -= 1
            await opened.lines.aclose()
            await opened.response.aclose()
            stats.stopped_at = time.perf_counter()
            _log_generation(replica, stats, started)

    def _read_failed(self, replica: Replica, exc: BaseException) -> str:
        """What a failure while reading an answer means for the replica's health; its text."""
        if isinstance(exc, httpx.TimeoutException):
            error = f"{replica.display} sent nothing for {self._timeout.read:.0f} s"
            self._timed_out(replica, error)
        elif isinstance(exc, TimeoutError):  # our wait, bounded while another could take over
            error = f"{replica.display} fell silent after starting its answer"
            self._timed_out(replica, error)
        elif isinstance(exc, httpx.TransportError):
            self._replica_failed(replica, f"connection lost: {describe(exc)}")
            error = f"lost the connection to {replica.display}"
        else:
            error = str(exc)  # an early end says nothing about the replica's health
        return error

    # ---- client and health ----------------------------------------------------------------
    def _ensure_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise EngineUnavailable("the engine is closed")
        if self._client is None:
            headers = {"Accept": "text/event-stream"}
            key = os.environ.get(self._api_key_env) if self._api_key_env else None
            if key:
                headers["Authorization"] = bearer(key)
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                verify=self._verify,
                headers=headers,
                transport=self._transport,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return self._client

    def _replica_failed(self, replica: Replica, error: str) -> None:
        if self._replicas.mark_failed(replica, error):
            log.warning("engine %s is down: %s", replica.display, error)
        self._notify()

    def _timed_out(self, replica: Replica, error: str) -> None:
        if self._replicas.mark_timed_out(replica, error):
            log.warning("engine %s is down: %s", replica.display, error)
        self._notify()

    def _replica_rejoined(self, replica: Replica) -> None:
        log.info("engine %s is back", replica.display)
        self._notify()

    def _notify(self) -> None:
        self._listeners.publish(self.state, self.status_message)


class _EndedEarly(Exception):
    def __init__(self, where: str, done: bool) -> None:
        super().__init__(
            f"{where} ended the answer without a finish reason (another request may have "
            "interrupted it)" if done else f"{where} ended the stream early"
        )


def _carries_answer(choice: dict[str, Any]) -> bool:
    """Whether a streamed choice says anything (text, token log probabilities, a finish):
    until one does, another replica may still take the request over."""
    return bool(
        choice.get("text") or choice.get("finish_reason")
        or (choice.get("logprobs") or {}).get("tokens")
    )


def create(settings: Settings) -> OpenAICompletionsEngine:
    """The engine for ``backend: "vllm"``."""
    return OpenAICompletionsEngine(settings)


def _log_generation(replica: Replica, stats: GenerationStats, started: float) -> None:
    log.debug(
        "completion on %s: %d prompt tokens (%d cached), %d generated, first token "
        "%s s, %.3f s in all, %s",
        replica.display, stats.prompt_tokens, stats.cached_prompt_tokens,
        stats.generated_tokens,
        f"{stats.first_token_s:.3f}" if stats.first_token_s is not None else "-",
        time.perf_counter() - started, stats.finish_reason,
    )
