"""server/work_progress.py: cancellable work-done progress, on pygls' own ``Progress`` with a
recording stand-in for the protocol underneath."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.progress import Progress

from loomline.server.work_progress import CancellableProgress
from tests.waiting import eventually


class _Protocol:
    def __init__(self, refuse: bool = False) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.notified: list[types.ProgressParams] = []
        self.refuse = refuse

    async def send_request_async(self, method: str, params: Any) -> None:
        self.requests.append((method, params))
        if self.refuse:
            raise RuntimeError("the client refused the token")

    def notify(self, method: str, params: types.ProgressParams) -> None:
        assert method == types.PROGRESS
        self.notified.append(params)


class _Server:
    def __init__(self, progress: bool = True, refuse: bool = False) -> None:
        self.protocol = _Protocol(refuse)
        self.work_done_progress = Progress(self.protocol)  # type: ignore[arg-type]
        self.client_capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=progress)
        )


def _progress(server: _Server) -> tuple[CancellableProgress, list[str]]:
    cancels: list[str] = []
    return CancellableProgress(server, lambda: cancels.append("cancel")), cancels  # type: ignore[arg-type]


def _values(server: _Server) -> list[tuple[Any, Any]]:
    return [(p.token, p.value) for p in server.protocol.notified]


async def test_the_clients_token_is_used_as_given():
    server = _Server()
    progress, _ = _progress(server)
    await progress.begin("Loomline: generating", "client-7")
    progress.report("3 lines")
    progress.end("done")
    assert server.protocol.requests == []  # nothing created: the client made the token
    assert _values(server) == [
        ("client-7", types.WorkDoneProgressBegin(
            title="Loomline: generating", cancellable=True, percentage=0)),
        ("client-7", types.WorkDoneProgressReport(message="3 lines")),
        ("client-7", types.WorkDoneProgressEnd(message="done")),
    ]
    assert progress.token is None
    assert "client-7" not in server.work_done_progress.tokens  # forgotten at the end


async def test_without_a_token_one_is_created():
    server = _Server()
    progress, _ = _progress(server)
    await progress.begin("Loomline: generating", None)
    assert isinstance(progress.token, str) and progress.token.startswith("loomline-generate-")
    assert server.protocol.requests == [
        (types.WINDOW_WORK_DONE_PROGRESS_CREATE,
         types.WorkDoneProgressCreateParams(token=progress.token)),
    ]
    assert [token for token, _ in _values(server)] == [progress.token]


async def test_a_client_without_progress_sees_none():
    server = _Server(progress=False)
    progress, _ = _progress(server)
    await progress.begin("Loomline: generating", None)
    progress.report("3 lines")
    progress.end("done")
    assert progress.token is None
    assert server.protocol.requests == [] and server.protocol.notified == []


async def test_a_refused_token_means_no_progress_and_no_leftover():
    server = _Server(refuse=True)
    progress, _ = _progress(server)
    await progress.begin("Loomline: generating", None)
    progress.report("3 lines")
    assert progress.token is None
    assert len(server.protocol.requests) == 1 and server.protocol.notified == []
    assert server.work_done_progress.tokens == {}


async def test_the_cancel_button_calls_back():
    server = _Server()
    progress, cancels = _progress(server)
    await progress.begin("Loomline: generating", "client-8")
    assert cancels == []
    server.work_done_progress.tokens["client-8"].cancel()  # what pygls does on the cancel
    await eventually(lambda: cancels, what="the cancel callback")
    assert cancels == ["cancel"]


async def test_ending_twice_ends_once():
    server = _Server()
    progress, _ = _progress(server)
    await progress.begin("Loomline: generating", "client-9")
    progress.end("done")
    progress.end("again")
    progress.report("late")
    assert [type(value).__name__ for _, value in _values(server)] == [
        "WorkDoneProgressBegin",
        "WorkDoneProgressEnd",
    ]
