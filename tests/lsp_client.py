"""The one way the end-to-end tests start ``loomline lsp`` under pytest-lsp, and talk to it.

A test module declares how its client initializes the server (a ``Session``, or a fixture that
gives one, for sessions that need other fixtures) and takes its client fixture from
``loomline_client``::

    client = loomline_client(Session(options={"backend": "fake"}, root_uri=ROOT))

The client is a ``LoomlineClient``: pytest-lsp's client that also keeps every
``loomline/status`` notification and the server's capabilities.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import attrs
import pytest
import pytest_lsp
from lsprotocol import types
from pygls.client import JsonRPCClient
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from loomline.server.methods import SHOW_CONTEXT_COMMAND, STATS_COMMAND, STATUS_NOTIFICATION
from tests.conftest import server_command
from tests.waiting import eventually


class LoomlineClient(LanguageClient):
    """pytest-lsp's test client, keeping what Loomline tells it besides LSP's own messages."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)  # as make_test_lsp_client
        register_lsp_features(self)
        self.statuses: list[Any] = []  # every loomline/status notification, in order
        self.server_capabilities: types.ServerCapabilities | None = None

        @self.feature(STATUS_NOTIFICATION)
        def on_status(params: Any) -> None:
            self.statuses.append(params)

    def states(self) -> list[str]:
        """The ``state`` of every status so far (loading, ready, thinking, error, disabled)."""
        return [status_state(s) for s in self.statuses]


def _make_client() -> JsonRPCClient:
    return LoomlineClient()


SERVER = ClientServerConfig(server_command=server_command("lsp"), client_factory=_make_client)


def progress_capabilities() -> types.ClientCapabilities:
    """A client that shows work-done progress, and nothing more."""
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True)
    )


@dataclass(frozen=True)
class Session:
    """How a test client initializes the server.

    ``options``: the ``initializationOptions`` (Loomline's settings).
    ``ready_within_s``: when set, the fixture waits (at most this long) for the engine's
    ``ready`` status before the test starts, and fails on ``error``.
    """

    options: dict[str, Any]
    root_uri: str | None = None
    # (uri, name) of each workspace folder, when the client names them (``root_uri`` too)
    workspace_folders: tuple[tuple[str, str], ...] = ()
    capabilities: types.ClientCapabilities = field(default_factory=progress_capabilities)
    ready_within_s: float | None = None
    client_info: types.ClientInfo | None = None  # who the client says it is


async def start_session(client: LoomlineClient, session: Session) -> types.InitializeResult:
    """``initialize`` + ``initialized`` as ``session`` says; keeps the server's capabilities."""
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=session.capabilities,
            initialization_options=session.options,
            root_uri=session.root_uri,
            client_info=session.client_info,
            workspace_folders=[
                types.WorkspaceFolder(uri=uri, name=name)
                for uri, name in session.workspace_folders
            ] or None,
        )
    )
    client.server_capabilities = result.capabilities
    if session.ready_within_s is not None:
        await wait_ready(client, session.ready_within_s)
    return result


def loomline_client(
    session: Session | str, *, scope: str | None = None, env: Mapping[str, str] | None = None
) -> Any:
    """A pytest fixture: ``loomline lsp`` over stdio with a ``LoomlineClient`` initialized as
    ``session`` says (a ``Session``, or the name of a fixture that returns one), shut down
    after. ``scope`` as pytest's (the event loop follows it); the default is per test.
    ``env``: variables the server gets on top of this process' environment."""

    async def client(lsp_client: LoomlineClient, request: pytest.FixtureRequest) -> Any:
        chosen = request.getfixturevalue(session) if isinstance(session, str) else session
        await start_session(lsp_client, chosen)
        yield
        await lsp_client.shutdown_session()

    config = SERVER if env is None else attrs.evolve(SERVER, server_env={**os.environ, **env})
    options = {} if scope is None else {"scope": scope}
    return pytest_lsp.fixture(config=config, **options)(client)


# ---- waiting for events (tests.waiting), never for a clock --------------------------------
def status_state(status: Any) -> str:
    """A status' ``state`` (the client may hand it over as a dict or as an object)."""
    return status["state"] if isinstance(status, dict) else getattr(status, "state", "")


async def wait_ready(client: LoomlineClient, within_s: float, since: int = 0) -> None:
    """Until a ``ready`` status arrives after ``client.statuses[since]``; fails on ``error``."""

    def ready(states: list[str]) -> bool:
        if "error" in states:
            raise AssertionError(f"the engine failed: {client.statuses[-1]}")
        return "ready" in states

    await eventually(lambda: client.states()[since:], ready, within_s=within_s, every_s=0.05,
                     what="the engine's ready status")


# ---- requests, as an editor sends them ----------------------------------------------------
def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )


async def inline(
    client: LanguageClient,
    uri: str,
    line: int,
    character: int,
    trigger: types.InlineCompletionTriggerKind = types.InlineCompletionTriggerKind.Invoked,
) -> types.InlineCompletionList | None:
    """An inline completion request; the answer as an ``InlineCompletionList`` (or None)."""
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(trigger_kind=trigger),
        )
    )
    if result is None or isinstance(result, types.InlineCompletionList):
        return result
    return types.InlineCompletionList(items=list(result))


async def first_completion_edit(
    client: LanguageClient, uri: str, position: types.Position
) -> types.TextEdit:
    """The text edit of the first item a ``textDocument/completion`` request lists (asserted:
    a list with items, the first with a plain ``TextEdit``)."""
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri),
                               position=position)
    )
    assert isinstance(result, types.CompletionList) and result.items
    edit = result.items[0].text_edit
    assert isinstance(edit, types.TextEdit)
    return edit


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    """``workspace/executeCommand``; the command's result."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def stats(client: LanguageClient) -> dict[str, Any]:
    """The ``loomline.stats`` counters."""
    result: dict[str, Any] = await command(client, STATS_COMMAND)
    return result


async def show_context(client: LanguageClient, uri: str, line: int, character: int) -> Any:
    """What ``loomline.showContext`` says a completion at this place would send."""
    return await command(
        client,
        SHOW_CONTEXT_COMMAND,
        {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
    )
