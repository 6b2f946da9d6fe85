"""A scripted ``ModelRunner`` for the model process's tests: it runs in the child process, and
its prompt says what to do (``model_process_child`` loads it by name).

Prompts: ``"tokens N"`` (N words, then stop), ``"endless"`` (words until cancelled or
``max_tokens``), ``"die N"`` (N words, then the process kills itself), ``"hang"`` (one word,
then no answer, cancel or not), ``"fail"`` (an exception). Each word is one "forward pass"
(a short sleep: simulated work, not synchronisation). ``cached_prompt_tokens`` counts the
words shared with the same document's previous prompt: the state stays in the child.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from loomline.completion.engines.runner import Job, PickedTokens

PASS_S = 0.002


class ScriptedRunner:
    tokenizer = None

    def __init__(self) -> None:
        self._previous: dict[str | None, list[str]] = {}

    def warm_up(self) -> None:
        pass

    def run(self, job: Job) -> None:
        words = job.request.prompt.split()
        stats = job.stats
        key = job.request.affinity_key
        previous = self._previous.get(key, [])
        stats.prompt_tokens = len(words)
        stats.cached_prompt_tokens = sum(
            1 for _ in zip(words, previous, strict=False) if _[0] == _[1]
        )
        self._previous[key] = words
        command, count = words[0], int(words[1]) if len(words) > 1 else 0
        if command == "fail":
            raise ValueError("scripted failure")
        picked = PickedTokens(job, lambda ids: "".join(f"w{i} " for i in ids), time.perf_counter())
        limit = job.request.params.max_tokens
        while True:
            if job.cancel.is_set():
                stats.finish_reason = "cancelled"
                return
            n = len(picked.ids)
            if command == "die" and n == count:
                os.kill(os.getpid(), signal.SIGKILL)
            if command == "hang" and n == 1:
                threading.Event().wait()  # never set: a child that stopped answering
            if (command == "tokens" and n == count) or n >= limit:
                stats.finish_reason = "stop" if n < limit else "length"
                return
            time.sleep(PASS_S)
            picked.add(n)


def open_runner(fail_load: str | None = None, die_at_load_if: str | None = None) -> ScriptedRunner:
    """``fail_load``: raise this at load; ``die_at_load_if``: die at load while this file exists."""
    if die_at_load_if is not None and Path(die_at_load_if).exists():
        os._exit(3)
    if fail_load is not None:
        raise RuntimeError(fail_load)
    return ScriptedRunner()
