"""Recent edits in prompts: a piece of completion prompts behind ``context.editHistory``, and
the edits of next-edit prompts; excluded files never contribute, secrets are redacted."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.next_edit.history_piece import EDITS_KIND
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.context.workspace_folders import WorkspaceFolders

GITHUB = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"


def _stack(root: Path, history: bool) -> tuple[CompletionService, NextEditService, DocumentStore]:
    settings = Settings.model_validate({"backend": "fake", "context": {"editHistory": history}})
    documents = DocumentStore()
    folders = WorkspaceFolders.of(str(root))
    service = CompletionService(settings, FakeEngine(FakeSettings(response="x")),
                                documents=documents, folders=folders)
    return service, NextEditService(service, documents.history), documents


def _edit(documents: DocumentStore, uri: str, text: str) -> None:
    document = documents.get(uri)
    assert document is not None
    end = document.position_at(len(document.text))
    documents.change(uri, document.version + 1, [(end, end, text)])


def _edited_files(root: Path, documents: DocumentStore) -> str:
    (root / ".gitignore").write_text("local_settings.py\n")
    hidden = (root / "local_settings.py").as_uri()
    shown = (root / "util.py").as_uri()
    documents.open(hidden, "python", 1, "A = 1\n")
    documents.open(shown, "python", 1, "B = 1\n")
    _edit(documents, hidden, f'TOKEN_A = "{GITHUB}"\n')
    _edit(documents, shown, f'TOKEN_B = "{GITHUB}"\nHELPER = 2\n')
    current = (root / "app.py").as_uri()
    documents.open(current, "python", 1, "import util\n\n")
    return current


def test_recent_edits_are_a_completion_piece_only_when_asked(tmp_path: Path) -> None:
    for asked in (True, False):
        service, _, documents = _stack(tmp_path, asked)
        current = _edited_files(tmp_path, documents)
        document = documents.get(current)
        assert document is not None
        prompt, _ = service.prepare(document, Position(1, 0))
        edits = [p for p in prompt.pieces if p.piece.kind == EDITS_KIND]
        if not asked:
            assert edits == [] and "HELPER" not in prompt.text
            continue
        assert len(edits) == 1
        text = edits[0].piece.text
        assert "--- a/util.py" in text and "+HELPER = 2" in text
        assert "local_settings" not in prompt.text and "TOKEN_A" not in prompt.text
        assert GITHUB not in prompt.text


def test_next_edit_prompts_show_allowed_edits_redacted(tmp_path: Path) -> None:
    _, next_edit, documents = _stack(tmp_path, False)
    current = _edited_files(tmp_path, documents)
    document = documents.get(current)
    assert document is not None
    prompt = next_edit.prepare(document, Position(1, 0))
    assert [e.path for e in prompt.edits] == ["util.py"]
    assert "+HELPER = 2" in prompt.text
    assert GITHUB not in prompt.text and "TOKEN_A" not in prompt.text
