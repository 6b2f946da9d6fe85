"""Wire limits as pure functions: bounded event-stream lines, Retry-After, a 429's text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from loomline.completion.engines.base import EngineUnavailable
from loomline.completion.engines.wire import (
    DEFAULT_RETRY_AFTER_S,
    DONE,
    MAX_RETRY_AFTER_S,
    next_event,
    retry_after_s,
    sse_lines,
)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _lines(*parts: bytes, max_line: int = 64) -> list[str]:
    return [line async for line in sse_lines(_chunks(*parts), max_line)]


async def test_lines_split_anywhere_and_crlf() -> None:
    got = await _lines(b"data: {\"a\"", b": 1}\r", b"\n\ndata: [DO", b"NE]\n", b"tail")
    assert got == ['data: {"a": 1}', "", "data: [DONE]", "tail"]


async def test_a_multibyte_character_split_between_chunks_survives() -> None:
    text = "data: é€😀\n".encode()
    assert await _lines(text[:7], text[7:9], text[9:]) == ["data: é€😀"]


async def test_a_line_longer_than_the_bound_stops_the_reading() -> None:
    read: list[bytes] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            read.append(b"x" * 16)
            yield read[-1]

    with pytest.raises(EngineUnavailable, match="longer than 64 bytes"):
        async for _line in sse_lines(endless(), 64):
            pass
    assert len(read) == 5  # stopped as soon as the line passed the bound


async def test_lines_at_the_bound_pass() -> None:
    assert await _lines(b"y" * 64 + b"\n" + b"z" * 64) == ["y" * 64, "z" * 64]


async def test_next_event_skips_comments_and_blank_lines() -> None:
    lines = sse_lines(_chunks(b": keep-alive\n\nevent: x\ndata: {\"k\": 2}\n\ndata: [DONE]\n"))
    assert await next_event(lines) == {"k": 2}
    assert await next_event(lines) is DONE
    assert await next_event(lines) is None


NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Mon, 30 Nov 2026 12:00:30 GMT", 30.0),
        ("Mon, 30 Nov 2026 11:59:00 GMT", 0.0),  # in the past: ask again now
        ("99999", MAX_RETRY_AFTER_S),  # a broken header parks no replica for a day
        ("soon", DEFAULT_RETRY_AFTER_S),
        ("-5", DEFAULT_RETRY_AFTER_S),
        ("", DEFAULT_RETRY_AFTER_S),
        (None, DEFAULT_RETRY_AFTER_S),
    ],
)
def test_retry_after_seconds_or_http_date(header: str | None, seconds: float) -> None:
    assert retry_after_s(header, NOW) == seconds
