"""OpenAICompletionsEngine with replicas that go down and come back: failing fast, health
probes, state listeners, affinity routing and failover."""

from __future__ import annotations

import asyncio
import time

import pytest

from loomline.completion.engines import replicas as replicas_module
from loomline.completion.engines.base import EngineState, EngineUnavailable
from loomline.completion.engines.replicas import ReplicaSet, normalize_base_url, redact_url
from tests.unit.openai_engine.fake_server import (
    FakeOpenAI,
    collect,
    make_engine,
    request,
    stream_forever,
    unused_port,
)
from tests.waiting import eventually


# ---- down, failover, affinity -------------------------------------------------------------
async def test_engine_down_fails_fast_then_recovers() -> None:
    port = unused_port()
    engine = make_engine(f"http://127.0.0.1:{port}/v1")
    await engine.start()
    try:
        started = time.perf_counter()
        with pytest.raises(EngineUnavailable):
            await collect(engine, request())
        assert time.perf_counter() - started < 0.5
        assert engine.state is EngineState.ERROR
        assert "cannot reach" in engine.status_message
        # While it is known down, requests fail without touching the network.
        started = time.perf_counter()
        for _ in range(20):
            with pytest.raises(EngineUnavailable):
                await collect(engine, request())
        assert time.perf_counter() - started < 0.5

        server = await FakeOpenAI(port=port).start()
        try:
            deadline = time.monotonic() + 5
            while engine.state is not EngineState.READY and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert engine.state is EngineState.READY
            assert server.probes >= 1
            assert await collect(engine, request()) == "return a + b"
        finally:
            await server.stop()
    finally:
        await engine.close()


async def test_status_listener_hears_down_and_back() -> None:
    port = unused_port()
    heard: list[EngineState] = []
    engine = make_engine(f"http://127.0.0.1:{port}")
    engine.subscribe(lambda s, m: heard.append(s))
    await engine.start()
    try:
        while EngineState.ERROR not in heard:
            await asyncio.sleep(0.02)
        server = await FakeOpenAI(port=port).start()
        try:
            deadline = time.monotonic() + 5
            while EngineState.READY not in heard and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await server.stop()
    finally:
        await engine.close()
    assert heard[-1] is EngineState.READY


async def test_affinity_failover_and_rejoin() -> None:
    a, b = await FakeOpenAI().start(), await FakeOpenAI().start()
    engine = make_engine(a.url, b.url)
    await engine.start()
    keys = [f"file:///src/module_{i}.py" for i in range(24)]
    try:
        for key in keys:
            for _ in range(2):
                await collect(engine, request(key))
        owners = {key: engine.replicas.owner(key) for key in keys}
        by_a = [k for k in keys if owners[k] is engine.replicas.replicas[0]]
        assert 0 < len(by_a) < len(keys)  # both replicas get documents
        assert len(a.completions) == 2 * len(by_a)
        assert len(b.completions) == 2 * (len(keys) - len(by_a))
        # Each request for a document went to the same replica.
        prompts_a = {r.json()["prompt"] for r in a.completions}
        assert prompts_a  # (same prompt text; ownership checked by counts)

        # A goes away: its documents fail over to B, with no error to the caller.
        await a.stop()
        before_b = len(b.completions)
        for key in by_a:
            assert await collect(engine, request(key)) == "return a + b"
        assert len(b.completions) == before_b + len(by_a)
        assert engine.state is EngineState.READY
        assert "down:" in engine.status_message

        # A comes back on the same port and gets its documents back.
        a2 = await FakeOpenAI(port=a.port).start()
        try:
            deadline = time.monotonic() + 5
            while not engine.replicas.replicas[0].healthy and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for key in by_a:
                await collect(engine, request(key))
            assert len(a2.completions) == len(by_a)
        finally:
            await a2.stop()
    finally:
        await engine.close()
        await b.stop()


async def test_requests_without_key_spread_by_load() -> None:
    a, b = await FakeOpenAI(script=stream_forever).start(), await FakeOpenAI(
        script=stream_forever).start()
    engine = make_engine(a.url, b.url)
    streams = [engine.stream(request(None)) for _ in range(4)]
    try:
        for s in streams:
            await anext(s)
        assert len(a.completions) == 2 and len(b.completions) == 2
    finally:
        for s in streams:
            await s.aclose()
        await engine.close()
        await a.stop()
        await b.stop()


def test_rendezvous_moves_only_the_lost_replicas_keys() -> None:
    three = ReplicaSet.from_urls(["http://h1:8000", "http://h2:8000/v1/", "h3:8000"])
    assert [r.base_url for r in three.replicas] == [
        "http://h1:8000/v1", "http://h2:8000/v1", "http://h3:8000/v1"]
    keys = [f"k{i}" for i in range(300)]
    before = {k: three.owner(k) for k in keys}
    counts = {r.base_url: sum(1 for k in keys if before[k] is r) for r in three.replicas}
    assert all(60 < c < 140 for c in counts.values()), counts
    lost = three.replicas[1]
    three.mark_failed(lost, "gone")
    after = {k: three.owner(k) for k in keys}
    moved = [k for k in keys if after[k] is not before[k]]
    assert moved and all(before[k] is lost for k in moved)
    three.mark_ok(lost)
    assert {k: three.owner(k) for k in keys} == before


def test_url_helpers() -> None:
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("https://x.example/openai/v1/") == "https://x.example/openai/v1"
    assert redact_url("https://user:pw@x.example/v1") == "https://x.example/v1"


# ---- health probes ------------------------------------------------------------------------
def test_a_replica_serving_a_request_is_never_due_for_a_probe() -> None:
    now = [100.0]
    replicas = ReplicaSet.from_urls(["http://h1:8000", "http://h2:8000"], clock=lambda: now[0])
    busy, idle = replicas.replicas
    for replica in (busy, idle):
        replicas.mark_ok(replica)
    now[0] += replicas_module.PROBE_HEALTHY_S + 1
    busy.in_flight = 1
    assert replicas.due_for_probe() == [idle]
    assert replicas.due_for_probe(probing=[idle]) == []
    # Nothing left to probe: the next turn is a healthy beat away, not now.
    assert replicas.seconds_to_next_probe(probing=[idle]) == replicas_module.PROBE_HEALTHY_S
    busy.in_flight = 0
    assert replicas.due_for_probe(probing=[idle]) == [busy]
    assert replicas.seconds_to_next_probe() == 0.0


async def test_probes_never_interrupt_a_running_stream(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Probe a healthy replica every 50 ms: a stream of ~1 s would see many probes.
    monkeypatch.setattr(replicas_module, "PROBE_HEALTHY_S", 0.05)
    server = await FakeOpenAI(script=stream_forever).start()
    engine = make_engine(server.url)
    await engine.start()
    try:
        deadline = time.monotonic() + 5
        while engine.state is not EngineState.READY and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stream = engine.stream(request())
        for _ in range(40):  # 20 ms a chunk
            await anext(stream)
        # Read before closing: the server notices the hang-up only at its next write.
        probes_while_streaming = server.probes_during_completions
        await stream.aclose()
        idle_probes = server.probes
        await eventually(lambda: server.probes > idle_probes, what="a probe after the stream")
        assert server.probes > idle_probes  # probing resumes once the stream is over
    finally:
        await engine.close()
        await server.stop()
    assert probes_while_streaming == 0


async def test_a_probe_waits_as_long_as_a_completion_would() -> None:
    # /models answers after 0.4 s, longer than the connect timeout (0.1 s) but well inside
    # the read timeout: a server busy prefilling is slow, not down.
    server = await FakeOpenAI(models_delay_s=0.4).start()
    engine = make_engine(server.url, connect_ms=100, read_ms=2000)
    heard: list[EngineState] = []
    engine.subscribe(lambda state, message: heard.append(state))
    await engine.start()
    try:
        deadline = time.monotonic() + 5
        while engine.state is EngineState.STARTING and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert engine.state is EngineState.READY
    finally:
        await engine.close()
        await server.stop()
    assert EngineState.ERROR not in heard
    assert heard[0] is EngineState.STARTING and heard[-1] is EngineState.READY
