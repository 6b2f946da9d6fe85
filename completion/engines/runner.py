"""What the embedded engine's worker thread drives, whatever runs the model (torch, ONNX):
a job, the runner interface, and the picked tokens passed on as text."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from loomline.completion.engines.base import GenerationRequest, GenerationStats


class CancelSignal(Protocol):
    """Whether the caller stopped listening: a ``threading.Event``, or in a model process of
    its own the parent's cancel message (``model_process_child.py``)."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...


@dataclass
class Job:
    """One request for the worker thread: ``emit`` hands text chunks (then an error or None
    at the end) to the event loop; ``cancel`` is set when the caller stops listening."""

    request: GenerationRequest
    stats: GenerationStats
    emit: Callable[[str | BaseException | None], None]
    cancel: CancelSignal = field(default_factory=threading.Event)


@dataclass
class PickedTokens:
    """The tokens picked for one job, passed on as text as soon as it is whole (any runtime).

    ``decode``: token ids to text; ``started``: ``time.perf_counter()`` when the job began."""

    job: Job
    decode: Callable[[list[int]], str]
    started: float
    ids: list[int] = field(default_factory=list)
    emitted: str = ""

    def add(self, token: int) -> None:
        """Count ``token`` and emit the text it completes; updates the job's stats."""
        self.ids.append(token)
        stats = self.job.stats
        stats.generated_tokens = len(self.ids)
        text = self.decode(self.ids)
        # Hold back an incomplete multi-byte character until its other tokens arrive.
        if not text.endswith("\ufffd") and len(text) > len(self.emitted):
            if stats.first_token_s is None:
                stats.first_token_s = time.perf_counter() - self.started
            self.job.emit(text[len(self.emitted) :])
            self.emitted = text


class ModelRunner(Protocol):
    """A loaded model that the worker thread drives: one per runtime (torch, ONNX)."""

    @property
    def tokenizer(self) -> Any | None:
        """A transformers tokenizer, or None where the runtime brings its own."""
        ...

    def warm_up(self) -> None: ...

    def run(self, job: Job) -> None:
        """Generate for ``job``: emit text chunks, fill its stats, stop when it is cancelled."""
        ...
