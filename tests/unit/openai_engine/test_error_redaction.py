"""An engine that echoes the API key in its error answers: the key never reaches a message
(the user's pop-up, the status) or the log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from loomline.completion.engines.base import EngineUnavailable
from loomline.completion.engines.wire import EngineRequestError, describe, redact
from tests.unit.openai_engine.fake_server import (
    KEY_ENV,
    SECRET,
    FakeOpenAI,
    FakeRequest,
    collect,
    json_answer,
    make_engine,
    request,
    send_events,
)


def _echo(status: int, how: str):  # type: ignore[no-untyped-def]
    async def answer(srv: FakeOpenAI, req: FakeRequest, w: asyncio.StreamWriter) -> bool:
        header = req.headers.get("authorization", "")
        if how == "sse":  # an error event in the middle of the stream
            await send_events(w, [{"error": {"message": f"quota exceeded for {header}"}}])
            return True
        if how == "text":  # not JSON at all
            body = f"upstream failed; request headers: Authorization: {header}".encode()
            w.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body)
            await w.drain()
            return True
        key = header.removeprefix("Bearer ")
        await json_answer(w, status, {"error": {"message": f"invalid key {key} for model"}})
        return True

    return answer


@pytest.mark.parametrize(
    ("status", "how", "raised"),
    [
        (500, "json", EngineUnavailable),
        (404, "json", EngineUnavailable),
        (400, "json", EngineRequestError),
        (503, "text", EngineUnavailable),
        (200, "sse", EngineUnavailable),
    ],
)
async def test_an_echoed_key_is_redacted(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    status: int, how: str, raised: type[Exception],
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    caplog.set_level(logging.DEBUG)
    engine = make_engine(server.url)
    try:
        await engine.start()
        server.script = _echo(status, how)
        with pytest.raises(raised) as error:
            await collect(engine, request())
        messages = [str(error.value), engine.status_message]
    finally:
        await engine.close()
    assert server.completions[-1].headers["authorization"] == f"Bearer {SECRET}"
    assert "<redacted>" in str(error.value)  # the message is still there, less the key
    assert all(SECRET not in m for m in messages)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("401: Authorization: Bearer abc.def-123 refused",
         "401: Authorization: Bearer <redacted> refused"),
        ('{"headers": {"Authorization": "Token qwerty-12345"}}',
         '{"headers": {"Authorization": "Token <redacted>"}}'),
        ("bad api_key=zzzz1234 given", "bad api_key=<redacted> given"),
        ("HTTP 404: model qwen not found (token usage 0)",
         "HTTP 404: model qwen not found (token usage 0)"),  # "token" alone is a word
        ("connection refused", "connection refused"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_describe_redacts_the_exception() -> None:
    assert describe(ValueError("sent Bearer sk-abc-12345")) == "ValueError: sent Bearer <redacted>"
