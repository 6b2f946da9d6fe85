"""The replica set's circuit breaker for timeouts and its respect of HTTP 429 (no I/O)."""

from __future__ import annotations

from loomline.completion.engines import replicas as replicas_module
from loomline.completion.engines.replicas import ReplicaSet


def _pair() -> tuple[ReplicaSet, list[float]]:
    now = [100.0]
    replicas = ReplicaSet.from_urls(["http://h1:8000", "http://h2:8000"], clock=lambda: now[0])
    for replica in replicas.replicas:
        replicas.mark_ok(replica)
    return replicas, now


def test_timeouts_in_a_row_take_a_replica_out_and_an_answer_resets_the_count() -> None:
    replicas, now = _pair()
    hung, other = replicas.replicas
    assert replicas_module.TIMEOUTS_BEFORE_DOWN == 2
    assert replicas.mark_timed_out(hung, "no answer") is False
    assert hung.healthy
    replicas.mark_answered(hung)  # it answered in time after all: the count starts again
    assert replicas.mark_timed_out(hung, "no answer") is False
    assert replicas.mark_timed_out(hung, "no answer") is True
    assert not hung.healthy and hung.last_error == "no answer"
    assert replicas.route("doc") == [other]
    # It answers probes (/models) while completions hang: the first probe waits a while.
    now[0] += replicas_module.TIMED_OUT_PROBE_DELAY_S - 0.1
    assert hung not in replicas.due_for_probe()
    now[0] += 0.2
    assert hung in replicas.due_for_probe()


def test_a_replica_back_from_timeouts_has_one_strike_left_until_it_answers() -> None:
    replicas, _now = _pair()
    hung, _other = replicas.replicas
    replicas.mark_timed_out(hung, "no answer")
    replicas.mark_timed_out(hung, "no answer")
    replicas.mark_ok(hung)  # a probe got an answer
    assert hung.healthy
    assert replicas.mark_timed_out(hung, "no answer") is True


def test_a_rate_limited_replica_is_neither_routed_to_nor_probed_until_retry_after() -> None:
    replicas, now = _pair()
    busy, other = replicas.replicas
    key = next(k for k in (f"k{i}" for i in range(100)) if replicas.owner(k) is busy)
    replicas.mark_rate_limited(busy, 30.0, "HTTP 429")
    assert replicas.rate_limited(busy) and busy.healthy  # up, only asking for a pause
    assert replicas.route(key) == [other]
    now[0] += replicas_module.PROBE_HEALTHY_S + 1  # both due for a beat, one may be asked
    assert replicas.due_for_probe() == [other]
    now[0] = 100.0 + 30.0
    assert replicas.route(key)[0] is busy  # its documents come back at once
    assert not replicas.rate_limited(busy)
    assert replicas.due_for_probe() == [busy, other]


def test_when_every_replica_is_rate_limited_no_route_is_offered() -> None:
    replicas, now = _pair()
    for replica in replicas.replicas:
        replicas.mark_rate_limited(replica, 1.0, "HTTP 429")
    assert replicas.route("doc") == [] and replicas.route(None) == []
    now[0] += 1.0
    assert len(replicas.route("doc")) == 2
