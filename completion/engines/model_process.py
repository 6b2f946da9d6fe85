"""A model that runs in a process of its own, behind the worker thread's ``ModelRunner``.

Why: ONNX Runtime GenAI holds the GIL through each forward pass (1.6 s for a 1,000-token
prefill), so a model in the server's own process freezes its event loop: no LSP message is
read or answered while the model works. Here the worker thread sends the job down a pipe and
blocks reading the answer (which releases the GIL) while the child computes.

The child (``model_process_child.py``) keeps the model and its per-document KV caches; text
chunks stream back as they come. A cancel reaches it between any two forward passes. A child
that dies or stops answering ends the current request with ``EngineUnavailable`` (never a hang)
and ``ProcessEngine`` starts a new one, waiting longer after each start that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.engines.model_process_child import (
    STATS_FIELDS,
    encode,
    request_message,
)
from loomline.completion.engines.runner import Job, ModelRunner
from loomline.completion.model_store import ProgressCallback

log = logging.getLogger(__name__)

CHILD_MODULE = "loomline.completion.engines.model_process_child"
# How often the waiting worker thread looks at its job's cancel (bounds the cancel's delay).
POLL_S = 0.01
# Waits between starts of a new child after the last one was lost, by failed starts so far;
# after the last, the engine stays in error (a model that cannot load does not loop).
RESTART_DELAYS_S = (0.0, 1.0, 4.0, 15.0, 60.0)


@dataclass(frozen=True, slots=True)
class RunnerSpec:
    """What the child loads: ``factory`` ("package.module:function") called with
    ``arguments`` (JSON values) returns a ``ModelRunner``. The limits are in seconds."""

    factory: str
    arguments: dict[str, Any] = field(default_factory=dict)
    # A running child says something every HEARTBEAT_S; this much silence means it hangs.
    silence_limit_s: float = 60.0
    # After a cancel it stops within one forward pass; a child that does not is ended.
    cancel_grace_s: float = 10.0
    load_limit_s: float = 900.0


class ModelProcessLost(Exception):
    """The child died or stopped answering; the message says which, for the user."""


class ModelJobError(RuntimeError):
    """The model failed on one request (the child lives on): the child's message."""


class _Lines:
    """Newline-framed messages read from a pipe with a timeout (waiting releases the GIL)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None when none came within ``timeout`` seconds.
        Raises ``EOFError`` when the child closed its end (it is gone)."""
        while b"\n" not in self._buffer:
            if not select.select([self._fd], [], [], timeout)[0]:
                return None
            data = os.read(self._fd, 1 << 16)
            if not data:
                raise EOFError
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message


class ModelProcess:
    """One child process holding a loaded model. Driven by one thread at a time."""

    def __init__(self, spec: RunnerSpec) -> None:
        self.spec = spec
        cancel_read, self._cancel_write = os.pipe()
        arguments = {"factory": spec.factory, "arguments": spec.arguments,
                     "cancel_fd": cancel_read}  # fmt: skip
        # The child imports what this process can (tests' scripted runners included).
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE, json.dumps(arguments)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(cancel_read,),
                env=env,
            )  # fmt: skip
        finally:
            os.close(cancel_read)
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin = self._process.stdin
        self._lines = _Lines(self._process.stdout.fileno())
        self._closed = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def wait_ready(self) -> None:
        """Wait until the child loaded its model; ``ModelProcessLost`` if it could not."""
        try:
            message = self._lines.next(self.spec.load_limit_s)
        except EOFError:
            raise ModelProcessLost(f"the model process {self.ended()} while loading") from None
        if message is None:
            self.kill()
            raise ModelProcessLost(
                f"the model process did not load within {self.spec.load_limit_s:.0f} s"
            )
        if "failed" in message:
            self.kill()
            raise ModelProcessLost(f"the model failed to load: {message['failed']}")

    def run(self, job: Job) -> None:
        """Run ``job`` in the child: its text goes to ``job.emit``, its stats to ``job.stats``.
        Raises ``ModelProcessLost`` (the child is ended) or ``ModelJobError``."""
        started = time.perf_counter()
        try:
            self._stdin.write(encode(request_message(job.request)))
            self._stdin.flush()
        except OSError:
            raise ModelProcessLost(f"the model process {self.ended()}") from None
        cancel_sent = False
        last_word = time.monotonic()
        while True:
            if not cancel_sent and job.cancel.is_set():
                self._send_cancel()
                cancel_sent, last_word = True, time.monotonic()
            try:
                message = self._lines.next(POLL_S)
            except EOFError:
                raise ModelProcessLost(f"the model process {self.ended()}") from None
            if message is None:
                self._check_silence(time.monotonic() - last_word, cancel_sent)
                continue
            last_word = time.monotonic()
            if "text" in message:
                if job.stats.first_token_s is None:
                    job.stats.first_token_s = time.perf_counter() - started
                for name, value in message["stats"].items():
                    setattr(job.stats, name, value)
                job.emit(str(message["text"]))
            elif "done" in message:
                for name in STATS_FIELDS:
                    setattr(job.stats, name, message["done"][name])
                return
            elif "error" in message:
                raise ModelJobError(str(message["error"]))

    def _send_cancel(self) -> None:
        with contextlib.suppress(OSError):  # the child is gone: the read that follows says so
            os.write(self._cancel_write, b"c")

    def _check_silence(self, silent_s: float, cancel_sent: bool) -> None:
        limit = self.spec.cancel_grace_s if cancel_sent else self.spec.silence_limit_s
        if silent_s > limit:
            self.kill()
            what = "after a cancel" if cancel_sent else "while generating"
            raise ModelProcessLost(
                f"the model process stopped answering {what} (nothing for {silent_s:.0f} s)"
            )

    def ended(self) -> str:
        """How the child ended, in words ("was killed by signal 9", "exited with status 1")."""
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "closed its pipe"
        return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"

    def kill(self) -> None:
        """End the child now (any thread) and close this side's pipes."""
        if self.alive():
            self._process.kill()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("model process %s did not end after SIGKILL", self.pid)
        if self._closed:
            return
        self._closed = True  # a descriptor closed twice may close another file's
        with contextlib.suppress(OSError):
            self._stdin.close()
        os.close(self._cancel_write)
        if self._process.stdout is not None:
            self._process.stdout.close()


class ProcessRunner:
    """``ModelRunner`` for the worker thread, with the model in a child process.

    ``on_lost(message)`` hears (on the worker thread) that the child was lost; the request
    that was running gets ``EngineUnavailable`` with the same message."""

    tokenizer = None  # the runtimes that run in a child count prompts with tokenizer.json

    def __init__(self, spec: RunnerSpec, on_lost: Callable[[str], None]) -> None:
        self._spec = spec
        self._on_lost = on_lost
        self._process: ModelProcess | None = None
        self._closed = False
        self.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start a child unless one is alive; ``ModelProcessLost`` if it cannot load."""
        if self._closed:
            raise ModelProcessLost("the engine was closed")
        if self._process is not None and self._process.alive():
            return
        if self._process is not None:
            self._process.kill()
        process = ModelProcess(self._spec)
        try:
            process.wait_ready()
        except BaseException:
            process.kill()
            raise
        self._process = process
        log.info("model process %s ready", process.pid)

    def warm_up(self) -> None:
        """Done by the child before it says it is ready."""

    def run(self, job: Job) -> None:
        if self._process is None:
            raise EngineUnavailable("the model process is starting")
        try:
            if not self._process.alive():  # it died while idle: a new one serves this request
                log.warning("the model process %s; starting a new one", self._process.ended())
                self.start()
            process = self._process
            if process is None:  # closed meanwhile (``close`` runs on another thread)
                raise ModelProcessLost("the engine was closed")
            process.run(job)
        except ModelProcessLost as error:
            if self._process is not None:
                self._process.kill()
            if self._closed:  # ended on purpose: nothing was lost
                raise EngineUnavailable("the engine was closed") from None
            self._process = None
            message = f"{error}; starting a new one"
            log.error("%s", message)
            self._on_lost(message)
            raise EngineUnavailable(message) from None

    def close(self) -> None:
        """End the child for good (any thread; a job in flight then ends with
        ``EngineUnavailable``)."""
        self._closed = True
        if self._process is not None:
            self._process.kill()
            self._process = None


class ProcessEngine(EmbeddedEngine):
    """The embedded engine with its model in a child process (``_runner_spec`` says which);
    a lost child is replaced, after a longer wait each time a start fails."""

    _runner: ProcessRunner | None = None
    _revival: asyncio.Task[None] | None = None
    _failed_starts = 0  # starts of a new child that failed since the last one that loaded

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()  # the worker thread reports to it
        await super().start()

    def _runner_spec(self, report: ProgressCallback) -> RunnerSpec:
        """Prepare the model files (in the worker thread) and say what the child loads."""
        raise NotImplementedError

    def _open_model(self, report: ProgressCallback) -> ModelRunner:
        spec = self._runner_spec(report)

        def lost(message: str) -> None:
            self._loop.call_soon_threadsafe(self._child_lost, message)

        self._runner = ProcessRunner(spec, lost)
        return self._runner

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        self._loop = asyncio.get_running_loop()  # where a lost child is reported
        async with contextlib.aclosing(super().stream(request, stats)) as chunks:
            async for chunk in chunks:
                yield chunk

    def _child_lost(self, message: str) -> None:
        if self._revival is None or self._revival.done():
            self._set_state(EngineState.LOADING, message)
            self._revival = asyncio.create_task(self._revive())

    async def _revive(self) -> None:
        """Start a new child (in the worker thread, after the job that lost the last one)."""
        loop = asyncio.get_running_loop()
        runner = self._runner
        assert runner is not None
        while True:
            await asyncio.sleep(RESTART_DELAYS_S[self._failed_starts])
            try:
                await loop.run_in_executor(self._executor, runner.start)
            except ModelProcessLost as error:
                self._failed_starts += 1
                if self._failed_starts >= len(RESTART_DELAYS_S):
                    self._set_state(EngineState.ERROR, f"{error}; gave up after "
                                    f"{self._failed_starts} tries (change a model setting or "
                                    "restart the server)")  # fmt: skip
                    return
                wait = RESTART_DELAYS_S[self._failed_starts]
                self._set_state(EngineState.ERROR, f"{error}; trying again in {wait:g} s")
                continue
            self._failed_starts = 0
            self._set_state(EngineState.READY, f"{self._settings.model.id} ready "
                                               "(new model process)")  # fmt: skip
            return

    async def close(self) -> None:
        if self._revival is not None:
            self._revival.cancel()
        if self._runner is not None:
            self._runner.close()
        await super().close()
