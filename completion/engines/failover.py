"""Opening a streamed completion on the best replica that starts answering in time.

The request goes to the replicas of its route in turn (at most ``MAX_REPLICAS_TRIED``; the only
one twice after a connection failure). An attempt succeeds once the answer's first event is
in; until then nothing was shown, so any failure hands the request to the next replica: a
refused connection (replica marked down), no first event within the attempt's share of the
request's deadline or the read timeout (a timeout: ``TIMEOUTS_BEFORE_DOWN`` in a row take the
replica out), HTTP 429 (kept out until its ``Retry-After``), HTTP 5xx, or an answer that is
not an event stream. A refusal every replica would repeat (API key, model, bad request) ends
the request at once. Health changes are reported through ``HealthReports``.

A completion is never sent to a replica while a health probe to it is on its way: some servers
(llama.cpp's) serve one request at a time and cut the running answer short for the next one,
so the probe must reach the server first. The wait counts against the attempt's budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from loomline.completion.engines.base import EngineUnavailable, GenerationRequest
from loomline.completion.engines.replicas import Replica, ReplicaSet
from loomline.completion.engines.wire import (
    describe,
    next_event,
    retry_after_s,
    sse_lines,
    status_error,
)

log = logging.getLogger(__name__)

# Wait before retrying a replica that failed to connect (when it is the only one).
CONNECT_RETRY_BACKOFF_S = 0.05
# Most replicas one request tries before giving up.
MAX_REPLICAS_TRIED = 3


class ConnectFailed(Exception):
    """Nothing was received from the replica: safe to retry, there or elsewhere."""


class ReplicaFailed(Exception):
    """The replica cannot answer this now (timeout, 429, 5xx, not an event stream) and nothing
    of an answer was shown: another replica may take the request over; this one not again."""


class NotServing(EngineUnavailable):
    """The replica refused the request for a reason another replica shares (key, model)."""


@dataclass(slots=True)
class Opened:
    """A replica's answer under way: its first event is in (``DONE`` or a dict, None if the
    stream ended at once); ``lines`` reads the rest."""

    replica: Replica
    response: httpx.Response
    lines: AsyncGenerator[str, None]
    first: object | None


@dataclass(frozen=True, slots=True)
class HealthReports:
    """What the opener tells the engine: a replica ``failed`` (down now) or ``timed_out``
    (one strike), ``rejoined``; something ``changed`` (for state listeners); and
    ``unavailable()``, why no replica can be asked now (the engine's status message)."""

    failed: Callable[[Replica, str], None]
    timed_out: Callable[[Replica, str], None]
    rejoined: Callable[[Replica], None]
    changed: Callable[[], None]
    unavailable: Callable[[], str]


class ReplicaOpener:
    """``await opener.open(client, request, body)``: the ``Opened`` answer of the first
    replica that starts answering in time; raises ``EngineUnavailable`` (or
    ``EngineRequestError``) when none does."""

    def __init__(
        self, replicas: ReplicaSet, timeout: httpx.Timeout, api_key_env: str,
        reports: HealthReports,
        probe_settled: Callable[[Replica], Awaitable[None]] | None = None,
    ) -> None:
        self._replicas = replicas
        self._timeout = timeout
        self._api_key_env = api_key_env
        self._reports = reports
        # Waits until no health probe to the replica is on its way.
        self._probe_settled = probe_settled

    async def open(
        self, client: httpx.AsyncClient, request: GenerationRequest, body: dict[str, Any],
        tried: list[Replica] | None = None,
    ) -> Opened:
        """Send the request to the best replica that starts answering in time: its first
        event received. A replica that refuses the connection, times out, is rate-limited,
        fails (5xx) or answers something else than an event stream hands the request on to
        the next one, within the request's deadline; nothing of an answer was shown yet.
        ``tried``: the replicas this request was already sent to (not asked again); each one
        asked here is added to it."""
        tried = tried if tried is not None else []
        route = [r for r in self._replicas.route(request.affinity_key) if r not in tried]
        if not route:
            raise EngineUnavailable(self._reports.unavailable())
        # Each replica once (failover), the only one twice (one retry after a short wait).
        attempts = route[:MAX_REPLICAS_TRIED] if len(route) > 1 else route * 2
        last_error = ""
        for index, replica in enumerate(attempts):
            if replica in tried:
                await asyncio.sleep(CONNECT_RETRY_BACKOFF_S)
            else:
                tried.append(replica)
            others_left = any(r not in tried for r in attempts[index + 1 :])
            budget = self.attempt_budget(request.deadline, others_left)
            try:
                return await self._attempt(client, replica, body, budget)
            except ConnectFailed as exc:
                last_error = str(exc)
                self._reports.failed(replica, last_error)
            except ReplicaFailed as exc:
                if not others_left:
                    raise EngineUnavailable(str(exc)) from exc
                log.info("trying another engine: %s", exc)
        raise EngineUnavailable(f"cannot reach the engine: {last_error}")

    def attempt_budget(self, deadline: float | None, others_left: bool) -> float | None:
        """Seconds one replica gets to start answering: half of what is left of the
        request's deadline while another replica could still take over, else all of it."""
        if deadline is None:
            return None  # the HTTP read timeout decides
        left = max(0.0, deadline - time.monotonic())
        return min(self._timeout.read or left, left / 2 if others_left else left)

    async def _attempt(
        self, client: httpx.AsyncClient, replica: Replica, body: dict[str, Any],
        budget: float | None,
    ) -> Opened:
        """Headers and the first event from ``replica`` within ``budget`` seconds."""
        replica.in_flight += 1
        response: httpx.Response | None = None
        lines: AsyncGenerator[str, None] | None = None
        try:
            async with asyncio.timeout(budget):
                if self._probe_settled is not None:
                    await self._probe_settled(replica)
                response = await self._send(client, replica, body)
                await self._check_answer(replica, response, body)
                lines = sse_lines(response.aiter_bytes())
                first = await next_event(lines)
        except BaseException as exc:  # cleaned up, then raised as what it means
            replica.in_flight -= 1
            if lines is not None:
                await lines.aclose()
            if response is not None:
                await response.aclose()
            raise self._attempt_failure(replica, exc, budget) from exc
        if self._replicas.mark_ok(replica):
            self._reports.rejoined(replica)
        else:
            self._reports.changed()  # a first answer ends STARTING: listeners hear READY now
        assert response is not None and lines is not None
        return Opened(replica, response, lines, first)

    def _attempt_failure(
        self, replica: Replica, exc: BaseException, budget: float | None
    ) -> BaseException:
        """What a failed attempt means for the request (and the replica's health)."""
        if isinstance(exc, TimeoutError | httpx.TimeoutException):
            wait = self._timeout.read if budget is None else budget
            error = f"{replica.display} did not answer within {wait:.1f} s"
            self._reports.timed_out(replica, error)
            return ReplicaFailed(error)
        if isinstance(exc, httpx.TransportError):  # dropped before the first event
            error = f"connection lost: {describe(exc)}"
            self._reports.failed(replica, error)
            return ReplicaFailed(f"{replica.display}: {error}")
        if isinstance(exc, EngineUnavailable) and not isinstance(exc, NotServing):
            return ReplicaFailed(str(exc))  # unreadable first event, or a line too long
        return exc

    async def _check_answer(
        self, replica: Replica, response: httpx.Response, body: dict[str, Any]
    ) -> None:
        """Raise unless ``response`` is the start of an event stream."""
        status = response.status_code
        if status != 200:
            error = await status_error(replica.display, response, body["model"],
                                       self._api_key_env)
            if status == 429:
                wait = retry_after_s(response.headers.get("retry-after"))
                self._replicas.mark_rate_limited(replica, wait, str(error))
                log.info("engine %s asks for a pause of %.1f s", replica.display, wait)
                self._reports.changed()
                raise ReplicaFailed(str(error))
            if status >= 500:
                raise ReplicaFailed(str(error))
            raise NotServing(str(error)) if isinstance(error, EngineUnavailable) else error
        kind = response.headers.get("content-type", "")
        if not kind.startswith("text/event-stream"):
            raise ReplicaFailed(
                f"{replica.display} answered {kind or 'without a content type'}, "
                "not an event stream (is it an OpenAI-compatible /v1 endpoint?)"
            )

    async def _send(
        self, client: httpx.AsyncClient, replica: Replica, body: dict[str, Any]
    ) -> httpx.Response:
        request = client.build_request("POST", replica.base_url + "/completions", json=body)
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectFailed(describe(exc)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            # Closed before a single byte of the answer: e.g. a kept-alive connection to a
            # server that restarted. Nothing was received, so another try is safe.
            raise ConnectFailed(describe(exc)) from exc
