"""The model in a process of its own (``model_process.py``), with a scripted runner in a real
child process: streaming, cancel, the child's own state, a child that dies, hangs or cannot
load (an error for the request, then a new child), and a child that ends with its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from loomline.completion.engines import model_process
from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.model_process import ModelJobError, ProcessEngine, RunnerSpec
from loomline.completion.model_store import ProgressCallback
from loomline.completion.settings import Settings
from tests.waiting import eventually

FACTORY = "tests.unit.scripted_model_runner:open_runner"


class ScriptedEngine(ProcessEngine):
    name = "scripted"

    def __init__(self, **spec: Any) -> None:
        super().__init__(Settings())
        self.spec = RunnerSpec(FACTORY, **spec)
        self.states: list[tuple[EngineState, str]] = []
        self.subscribe(lambda state, message: self.states.append((state, message)))

    def _runner_spec(self, report: ProgressCallback) -> RunnerSpec:
        return self.spec

    @property
    def child_pid(self) -> int | None:
        return self._runner.pid if self._runner is not None else None


@pytest.fixture
async def engine() -> AsyncIterator[ScriptedEngine]:
    engine = ScriptedEngine()
    await engine.wait_ready(timeout=60)
    yield engine
    await engine.close()


def _request(prompt: str, max_tokens: int = 1000, key: str = "doc") -> GenerationRequest:
    return GenerationRequest(prompt, SamplingParams(max_tokens=max_tokens), affinity_key=key)


async def _text(engine: ScriptedEngine, prompt: str, stats: GenerationStats | None = None,
                key: str = "doc") -> str:  # fmt: skip
    return "".join([c async for c in engine.stream(_request(prompt, key=key), stats)])


async def test_streams_chunks_and_stats_and_keeps_state_in_the_child(
    engine: ScriptedEngine,
) -> None:
    stats = GenerationStats()
    chunks = [c async for c in engine.stream(_request("tokens 5"), stats)]
    assert chunks == ["w0 ", "w1 ", "w2 ", "w3 ", "w4 "]
    assert (stats.generated_tokens, stats.prompt_tokens, stats.finish_reason) == (5, 2, "stop")
    assert stats.first_token_s is not None and stats.stopped_at is not None
    again = GenerationStats()
    assert await _text(engine, "tokens 5 more", again) == "w0 w1 w2 w3 w4 "
    assert again.cached_prompt_tokens == 2  # the child remembers the document's last prompt
    other = GenerationStats()
    await _text(engine, "tokens 5 more", other, key="other")
    assert other.cached_prompt_tokens == 0


async def test_closing_the_stream_cancels_the_child_between_passes(
    engine: ScriptedEngine,
) -> None:
    pid = engine.child_pid
    stats = GenerationStats()
    stream = engine.stream(_request("endless", max_tokens=10**9), stats)
    received = [await anext(stream) for _ in range(3)]
    assert received == ["w0 ", "w1 ", "w2 "]
    await stream.aclose()
    await eventually(lambda: stats.stopped_at, what="the worker to stop", within_s=30)
    assert stats.finish_reason == "cancelled"
    assert stats.generated_tokens < 10**6
    # The same child serves the next request.
    assert await _text(engine, "tokens 2") == "w0 w1 "
    assert engine.child_pid == pid and engine.state is EngineState.READY


async def test_a_request_the_model_fails_on_is_an_error_and_the_child_lives_on(
    engine: ScriptedEngine,
) -> None:
    pid = engine.child_pid
    with pytest.raises(ModelJobError, match="ValueError: scripted failure"):
        await _text(engine, "fail")
    assert await _text(engine, "tokens 1") == "w0 "
    assert engine.child_pid == pid


async def test_a_child_killed_mid_stream_ends_the_request_then_a_new_child_serves(
    engine: ScriptedEngine,
) -> None:
    pid = engine.child_pid
    received: list[str] = []
    with pytest.raises(EngineUnavailable, match="killed by signal 9; starting a new one"):
        async for chunk in engine.stream(_request("die 3")):
            received.append(chunk)
    assert received == ["w0 ", "w1 ", "w2 "]
    assert any(state is EngineState.LOADING and "killed by signal 9" in message
               for state, message in engine.states)  # fmt: skip
    await eventually(lambda: engine.state, lambda s: s is EngineState.READY, within_s=60,
                     what="a new model process")  # fmt: skip
    assert engine.status_message.endswith("ready (new model process)")
    assert await _text(engine, "tokens 2") == "w0 w1 "
    assert engine.child_pid not in (None, pid)


async def test_a_child_killed_while_idle_is_replaced_by_the_next_request(
    engine: ScriptedEngine,
) -> None:
    pid = engine.child_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await eventually(lambda: _gone(pid), within_s=30, what="the child to die")
    assert await _text(engine, "tokens 2") == "w0 w1 "
    assert engine.child_pid not in (None, pid)
    assert engine.state is EngineState.READY


async def test_a_child_that_stops_answering_is_ended_and_replaced() -> None:
    engine = ScriptedEngine(silence_limit_s=1.0, cancel_grace_s=0.5)
    await engine.wait_ready(timeout=60)
    try:
        pid = engine.child_pid
        with pytest.raises(EngineUnavailable, match="stopped answering while generating"):
            await _text(engine, "hang")
        await eventually(lambda: engine.state, lambda s: s is EngineState.READY, within_s=60,
                         what="a new model process")  # fmt: skip
        # Cancelled but still silent: ended after the grace, the next request served.
        stream = engine.stream(_request("hang"))
        assert await anext(stream) == "w0 "
        await stream.aclose()
        await eventually(lambda: engine.state, lambda s: s is EngineState.LOADING,
                         within_s=30, what="the silent child to be ended")  # fmt: skip
        await eventually(lambda: engine.state, lambda s: s is EngineState.READY, within_s=60,
                         what="a new model process")  # fmt: skip
        assert await _text(engine, "tokens 1") == "w0 "
        assert engine.child_pid != pid
    finally:
        await engine.close()


async def test_a_model_that_cannot_load_is_an_error() -> None:
    engine = ScriptedEngine(arguments={"fail_load": "no weights here"})
    with pytest.raises(EngineUnavailable, match="RuntimeError: no weights here"):
        await engine.wait_ready(timeout=60)
    assert engine.state is EngineState.ERROR
    await engine.close()


async def test_a_child_that_dies_at_load_is_retried_with_growing_waits_then_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(model_process, "RESTART_DELAYS_S", (0.0, 0.05, 0.1))
    flag = tmp_path / "die-at-load"
    engine = ScriptedEngine(arguments={"die_at_load_if": str(flag)})
    await engine.wait_ready(timeout=60)
    try:
        flag.touch()  # from now on every new child dies while loading
        with pytest.raises(EngineUnavailable, match="killed by signal 9"):
            await _text(engine, "die 0")
        await eventually(lambda: engine.status_message, lambda m: "gave up" in m, within_s=60,
                         what="the engine to give up")  # fmt: skip
        assert engine.state is EngineState.ERROR
        assert "exited with status 3 while loading; gave up after 3 tries" in (
            engine.status_message
        )
        waits = [m for s, m in engine.states if s is EngineState.ERROR and "trying again" in m]
        assert [m.rsplit(" in ", 1)[1] for m in waits] == ["0.05 s", "0.1 s"]
        with pytest.raises(EngineUnavailable, match="gave up"):
            await _text(engine, "tokens 1")
    finally:
        await engine.close()


async def test_a_child_that_loads_again_after_a_failed_start_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(model_process, "RESTART_DELAYS_S", (0.0, 5.0, 60.0))
    flag = tmp_path / "die-at-load"
    engine = ScriptedEngine(arguments={"die_at_load_if": str(flag)})
    await engine.wait_ready(timeout=60)
    try:
        flag.touch()
        with pytest.raises(EngineUnavailable):
            await _text(engine, "die 1")
        await eventually(lambda: engine.status_message, lambda m: "trying again in 5 s" in m,
                         within_s=60, what="the first failed start")  # fmt: skip
        assert engine.state is EngineState.ERROR
        flag.unlink()  # whatever broke the load is fixed before the next try
        await eventually(lambda: engine.state, lambda s: s is EngineState.READY, within_s=60,
                         what="the next try")  # fmt: skip
        assert await _text(engine, "tokens 1") == "w0 "
    finally:
        await engine.close()


# ---- the child ends with its parent ------------------------------------------------------
PARENT = textwrap.dedent("""
    import sys, threading
    from loomline.completion.engines.base import GenerationRequest, GenerationStats
    from loomline.completion.engines.base import SamplingParams
    from loomline.completion.engines.model_process import ModelProcess, RunnerSpec
    from loomline.completion.engines.runner import Job

    process = ModelProcess(RunnerSpec("tests.unit.scripted_model_runner:open_runner"))
    process.wait_ready()
    first = threading.Event()
    if sys.argv[1] == "streaming":
        request = GenerationRequest("endless", SamplingParams(max_tokens=10**9))
        job = Job(request, GenerationStats(), lambda item: first.set())
        threading.Thread(target=process.run, args=(job,), daemon=True).start()
        first.wait()
    print(process.pid, flush=True)
    threading.Event().wait()
""")


def _gone(pid: int) -> bool:
    """Whether ``pid`` ended (a zombie nobody reaped yet counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("doing", ["idle", "streaming"])
async def test_the_child_ends_when_its_parent_is_killed(doing: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, doing], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _gone(child)
    finally:
        parent.kill()
        parent.wait()
    await eventually(lambda: _gone(child), within_s=30, what="the orphaned child to end")


async def test_closing_the_engine_mid_stream_ends_its_child_without_a_restart() -> None:
    engine = ScriptedEngine()
    await engine.wait_ready(timeout=60)
    pid = engine.child_pid
    assert pid is not None
    stream = engine.stream(_request("endless", max_tokens=10**9))
    assert await anext(stream) == "w0 "
    await engine.close()
    with pytest.raises(EngineUnavailable, match="the engine was closed"):
        async for _chunk in stream:
            pass
    await eventually(lambda: _gone(pid), within_s=30, what="the child to end")
    assert not [m for s, m in engine.states if s is EngineState.LOADING and "starting" in m]
