"""The model process's own side: it loads a ``ModelRunner`` and runs the parent's jobs.

Started by ``model_process.py`` as ``python -m loomline.completion.engines.model_process_child
SPEC_JSON``. The wire is one JSON object per line: jobs arrive on stdin; text, heartbeats and
the end of each job leave on the original stdout (fd 1 is pointed at stderr, so whatever a
library prints cannot corrupt the protocol). A cancel is one byte on a pipe of its own, read
between any two forward passes (``Job.cancel.is_set``), so it is seen while the model works.
The process ends when the parent does: stdin or the cancel pipe reaches end of file, or a
write finds the pipe closed.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from loomline.completion.engines.base import GenerationRequest, GenerationStats, SamplingParams
from loomline.completion.engines.runner import Job, ModelRunner

log = logging.getLogger(__name__)

# While a job runs the child says so at least this often (the parent's hang check).
HEARTBEAT_S = 1.0
STATS_FIELDS = ("prompt_tokens", "generated_tokens", "cached_prompt_tokens", "finish_reason")


# ---- the wire, shared by both sides -----------------------------------------------------
def encode(message: dict[str, Any]) -> bytes:
    """One message as one line of JSON (bytes, newline-terminated)."""
    return (json.dumps(message, ensure_ascii=False) + "\n").encode()


def request_message(request: GenerationRequest) -> dict[str, Any]:
    """What the child needs of a request (its deadline stays with the parent, which cancels)."""
    p = request.params
    params = {"max_tokens": p.max_tokens, "temperature": p.temperature, "top_p": p.top_p,
              "stop": list(p.stop), "seed": p.seed}  # fmt: skip
    return {"job": {"prompt": request.prompt, "params": params,
                    "affinity_key": request.affinity_key, "adapter": request.adapter}}  # fmt: skip


def request_from(message: dict[str, Any]) -> GenerationRequest:
    job = message["job"]
    p = job["params"]
    params = SamplingParams(
        max_tokens=int(p["max_tokens"]), temperature=float(p["temperature"]),
        top_p=float(p["top_p"]), stop=tuple(p["stop"]), seed=p["seed"],
    )  # fmt: skip
    return GenerationRequest(job["prompt"], params, affinity_key=job["affinity_key"],
                             adapter=job["adapter"])  # fmt: skip


def load_factory(path: str) -> Callable[..., ModelRunner]:
    """``"package.module:function"`` -> that function (it returns a loaded ``ModelRunner``)."""
    module_name, _, name = path.partition(":")
    factory: Callable[..., ModelRunner] = getattr(importlib.import_module(module_name), name)
    return factory


# ---- the child --------------------------------------------------------------------------
class ParentGone(Exception):
    """The parent process ended: nobody reads what this process makes any more."""


class _Outbox:
    """Messages to the parent, on the protocol's file descriptor."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def send(self, message: dict[str, Any]) -> None:
        try:
            self._stream.write(encode(message))
        except (BrokenPipeError, OSError) as error:
            raise ParentGone(str(error)) from error


class _PipeCancel:
    """``Job.cancel`` in the child: set by a byte on the cancel pipe (or its end of file, when
    the parent is gone). Each look is also a heartbeat, at most one per ``HEARTBEAT_S``."""

    def __init__(self, fd: int, outbox: _Outbox) -> None:
        self._fd = fd
        self._outbox = outbox
        self._set = False
        self.parent_gone = False
        self._last_beat = time.monotonic()

    def drain(self) -> None:
        """Forget cancels meant for earlier jobs (the parent sends a job only after the last
        one ended, so any byte waiting now is stale)."""
        while self._ready():
            if not os.read(self._fd, 4096):
                self.parent_gone = True
                return
        self._set = False

    def _ready(self) -> bool:
        return bool(select.select([self._fd], [], [], 0)[0])

    def is_set(self) -> bool:
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_S:
            self._last_beat = now
            self._outbox.send({"beat": True})
        if not self._set and self._ready():
            self._set = True
            if not os.read(self._fd, 4096):
                self.parent_gone = True
        return self._set

    def set(self) -> None:
        self._set = True


def _run_one(runner: ModelRunner, request: GenerationRequest, cancel: _PipeCancel,
             outbox: _Outbox) -> None:  # fmt: skip
    stats = GenerationStats()

    def emit(item: str | BaseException | None) -> None:
        if isinstance(item, str):
            counts = {name: getattr(stats, name) for name in STATS_FIELDS[:3]}
            outbox.send({"text": item, "stats": counts})

    job = Job(request=request, stats=stats, emit=emit, cancel=cancel)
    try:
        runner.run(job)
    except ParentGone:
        raise
    except Exception as error:  # the parent raises it for this request; the model stays
        log.exception("the model failed on a request")
        outbox.send({"error": f"{type(error).__name__}: {error}"})
        return
    outbox.send({"done": {name: getattr(stats, name) for name in STATS_FIELDS}})


def serve(spec: dict[str, Any], jobs: IO[bytes], outbox: _Outbox) -> int:
    """Load the runner ``spec`` names, then run jobs until the parent goes."""
    cancel = _PipeCancel(int(spec["cancel_fd"]), outbox)
    try:
        runner = load_factory(spec["factory"])(**spec["arguments"])
        runner.warm_up()
    except Exception as error:
        log.exception("the model failed to load")
        outbox.send({"failed": f"{type(error).__name__}: {error}"})
        return 1
    outbox.send({"ready": True})
    for line in jobs:  # end of file: the parent is gone
        cancel.drain()
        if cancel.parent_gone:
            break
        _run_one(runner, request_from(json.loads(line)), cancel, outbox)
        if cancel.parent_gone:
            break
    return 0


def main(argv: list[str]) -> int:
    # The protocol keeps the original stdout; fd 1 becomes stderr for whatever prints.
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Ctrl-C in a terminal reaches the whole process group: the parent decides, this follows.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="loomline model process: %(levelname)s %(message)s")  # fmt: skip
    try:
        return serve(json.loads(argv[1]), sys.stdin.buffer, _Outbox(protocol))
    except ParentGone:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
