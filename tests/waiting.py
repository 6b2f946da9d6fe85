"""Waiting for an event, never for a clock: tests poll what they wait for, with a bound that
only ends a broken test (a loaded machine is slow, never wrong)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool] = ...,
    *,
    within_s: float = ...,
    every_s: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    accept: Callable[[T], bool] = ...,
    *,
    within_s: float = ...,
    every_s: float = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    accept: Callable[[Any], bool] = bool,
    *,
    within_s: float = 30.0,
    every_s: float = 0.02,
    what: str = "the condition",
) -> Any:
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
