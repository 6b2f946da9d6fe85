"""Two workspace folders of one session, each with its own LoRA adapter (``engine.adapters``),
over stdio: inline completion, the completion popup and ``loomline.generate`` each send the
adapter of the document's folder; the fake engine records what it was asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types

from tests.e2e.test_generate import EditorDocs
from tests.lsp_client import SERVER, LoomlineClient, inline, show_context, wait_ready

TEXT = "def f(x):\n    \n"


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path, Path]:
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    for folder in (alpha, beta):
        folder.mkdir()
        (folder / "m.py").write_text(TEXT)
    return alpha, beta, tmp_path / "prompts.jsonl"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LoomlineClient, workspace: tuple[Path, Path, Path]) -> Any:
    alpha, beta, record = workspace
    lsp_client.docs = EditorDocs(lsp_client)  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return lsp_client.docs.apply(params)  # type: ignore[attr-defined]

    options = {
        "backend": "fake",
        "fake": {"response": "return x", "chunkDelayMs": 0, "recordPrompts": str(record)},
        # One folder by its name (its directory's), the other by its path.
        "engine": {"adapters": {"alpha": "alpha-lora", str(beta): "beta-lora"}},
    }
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(apply_edit=True),
            window=types.WindowClientCapabilities(work_done_progress=True),
        ),
        initialization_options=options,
        workspace_folders=[types.WorkspaceFolder(uri=alpha.as_uri(), name="alpha"),
                           types.WorkspaceFolder(uri=beta.as_uri(), name="beta")],
    ))
    yield
    await lsp_client.shutdown_session()


def _field(status: Any, name: str) -> Any:
    """A status' field (the client may hand it over as a dict or as an object)."""
    return status.get(name) if isinstance(status, dict) else getattr(status, name, None)


def _adapters(record: Path) -> list[str | None]:
    return [json.loads(line)["adapter"] for line in record.read_text().splitlines()]


async def test_each_folder_is_answered_under_its_own_adapter(
    client: LoomlineClient, workspace: tuple[Path, Path, Path]
) -> None:
    alpha, beta, record = workspace
    await wait_ready(client, 30)
    uris = [(alpha / "m.py").as_uri(), (beta / "m.py").as_uri()]
    for uri in uris:
        client.docs.open(uri, TEXT)  # type: ignore[attr-defined]
    expected: list[str | None] = []
    for uri, adapter in zip(uris, ["alpha-lora", "beta-lora"], strict=True):
        result = await inline(client, uri, 1, 4)
        assert result is not None and result.items, "no inline completion"
        items = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=4),
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        ))
        assert items is not None
        written = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="loomline.generate",
            arguments=[{"textDocument": {"uri": uri}, "instruction": "return x",
                        "position": {"line": 1, "character": 4}}],
        ))
        assert written is not None and "error" not in written, written
        expected += [adapter] * 3
    assert _adapters(record) == expected


async def test_the_adapter_a_completion_used_shows_in_the_status_and_show_context(
    client: LoomlineClient, workspace: tuple[Path, Path, Path]
) -> None:
    """Where users look: the status of each completion names its adapter (none for the base
    model), and so does ``loomline.showContext``; never the folder's path that chose it."""
    alpha, beta, _record = workspace
    await wait_ready(client, 30)
    cases = [((alpha / "m.py").as_uri(), "alpha-lora"), ((beta / "m.py").as_uri(), "beta-lora"),
             ("untitled:Untitled-1", None)]
    for uri, adapter in cases:
        client.docs.open(uri, TEXT)  # type: ignore[attr-defined]
        since = len(client.statuses)
        result = await inline(client, uri, 1, 4)
        assert result is not None and result.items, "no inline completion"
        shown = client.statuses[since:]
        assert [_field(s, "state") for s in shown] == ["thinking", "ready"], shown
        assert all(_field(s, "adapter") == adapter for s in shown), shown
        if adapter is not None:
            assert f"LoRA adapter {adapter}" in _field(shown[-1], "message")
        context = await show_context(client, uri, 1, 4)
        assert context is not None and context["adapter"] == adapter
    told = json.dumps([[_field(s, k) for k in ("message", "adapter")] for s in client.statuses])
    assert str(beta) not in told and str(alpha) not in told
