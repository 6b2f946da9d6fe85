"""Generations that outlive the request that started them, while the user types what they say.

A typing user often types exactly what the model is about to suggest. Instead of throwing the
running generation away on every keystroke (and paying for a new one), the service keeps it
while the document still reads ``before + typed + after`` with ``typed`` a beginning of what
the model said (or could still say); a later request at the new cursor joins it and gets the
rest. A change that contradicts it stops it at once, before the editor even asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loomline.completion.cursor import Cursor
from loomline.completion.engines.base import GenerationStats


def typed_since(before: str, after: str, now_before: str, now_after: str) -> str | None:
    """What was typed at the cursor since (before, after), or None if the text changed otherwise."""
    if now_after != after or not now_before.startswith(before):
        return None
    return now_before[len(before) :]


def agrees(text: str, typed: str, finished: bool) -> bool:
    """Whether ``typed`` is a beginning of ``text`` (or, still streaming, could become one)."""
    return text.startswith(typed) or (not finished and typed.startswith(text))


@dataclass(eq=False)
class Generation:
    """One engine stream for one document, shared by the requests that join it."""

    uri: str
    cursor: Cursor  # where it was asked for, with the document's text then
    adapter: str | None = None  # the LoRA adapter it runs under (None: the base model)
    stats: GenerationStats = field(default_factory=GenerationStats)
    text: str = ""  # post-processed text so far (the final text once finished)
    finished: bool = False
    error: str | None = None
    served: bool = False  # its answer reached a request (perhaps an empty one)
    speculative: bool = True  # started for a typing pause, not asked for explicitly
    finished_before_join: bool = False
    waiters: int = 0
    started_at: float = field(default_factory=time.perf_counter)
    task: asyncio.Task[None] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    _expiry: asyncio.TimerHandle | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def before(self) -> str:
        """The document's text before the cursor when it started."""
        return self.cursor.before

    @property
    def after(self) -> str:
        """The document's text after the cursor when it started."""
        return self.cursor.after

    def typed_in(self, text: str) -> str | None:
        """Typed text if ``text`` (the whole document) still agrees with this generation."""
        end = len(text) - len(self.after)
        # (No slicing of the whole text: this runs on every keystroke.)
        if end < len(self.before) or not text.startswith(self.before):
            return None
        if not text.endswith(self.after):
            return None
        typed = text[len(self.before) : end]
        return typed if agrees(self.text, typed, self.finished) else None

    def publish(self, text: str, *, finished: bool = False) -> None:
        self.text = text
        self.finished = self.finished or finished
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def fail(self, reason: str) -> None:
        self.error = reason
        self.publish(self.text, finished=True)

    async def next_update(self) -> None:
        await self._changed.wait()

    def expire_later(self, seconds: float, expire: Callable[[], None]) -> None:
        """Call ``expire`` in ``seconds`` unless a request joins first (restarts the clock)."""
        self.keep()
        self._expiry = asyncio.get_running_loop().call_later(seconds, expire)

    def keep(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def stop(self) -> None:
        self.keep()
        if self.task is not None and not self.task.done():
            self.task.cancel()
