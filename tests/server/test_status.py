"""server/status.py: the status notification, throttled messages and work-done progress,
against a recording stand-in for the language server."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from lsprotocol import types

from loomline.context.workspace_folders import adapter_display
from loomline.server.methods import STATUS_NOTIFICATION
from loomline.server.status import Status, StatusReporter


class _Protocol:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.fail = fail

    def notify(self, method: str, params: Any) -> None:
        if self.fail:
            raise ConnectionResetError("closing")
        self.sent.append((method, params))


@dataclass
class _Progress:
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_create: bool = False
    # As pygls': a cancellation future per token, from begin on, until someone removes it.
    tokens: dict[str, Any] = field(default_factory=dict)

    def create(self, token: str) -> None:
        if self.fail_create:
            raise RuntimeError("the client refused the token")
        self.calls.append(("create", token, None))

    def begin(self, token: str, value: types.WorkDoneProgressBegin) -> None:
        self.calls.append(("begin", token, value))
        self.tokens.setdefault(token, object())

    def report(self, token: str, value: types.WorkDoneProgressReport) -> None:
        self.calls.append(("report", token, value))

    def end(self, token: str, value: types.WorkDoneProgressEnd) -> None:
        self.calls.append(("end", token, value))


class _Server:
    """What StatusReporter uses of pygls' LanguageServer, recorded."""

    def __init__(self, progress: bool = True, fail_notify: bool = False) -> None:
        self.protocol = _Protocol(fail_notify)
        self.shown: list[types.ShowMessageParams] = []
        self.work_done_progress = _Progress()
        self.client_capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=progress)
        )

    def window_show_message(self, params: types.ShowMessageParams) -> None:
        self.shown.append(params)


def _reporter(server: _Server, throttle_s: float = 60.0) -> StatusReporter:
    return StatusReporter(server, throttle_s)  # type: ignore[arg-type]


def test_status_is_sent_without_progress_unless_given():
    server = _Server()
    reporter = _reporter(server)
    reporter.send(Status("loading", "starting", "m", "fake"))
    reporter.send(Status("loading", "weights", "m", "fake", progress=40))
    assert server.protocol.sent == [
        (STATUS_NOTIFICATION, {"state": "loading", "message": "starting", "model": "m",
                         "backend": "fake"}),
        (STATUS_NOTIFICATION, {"state": "loading", "message": "weights", "model": "m",
                         "backend": "fake", "progress": 40}),
    ]
    assert reporter.current == Status("loading", "weights", "m", "fake", progress=40)


def test_a_closing_transport_does_not_fail_the_status():
    server = _Server(fail_notify=True)
    reporter = _reporter(server)
    reporter.send(Status("ready", "ok", "m", "fake"))
    assert reporter.current == Status("ready", "ok", "m", "fake")
    assert server.protocol.sent == []


def test_a_problem_is_shown_once_per_window_and_always_logged(caplog: pytest.LogCaptureFixture):
    server = _Server()
    reporter = _reporter(server)
    reporter.problem("engine down")
    reporter.problem("engine down")
    reporter.problem("settings: bad", types.MessageType.Error)
    assert server.shown == [
        types.ShowMessageParams(type=types.MessageType.Warning, message="Loomline: engine down"),
        types.ShowMessageParams(type=types.MessageType.Error, message="Loomline: settings: bad"),
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "loomline.server.status"]
    assert logged == ["engine down", "engine down", "settings: bad"]


def test_without_a_throttle_window_every_problem_is_shown():
    server = _Server()
    reporter = _reporter(server, throttle_s=0.0)
    reporter.problem("engine down")
    reporter.problem("engine down")
    assert [p.message for p in server.shown] == ["Loomline: engine down"] * 2


def test_progress_begins_reports_clamped_percentages_and_ends():
    server = _Server()
    reporter = _reporter(server)
    reporter.progress_begin("model", "Loomline: preparing m")
    reporter.progress_begin("model", "again")  # already in progress: ignored
    reporter.progress_report("model", "half", 0.5)
    reporter.progress_report("model", "over", 1.7)
    reporter.progress_report("model", "under", -0.2)
    reporter.progress_report("model", "unknown", None)
    assert list(server.work_done_progress.tokens) == [server.work_done_progress.calls[0][1]]
    reporter.progress_end("model", "ready")
    assert server.work_done_progress.tokens == {}  # nothing kept for an ended progress
    reporter.progress_end("model", "ready")  # already ended: ignored
    reporter.progress_report("model", "late", 0.9)  # after the end: ignored
    calls = server.work_done_progress.calls
    token = calls[0][1]
    assert token.startswith("loomline-model-")
    assert {t for _, t, _ in calls} == {token}
    assert [(kind, value) for kind, _, value in calls] == [
        ("create", None),
        ("begin", types.WorkDoneProgressBegin(
            title="Loomline: preparing m", percentage=0, cancellable=False)),
        ("report", types.WorkDoneProgressReport(message="half", percentage=50)),
        ("report", types.WorkDoneProgressReport(message="over", percentage=100)),
        ("report", types.WorkDoneProgressReport(message="under", percentage=0)),
        ("report", types.WorkDoneProgressReport(message="unknown", percentage=None)),
        ("end", types.WorkDoneProgressEnd(message="ready")),
    ]


def test_each_progress_gets_its_own_token():
    server = _Server()
    reporter = _reporter(server)
    reporter.progress_begin("model", "a")
    reporter.progress_end("model", "done")
    reporter.progress_begin("model", "b")
    reporter.progress_begin("index", "c")
    created = [t for kind, t, _ in server.work_done_progress.calls if kind == "create"]
    assert len(created) == 3 and len(set(created)) == 3
    assert created[2].startswith("loomline-index-")


def test_no_progress_for_a_client_without_it():
    server = _Server(progress=False)
    reporter = _reporter(server)
    reporter.progress_begin("model", "a")
    reporter.progress_report("model", "half", 0.5)
    reporter.progress_end("model", "done")
    assert server.work_done_progress.calls == []


def test_a_refused_token_leaves_no_progress_behind():
    server = _Server()
    server.work_done_progress.fail_create = True
    reporter = _reporter(server)
    reporter.progress_begin("model", "a")
    reporter.progress_report("model", "half", 0.5)
    assert server.work_done_progress.calls == []
    server.work_done_progress.fail_create = False
    reporter.progress_begin("model", "b")  # may begin again
    assert [kind for kind, _, _ in server.work_done_progress.calls] == ["create", "begin"]


def test_a_change_of_adapter_is_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    reporter = StatusReporter(_Server())  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG, logger="loomline")
    for adapter, where in [(None, "a.py"), ("payments", "pay/a.py"), ("payments", "pay/b.py"),
                           ("web", "web/x.ts"), (None, "untitled"), (None, "b.py")]:
        reporter.adapter_used(adapter, where)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [  # the base model at the start is no change
        "completions in pay/a.py use the LoRA adapter 'payments'",
        "completions in web/x.ts use the LoRA adapter 'web'",
        "completions in untitled use the base model (no LoRA adapter)",
    ]


def test_an_adapter_is_shown_by_its_name_never_a_path() -> None:
    assert adapter_display("payments") == "payments"
    assert adapter_display(None) is None and adapter_display("") is None
    assert adapter_display("/home/me/private/adapters/payments") == "payments"
