"""The embedded model's thread count: the cores other programs leave free."""

from __future__ import annotations

import pytest

from loomline.completion.engines import threads
from loomline.completion.engines.threads import ThreadPolicy, _Sample, choose_threads


@pytest.mark.parametrize(
    ("cores", "others_busy", "expected"),
    [
        (2, 0.0, 2),  # quiet machine: every core
        (2, 0.3, 2),  # a little background work leaves most of the second core
        (2, 1.0, 1),  # one core held by a build: one thread (8.3 s vs 22.9 s first token)
        (2, 0.6, 1),  # more than half a core taken: not worth a second thread
        (2, 2.0, 1),  # all busy: still one thread
        (2, 5.0, 1),  # load above the cores
        (8, 2.2, 6),
        (8, 0.0, 8),
        (1, 0.0, 1),
        (0, 0.0, 1),  # a platform that says no cores: one
        (4, -1.0, 4),  # a negative reading is no load
    ],
)
def test_threads_follow_the_free_cores(cores: int, others_busy: float, expected: int) -> None:
    assert choose_threads(cores, others_busy) == expected


@pytest.mark.parametrize("configured", [1, 2, 3, 16])
def test_a_configured_count_wins_over_the_machine(configured: int) -> None:
    assert choose_threads(2, 1.5, configured) == configured
    assert choose_threads(64, 0.0, configured) == configured


class _Clock:
    """Scripted samples: (wall s, busy CPU s of the machine, CPU s of this process)."""

    def __init__(self, *samples: tuple[float, float, float]) -> None:
        self.samples = [_Sample(*s) for s in samples]

    def __call__(self) -> _Sample:
        return self.samples.pop(0)


def test_between_requests_counts_others_not_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = ThreadPolicy()
    policy.cores = 2
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    monkeypatch.setattr(
        threads,
        "_sample",
        _Clock(
            (0.0, 0.0, 0.0),
            (0.25, 0.0, 0.0),  # quiet at start
            # 10 s later: the machine was busy 20 CPU s, all of it this process (generating)
            (10.25, 20.0, 20.0),
            # 10 s later: 18 CPU s busy, 8 of them ours: another job held one core
            (20.25, 38.0, 28.0),
            (20.5, 38.5, 28.2),  # too soon to tell: keep the count
        ),
    )
    assert policy.at_start() == 2
    assert policy.between_requests() == 2
    assert policy.between_requests() == 1
    assert policy.between_requests() is None


def test_a_long_quiet_spell_asks_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = ThreadPolicy()
    policy.cores = 2
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    monkeypatch.setattr(
        threads, "_sample", _Clock((0.0, 0.0, 0.0), (0.25, 0.0, 0.0), (600.0, 30.0, 0.0))
    )
    # The 10-minute average (0.05 cores) hides the build that started a minute ago.
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.1, 0.3, 0.1))
    policy.at_start()
    assert policy.between_requests() == 1


def test_without_psutil_the_load_average_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = ThreadPolicy()
    policy.cores = 2
    monkeypatch.setattr(threads, "_sample", lambda: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert policy.at_start() == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.1, 1.0, 1.0))
    assert policy.between_requests() == 2


def test_configured_threads_skip_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> _Sample:
        raise AssertionError("measured although model.threads is set")

    monkeypatch.setattr(threads, "_sample", refuse)
    policy = ThreadPolicy(configured=3)
    assert policy.at_start() == 3
    assert policy.between_requests() == 3


def test_the_real_machine_gives_a_count_within_its_cores() -> None:
    policy = ThreadPolicy()
    assert 1 <= policy.at_start() <= policy.cores
