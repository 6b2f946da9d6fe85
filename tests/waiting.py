"""Waiting for an event, never for a clock: tests poll what they wait for, with a bound that
only ends a broken test (a loaded machine is slow, never wrong)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    accept: Callable[[T], bool] = bool,
    *,
    within_s: float = 30.0,
    every_s: float = 0.02,
    what: str = "the condition",
) -> T:
    """``probe()`` (awaited if it gives an awaitable) again until ``accept`` takes its value
    (by default: until it is truthy); that value.

    Raises AssertionError (with the last value) when ``within_s`` passes first."""
    deadline = time.monotonic() + within_s
    while True:
        probed = probe()
        value = await probed if inspect.isawaitable(probed) else probed
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within_s}s; last: {value!r}")
        await asyncio.sleep(every_s)
