"""Active health checks of OpenAI-compatible replicas: ``GET <base>/models`` when one is due.

The schedule is the ``ReplicaSet``'s (a short backoff while a replica is down, a slow beat
while it is up); this module only runs the probes, in one background task. A replica with a
request in flight is never probed: its stream already says it is alive, and some servers
(llama.cpp's) interrupt the running request for any new one; for the same reason a completion
waits for a probe already on its way to its replica (``settled``) before it is sent. A probe
waits as long as a completion may (the read timeout): a server busy prefilling answers late,
but it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import httpx

from loomline.completion.engines.replicas import Replica, ReplicaSet
from loomline.completion.engines.wire import describe

log = logging.getLogger(__name__)

# Longest wait between two turns of the health loop.
HEALTH_TICK_S = 0.25


class HealthProbe:
    """Probes ``replicas`` through ``client()`` and reports what it learns.

    ``failed(replica, error)``: the replica did not answer (or answered HTTP 5xx).
    ``rejoined(replica)``: a replica that was down answers again.
    ``changed()``: after every probe and every turn, for state listeners.
    """

    def __init__(
        self,
        replicas: ReplicaSet,
        client: Callable[[], httpx.AsyncClient],
        *,
        failed: Callable[[Replica, str], None],
        rejoined: Callable[[Replica], None],
        changed: Callable[[], None],
    ) -> None:
        self._replicas = replicas
        self._client = client
        self._failed = failed
        self._rejoined = rejoined
        self._changed = changed
        self._task: asyncio.Task[None] | None = None
        # The probes on their way, one per replica at most.
        self._running: dict[Replica, asyncio.Task[bool]] = {}

    def start(self) -> None:
        """Begin probing in the background (once; nothing to do without replicas)."""
        if self._task is None and self._replicas:
            self._task = asyncio.create_task(self._loop(), name="engine-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def settled(self, replica: Replica) -> None:
        """Return once no probe to ``replica`` is on its way (at once when none is). A
        probe is never started while the replica has a request in flight, so a caller that
        counted its request there first can send it right after this."""
        task = self._running.get(replica)
        if task is not None and not task.done():
            await asyncio.wait([task])  # its outcome is the loop's to report

    async def probe(self, replica: Replica) -> bool:
        """``GET <base>/models``: any answer below 500 means the server is up."""
        try:
            response = await self._client().get(replica.base_url + "/models")
        except httpx.HTTPError as exc:
            self._failed(replica, describe(exc))
            return False
        if response.status_code >= 500:
            self._failed(replica, f"HTTP {response.status_code}")
            return False
        models: tuple[str, ...] | None = None
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            models = tuple(str(m["id"]) for m in response.json()["data"])
        if self._replicas.mark_ok(replica, models):
            self._rejoined(replica)
        self._changed()
        return True

    async def _loop(self) -> None:
        # One task per probe: a replica that is slow to answer delays no other replica's.
        running = self._running
        try:
            while True:
                for replica in self._replicas.due_for_probe(running.keys()):
                    running[replica] = asyncio.create_task(self.probe(replica))
                self._changed()
                wait = self._replicas.seconds_to_next_probe(running.keys())
                await asyncio.sleep(min(HEALTH_TICK_S, max(wait, 0.01)))
                for replica in [r for r, task in running.items() if task.done()]:
                    task = running.pop(replica)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("probing %s failed", replica.display, exc_info=task.exception())
        finally:
            for task in running.values():
                task.cancel()
            running.clear()
