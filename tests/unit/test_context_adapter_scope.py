"""Context never crosses from files one LoRA adapter serves into a prompt for another's: not
the definitions of the folder's index, not similar snippets of open documents, not the edit
history (each adapter is one team's or repository's own). Without adapters, or with the same
one, context flows as before."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import CompletionService
from loomline.completion.settings import (
    ContextSettings,
    EngineSettings,
    FakeSettings,
    Settings,
)
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.context.workspace_folders import WorkspaceFolders

SHARED = (
    "def charge_card(account, amount_in_cents, currency):\n"
    "    ledger = open_ledger(account)\n"
    "    ledger.debit(amount_in_cents, currency)\n"
    "    return ledger.receipt()\n"
)
APP = (
    "from billing.cards import charge_card\n\n"
    "def pay(account):\n    ledger = open_ledger(account)\n    "
)


def _repo(tmp_path: Path) -> Path:
    """One workspace folder; its subfolder ``billing`` is another team's (another adapter)."""
    (tmp_path / "repo" / "billing").mkdir(parents=True)
    (tmp_path / "repo" / "billing" / "__init__.py").write_text("")
    (tmp_path / "repo" / "billing" / "cards.py").write_text(SHARED)
    (tmp_path / "repo" / "app.py").write_text(APP)
    return tmp_path / "repo"


def _setup(
    repo: Path, adapters: dict[str, str]
) -> tuple[WorkspaceContext, DocumentStore, CompletionService]:
    settings = Settings(
        backend="fake",
        fake=FakeSettings(response="x"),
        engine=EngineSettings(adapters=adapters),
        context=ContextSettings(edit_history=True),
    )
    documents = DocumentStore()
    folders = WorkspaceFolders.of(str(repo))
    workspace = WorkspaceContext(settings, documents, folders)
    workspace.build_index()
    service = CompletionService(settings, FakeEngine(settings.fake), documents=documents,
                                folders=folders, workspace=workspace)
    return workspace, documents, service


def _sources(repo: Path, adapters: dict[str, str], uri: str | None = None) -> list[str]:
    _workspace, documents, service = _setup(repo, adapters)
    other = (repo / "billing" / "cards.py").as_uri()
    documents.open(other, "python", 1, SHARED)  # open beside: a similar-snippet source
    documents.change(other, 2, [(Position(3, 4), Position(3, 10), "return ")])  # edit history
    uri = uri or (repo / "app.py").as_uri()
    document = documents.open(uri, "python", 1, APP)
    prompt, _cursor = service.prepare(document, Position(4, 4))
    return [p.piece.source for p in prompt.pieces]


def test_definitions_snippets_and_edits_of_another_adapters_files_stay_out(tmp_path: Path):
    repo = _repo(tmp_path)
    assert "billing/cards.py" in _sources(repo, {})  # the case is one that gets them
    assert "billing/cards.py" in _sources(repo, {"*": "team-a"})  # one adapter for both
    apart = {str(repo): "team-a", str(repo / "billing"): "team-b"}
    sources = _sources(repo, apart)
    assert not [s for s in sources if "cards.py" in s], sources


def test_the_base_model_and_an_adapter_are_apart_too(tmp_path: Path):
    repo = _repo(tmp_path)
    # Only the subfolder has an adapter: the rest of the folder runs the base model.
    sources = _sources(repo, {str(repo / "billing"): "team-b"})
    assert not [s for s in sources if "cards.py" in s], sources


def test_an_untitled_document_gets_nothing_of_a_folder_with_another_adapter(tmp_path: Path):
    repo = _repo(tmp_path)
    assert "billing/cards.py" in _sources(repo, {}, "untitled:Untitled-1")
    sources = _sources(repo, {"repo": "team-a"}, "untitled:Untitled-1")
    assert not [s for s in sources if "cards.py" in s], sources


def test_each_piece_kind_is_kept_out(tmp_path: Path):
    """The three kinds each reach the prompt alone when allowed, and none when apart."""
    repo = _repo(tmp_path)
    workspace, documents, service = _setup(repo, {})
    other = (repo / "billing" / "cards.py").as_uri()
    documents.open(other, "python", 1, SHARED)
    documents.change(other, 2, [(Position(3, 4), Position(3, 10), "return ")])
    document = documents.open((repo / "app.py").as_uri(), "python", 1, APP)
    kinds = {p.kind for p in workspace.collect(document, len(APP)) if "cards.py" in p.source}
    assert kinds == {"definition", "snippet"}
    assert service._edit_history_pieces(document)
    workspace, documents, service = _setup(repo, {str(repo / "billing"): "team-b"})
    documents.open(other, "python", 1, SHARED)
    documents.change(other, 2, [(Position(3, 4), Position(3, 10), "return ")])
    document = documents.open((repo / "app.py").as_uri(), "python", 1, APP)
    assert not [p for p in workspace.collect(document, len(APP)) if "cards.py" in p.source]
    assert service._edit_history_pieces(document) == []


def test_next_edit_prompts_leave_out_another_adapters_edits(tmp_path: Path):
    repo = _repo(tmp_path)
    other = (repo / "billing" / "cards.py").as_uri()
    for adapters, shown in (({}, True), ({str(repo / "billing"): "team-b"}, False)):
        _workspace, documents, service = _setup(repo, adapters)
        documents.open(other, "python", 1, SHARED)
        documents.change(other, 2, [(Position(3, 4), Position(3, 10), "return ")])
        document = documents.open((repo / "app.py").as_uri(), "python", 1, APP)
        prompt = NextEditService(service, documents.history).prepare(document, Position(4, 4))
        assert any(e.path == "billing/cards.py" for e in prompt.edits) is shown
