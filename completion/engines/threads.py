"""How many threads the embedded model gets: the cores other programs leave free.

On a machine whose cores are shared (a build running beside the editor), a model that takes
every core fights the other job for all of them and loses time on each switch: measured on
two cores with one busy, one thread gave the torch engine its first token in 8.3 s where two
took 22.9 s. So the count follows the cores that are free, measured when the model loads and
again between requests, and ``model.threads`` > 0 fixes it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# The first measurement, before the model loads, watches the machine this long.
START_SAMPLE_S = 0.25
# Between requests the figure is the average since the last look, over at least this long
# (a shorter window is mostly noise) ...
MIN_WINDOW_S = 1.0
# ... and at most this long (older load says little about now).
MAX_WINDOW_S = 30.0


def choose_threads(cores: int, others_busy: float, configured: int = 0) -> int:
    """Threads for the model: ``configured`` when > 0, else the cores that others leave free.

    ``cores``: cores this process may run on (>= 1). ``others_busy``: cores' worth of CPU time
    other processes used lately (0.0 = idle machine, 1.0 = one core fully busy). A core half
    used by others counts as free when more than half of it is (round to nearest); at least
    one thread, at most ``cores``.
    """
    if configured > 0:
        return configured
    cores = max(1, cores)
    free = cores - max(0.0, others_busy)
    return max(1, min(cores, int(free + 0.5)))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class _Sample:
    wall: float  # time.monotonic()
    system_busy: float  # CPU seconds all processes spent busy
    own: float  # CPU seconds this process spent


def _sample() -> _Sample | None:
    """Busy CPU time of the machine and of this process, or None where it cannot be read."""
    try:
        import psutil

        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        busy = sum(times) - idle
    except Exception:  # psutil missing or the platform refuses: the load average instead
        return None
    own = os.times()
    return _Sample(time.monotonic(), busy, own.user + own.system)


def _others_busy(before: _Sample, after: _Sample) -> float | None:
    wall = after.wall - before.wall
    if wall <= 0:
        return None
    others = (after.system_busy - before.system_busy) - (after.own - before.own)
    return max(0.0, others / wall)


def _load_average(own_rate: float) -> float:
    """Others' busy cores from the one-minute load average, less ``own_rate`` (cores this
    process used lately); 0.0 where the platform has no load average."""
    try:
        return max(0.0, os.getloadavg()[0] - own_rate)
    except OSError:
        return 0.0


class ThreadPolicy:
    """The model's thread count, re-measured between requests (``model.threads`` > 0 fixes it).

    ``others_busy`` is what the machine did besides this process: all busy CPU time minus
    ours, so the model's own work never counts against it. Without psutil it falls back to
    the one-minute load average.
    """

    def __init__(self, configured: int = 0) -> None:
        self.configured = configured
        self.cores = usable_cores()
        self._last: _Sample | None = None

    def at_start(self) -> int:
        """Threads to load the model with (watches the machine for a moment)."""
        if self.configured > 0:
            return self.configured
        first = _sample()
        if first is not None:
            time.sleep(START_SAMPLE_S)  # a measurement window, not a wait for an event
        self._last = _sample()
        busy = _others_busy(first, self._last) if first and self._last else None
        return self._decide(busy)

    def between_requests(self) -> int | None:
        """Threads for the next request, or None while the window since the last look is
        too short to say (keep the current count)."""
        if self.configured > 0:
            return self.configured
        now = _sample()
        if now is None or self._last is None:
            return self._decide(None)
        window = now.wall - self._last.wall
        if window < MIN_WINDOW_S:
            return None
        busy = _others_busy(self._last, now)
        if window > MAX_WINDOW_S:
            # An average over a long quiet spell hides a job that started just now: the
            # one-minute load average, less what this process used, says more.
            own_rate = (now.own - self._last.own) / window
            busy = _load_average(own_rate)
        self._last = now
        return self._decide(busy)

    def _decide(self, others_busy: float | None) -> int:
        if others_busy is None:
            others_busy = _load_average(own_rate=0.0)
        threads = choose_threads(self.cores, others_busy, self.configured)
        log.debug("threads: %d (%d cores, others busy %.2f)", threads, self.cores, others_busy)
        return threads
