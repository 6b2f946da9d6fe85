"""Every way a completion request ends without a completion leaves one log line saying why
(``no completion for URI: REASON``, at DEBUG): the reasons of each path, collected through the
server's own request path (``LoomlineServer.completion_for``) with the scripted engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion
from loomline.server import app
from loomline.server.app import LoomlineServer
from tests.waiting import eventually

TEXT = "def f(x):\n    \n"
AT = types.Position(line=1, character=4)


def _settings(**fake: Any) -> dict[str, Any]:
    return {"backend": "fake", "logLevel": "debug",
            "fake": {"response": "return x", "chunkDelayMs": 0, **fake},
            "completion": {"adaptiveDebounce": False}}


async def _server(tmp_path: Path, options: dict[str, Any]) -> LoomlineServer:
    ls = LoomlineServer()
    ls.folders.add(tmp_path.as_uri())
    ls.apply_settings(options)
    await ls.start_engine()
    return ls


@pytest.fixture
async def ls(tmp_path: Path) -> AsyncIterator[LoomlineServer]:
    server = await _server(tmp_path, _settings())
    await eventually(lambda: server.engine is not None and server.engine.state.value == "ready",
                     what="the fake engine's start")
    yield server
    assert server.engine is not None
    await server.engine.close()


def _reasons(caplog: pytest.LogCaptureFixture, uri: str) -> list[str]:
    prefix = f"no completion for {uri}: "
    return [r.getMessage()[len(prefix):] for r in caplog.records
            if r.getMessage().startswith(prefix)]


def _only_reason(caplog: pytest.LogCaptureFixture, uri: str, expected: str) -> None:
    reasons = _reasons(caplog, uri)
    assert len(reasons) == 1 and expected in reasons[0], reasons
    (record,) = [r for r in caplog.records if r.getMessage().startswith("no completion for")
                 and uri in r.getMessage()]
    assert record.levelno == logging.DEBUG


def _open(ls: LoomlineServer, tmp_path: Path, name: str, text: str = TEXT) -> str:
    uri = (tmp_path / name).as_uri()
    ls.documents.open(uri, "python", 1, text)
    return uri


@pytest.fixture(autouse=True)
def _debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="loomline")


async def test_refusals_each_log_their_reason(ls: LoomlineServer, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    ls.apply_settings({"context": {"exclude": ["**/private/**"]},
                       "completion": {"maxFileBytes": 1000, "disabledLanguages": ["go"],
                                      "completeInComments": False}})
    cases = [
        ("private/a.py", TEXT, AT, "exclusion pattern"),
        ("big.py", "x = 1\n" * 400, AT, "larger than completion.maxFileBytes"),
        ("comment.py", "# a comment ", types.Position(line=0, character=12), "comment"),
    ]
    for name, text, position, expected in cases:
        uri = _open(ls, tmp_path, name, text)
        result = await ls.completion_for(uri, position, explicit=True)
        assert not isinstance(result, Completion), (name, result)
        _only_reason(caplog, uri, expected)
    go = (tmp_path / "m.go").as_uri()
    ls.documents.open(go, "go", 1, "package m\n")
    await ls.completion_for(go, types.Position(line=1, character=0), explicit=True)
    _only_reason(caplog, go, "disabled for go")
    unknown = (tmp_path / "never-opened.py").as_uri()
    await ls.completion_for(unknown, AT, explicit=True)
    _only_reason(caplog, unknown, "not open")


async def test_an_out_of_sync_document_logs_why(ls: LoomlineServer, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    uri = _open(ls, tmp_path, "lost.py")
    ls.documents.lose(uri, "its params were invalid")
    await ls.completion_for(uri, AT, explicit=True)
    _only_reason(caplog, uri, "out of sync")


async def test_nothing_left_after_the_clean_up_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ls = await _server(tmp_path, _settings(response="   "))
    await eventually(lambda: ls.engine is not None and ls.engine.state.value == "ready")
    uri = _open(ls, tmp_path, "a.py")
    assert not isinstance(await ls.completion_for(uri, AT, explicit=True), Completion)
    _only_reason(caplog, uri, "nothing useful")


async def test_the_deadline_logs_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    options = _settings(response="return x", chunkDelayMs=60_000)
    options["completion"].update({"deadlineMs": 100, "explicitDeadlineMs": 100})
    ls = await _server(tmp_path, options)
    await eventually(lambda: ls.engine is not None and ls.engine.state.value == "ready")
    uri = _open(ls, tmp_path, "a.py")
    assert not isinstance(await ls.completion_for(uri, AT, explicit=True), Completion)
    _only_reason(caplog, uri, "deadline")


async def test_an_engine_that_cannot_serve_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ls = await _server(tmp_path, _settings(loadDelayMs=600_000))  # still loading
    uri = _open(ls, tmp_path, "a.py")
    await ls.completion_for(uri, AT, explicit=True)
    _only_reason(caplog, uri, "the engine cannot serve now")
    assert isinstance(ls.engine, FakeEngine)
    ls.engine._set_ready()
    ls.engine.down = True  # went down after it was ready: the stream raises
    await ls.completion_for(uri, AT, explicit=True)
    assert len(_reasons(caplog, uri)) == 2 and "down" in _reasons(caplog, uri)[1]
    await ls.engine.close()


async def test_a_server_not_initialized_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ls = LoomlineServer()
    uri = _open(ls, tmp_path, "a.py")
    assert not isinstance(await ls.completion_for(uri, AT), Completion)
    _only_reason(caplog, uri, "not initialized")


async def test_superseded_and_cancelled_requests_log_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ls = await _server(tmp_path, _settings(response="return x + 1", chunkDelayMs=200))
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    await eventually(lambda: engine.state.value == "ready")
    uri = _open(ls, tmp_path, "a.py")
    first = asyncio.create_task(ls.completion_for(uri, AT, explicit=True))
    await eventually(lambda: len(engine.requests), what="the first request's generation")
    second = asyncio.create_task(ls.completion_for(uri, AT, explicit=True))
    assert await first is None
    _only_reason(caplog, uri, "a newer request for the document took its place")
    assert ls.service is not None
    service = ls.service
    await eventually(lambda: service.metrics.requests >= 2, what="the second request's start")
    second.cancel()  # as $/cancelRequest does
    with pytest.raises(asyncio.CancelledError):
        await second
    assert _reasons(caplog, uri) == ["a newer request for the document took its place",
                                     "the request was cancelled"]
    await engine.close()


async def test_a_popup_answer_for_a_document_closed_meanwhile_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ls = await _server(tmp_path, _settings(response="return x + 1", chunkDelayMs=100))
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    await eventually(lambda: engine.state.value == "ready")
    uri = _open(ls, tmp_path, "a.py")
    params = types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri),
                                    position=AT)
    complete = ls.completion_for

    async def closed_as_it_answers(*args: Any, **kwargs: Any) -> Any:
        result = await complete(*args, **kwargs)
        ls.documents.close(uri)  # the editor closed the tab as the answer came
        return result

    ls.completion_for = closed_as_it_answers  # type: ignore[method-assign]
    listed = await app.completion(ls, params)
    assert listed.items == []
    _only_reason(caplog, uri, "closed")
    await engine.close()
