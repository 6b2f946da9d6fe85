"""Which OpenAI-compatible replica serves a request, and which replicas are up.

Routing is rendezvous (highest-random-weight) hashing of the request's affinity key (the
document URI) over the healthy replicas, so every request for a document lands on the same
replica and reuses its prefix cache; when that replica fails, the document moves to its
next-ranked replica and only its own keys move. Requests without a key go to the healthy
replica with the fewest requests in flight.

Health is passive and active: a connection failure marks a replica down at once, and so do
``TIMEOUTS_BEFORE_DOWN`` timeouts in a row (a replica that accepts and never answers: a
circuit breaker); an HTTP 429 keeps a replica out of every route until its ``Retry-After``;
a down replica is probed (``GET <base>/models``) with a short backoff and rejoins on the first
success; a replica that is serving a request is not probed. Nothing here does I/O:
``health.HealthProbe`` runs the probes and reports the outcomes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

# Backoff between probes of a replica that is down: first retry soon, then every few seconds.
PROBE_BACKOFF_S = (0.25, 0.5, 1.0, 2.0)
# Probe of a replica believed up, to notice one that went away while idle.
PROBE_HEALTHY_S = 15.0
# Timeouts in a row (no answer in time, no failure either) that take a replica out.
TIMEOUTS_BEFORE_DOWN = 2
# A replica taken out for timeouts is first probed after this: it may well answer the probe
# (``/models``) while its completions hang, and each rejoin costs a request a timeout.
TIMED_OUT_PROBE_DELAY_S = 5.0


def normalize_base_url(url: str) -> str:
    """``http://host:8000`` or ``http://host:8000/v1/`` -> ``http://host:8000/v1``."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def redact_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for logs and status messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(eq=False)
class Replica:
    base_url: str
    healthy: bool = True
    # True until the first probe or request says otherwise.
    unknown: bool = True
    failures: int = 0
    last_error: str = ""
    next_probe_at: float = 0.0
    in_flight: int = 0
    served_models: tuple[str, ...] = ()
    # Timeouts since it last answered in time (``TIMEOUTS_BEFORE_DOWN`` take it out).
    timeouts: int = 0
    # Not asked anything before this ``clock()`` time (HTTP 429 Retry-After).
    rate_limited_until: float = 0.0

    @property
    def display(self) -> str:
        return redact_url(self.base_url)

    def weight(self, key: str) -> int:
        digest = hashlib.blake2b(f"{key}\x00{self.base_url}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")


@dataclass
class ReplicaSet:
    replicas: list[Replica]
    clock: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def from_urls(
        cls, urls: list[str], clock: Callable[[], float] = time.monotonic
    ) -> ReplicaSet:
        seen: dict[str, Replica] = {}
        for url in urls:
            base = normalize_base_url(url)
            seen.setdefault(base, Replica(base))
        return cls(list(seen.values()), clock)

    def __len__(self) -> int:
        return len(self.replicas)

    @property
    def healthy(self) -> list[Replica]:
        return [r for r in self.replicas if r.healthy]

    def route(self, affinity_key: str | None) -> list[Replica]:
        """Replicas to try for one request, best first; empty when none may be tried now.

        Healthy replicas come first (by rendezvous rank for a key, by load otherwise), then
        down replicas whose next probe is due: a request may serve as their probe.
        """
        now = self.clock()
        allowed = [r for r in self.replicas if r.rate_limited_until <= now]
        up = [r for r in allowed if r.healthy]
        due = [r for r in allowed if not r.healthy and r.next_probe_at <= now]
        if affinity_key is not None:
            up.sort(key=lambda r: r.weight(affinity_key), reverse=True)
            due.sort(key=lambda r: r.weight(affinity_key), reverse=True)
        else:
            up.sort(key=lambda r: r.in_flight)
        return up + due

    def owner(self, affinity_key: str) -> Replica | None:
        """The healthy replica that serves ``affinity_key`` now."""
        route = self.route(affinity_key)
        return route[0] if route and route[0].healthy else None

    def mark_ok(self, replica: Replica, served_models: tuple[str, ...] | None = None) -> bool:
        """Record a success; True when the replica was down and rejoins now."""
        rejoined = not replica.healthy
        replica.healthy = True
        replica.unknown = False
        replica.failures = 0
        replica.last_error = ""
        replica.next_probe_at = self.clock() + PROBE_HEALTHY_S
        if served_models is not None:
            replica.served_models = served_models
        return rejoined

    def mark_failed(self, replica: Replica, error: str) -> bool:
        """Record a failure to connect; True when the replica was up until now."""
        went_down = replica.healthy
        replica.healthy = False
        replica.unknown = False
        replica.last_error = error
        delay = PROBE_BACKOFF_S[min(replica.failures, len(PROBE_BACKOFF_S) - 1)]
        replica.failures += 1
        replica.next_probe_at = self.clock() + delay
        return went_down

    def mark_answered(self, replica: Replica) -> None:
        """The replica answered a request to its end: its count of timeouts starts again."""
        replica.timeouts = 0

    def mark_timed_out(self, replica: Replica, error: str) -> bool:
        """Record a request the replica did not answer in time; True when that takes it out
        now (``TIMEOUTS_BEFORE_DOWN`` in a row: then it is probed like a refusing one). A
        probe's success lets it back with one strike left until it answers a request."""
        replica.timeouts += 1
        if replica.timeouts < TIMEOUTS_BEFORE_DOWN:
            return False
        went_down = self.mark_failed(replica, error)
        replica.next_probe_at = max(replica.next_probe_at, self.clock() + TIMED_OUT_PROBE_DELAY_S)
        return went_down

    def mark_rate_limited(self, replica: Replica, seconds: float, error: str) -> None:
        """The replica asked to be left alone for ``seconds`` (HTTP 429 ``Retry-After``)."""
        replica.rate_limited_until = self.clock() + max(0.0, seconds)
        replica.last_error = error

    def rate_limited(self, replica: Replica) -> bool:
        return replica.rate_limited_until > self.clock()

    def _probeable(self, probing: Collection[Replica]) -> list[Replica]:
        # A replica serving a request is alive, and some servers (llama.cpp's) interrupt the
        # running request for any new one: never probe it while it streams. One that asked
        # for a pause (429) is not asked anything before then.
        now = self.clock()
        return [
            r for r in self.replicas
            if not r.in_flight and r not in probing and r.rate_limited_until <= now
        ]

    def due_for_probe(self, probing: Collection[Replica] = ()) -> list[Replica]:
        """Replicas to probe now: due, idle, and not among ``probing`` (probes under way)."""
        now = self.clock()
        return [r for r in self._probeable(probing) if r.next_probe_at <= now]

    def seconds_to_next_probe(self, probing: Collection[Replica] = ()) -> float:
        """Seconds until ``due_for_probe(probing)`` has a replica (``PROBE_HEALTHY_S`` if
        none can be probed: all busy)."""
        candidates = self._probeable(probing)
        if not candidates:
            return PROBE_HEALTHY_S
        now = self.clock()
        return max(0.0, min(r.next_probe_at for r in candidates) - now)
