"""Privacy through the service and the workspace context: what reaches a prompt."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.exclusion import EXCLUDED
from loomline.completion.instruct import Instruction, Refused, instruct_request, start_instruction
from loomline.completion.instruct_targets import edit_target
from loomline.completion.service import CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.context.privacy import ContentPolicy
from loomline.context.workspace_folders import WorkspaceFolders

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
# Code much like the file being edited, so the snippet search picks it if it may.
SHARED = "def load_settings(path):\n    with open(path) as f:\n        return parse(f.read())\n"


def _stack(root: Path, settings: Settings | None = None) -> tuple[
    CompletionService, DocumentStore, FakeEngine, list[str]
]:
    settings = settings or Settings(backend="fake")
    documents = DocumentStore()
    folders = WorkspaceFolders.of(str(root))
    workspace = WorkspaceContext(settings, documents, folders)
    engine = FakeEngine(FakeSettings(response="x"))
    told: list[str] = []
    service = CompletionService(settings, engine, documents=documents, folders=folders,
                                workspace=workspace, notify=told.append,
                                policy=workspace.policy)
    return service, documents, engine, told


def test_an_ignored_open_document_gives_no_snippet(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("local_settings.py\n")
    service, documents, _, _ = _stack(tmp_path)
    documents.open((tmp_path / "local_settings.py").as_uri(), "python", 1,
                   SHARED + f'TOKEN = "{GITHUB}"\nDB = "hidden-value"\n')
    documents.open((tmp_path / "other.py").as_uri(), "python", 1, SHARED + "OTHER = 1\n")
    current = documents.open((tmp_path / "app.py").as_uri(), "python", 1, SHARED + "\n")
    prompt, _ = service.prepare(current, Position(3, 0))
    sources = [p.piece.source for p in prompt.pieces]
    assert "other.py" in sources  # the snippet search did run
    assert "local_settings.py" not in sources
    assert "hidden-value" not in prompt.text and GITHUB not in prompt.text


def test_secrets_are_redacted_from_prefix_suffix_and_pieces(tmp_path: Path) -> None:
    service, documents, _, _ = _stack(tmp_path)
    documents.open((tmp_path / "config.py").as_uri(), "python", 1,
                   SHARED + f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n')
    text = f'TOKEN = "{GITHUB}"\n' + SHARED + "\n" + f'KEY_ID = "{AWS_ID}"\n'
    current = documents.open((tmp_path / "app.py").as_uri(), "python", 1, text)
    prompt, cursor = service.prepare(current, Position(4, 0))
    assert any(p.piece.source == "config.py" for p in prompt.pieces)
    assert GITHUB not in prompt.text and AWS_ID not in prompt.text
    assert prompt.text.count("<redacted>") >= 3
    assert GITHUB in cursor.before and AWS_ID in cursor.after  # the cursor's text is the document's
    assert GITHUB in current.text


async def test_an_excluded_document_is_refused_and_the_user_told_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.local.py\n")
    service, documents, engine, told = _stack(tmp_path)
    await engine.start()
    document = documents.open((tmp_path / "db.local.py").as_uri(), "python", 1, "x = ")
    for _ in range(3):
        result = await service.complete(document, Position(0, 4), explicit=True)
        assert isinstance(result, Skip) and "exclusion" in result.reason
    assert engine.requests == []
    assert told == ["db.local.py is ignored by .gitignore or context.exclude: it gets no "
                    "completions and nothing of it is sent"]


async def test_untitled_documents_complete_unless_a_glob_names_them(tmp_path: Path) -> None:
    settings = Settings(backend="fake")
    settings.context.exclude = ["Untitled-2"]
    service, documents, engine, told = _stack(tmp_path, settings)
    await engine.start()
    first = documents.open("untitled:Untitled-1", "python", 1, "x = ")
    second = documents.open("untitled:Untitled-2", "python", 1, "x = ")
    assert service.refuse(first, Position(0, 4)) is None
    refused = service.refuse(second, Position(0, 4))
    assert refused is not None and "exclusion" in refused.reason
    assert len(told) == 1


# ---- code from an instruction ---------------------------------------------------------------
def _instruction(uri: str, text: str, start: Position, end: Position) -> Instruction:
    document = DocumentStore().open(uri, "python", 1, text)
    return Instruction("write it", document, edit_target(document, start, end), "m.py")


def test_an_instruction_sees_the_text_around_its_target_redacted() -> None:
    text = f'TOKEN = "{GITHUB}"\nx = 1\nKEY_ID = "{AWS_ID}"\n'
    selected = instruct_request(
        _instruction("file:///w/m.py", text, Position(1, 0), Position(1, 5))
    )
    assert GITHUB not in selected.prefix and AWS_ID not in selected.suffix
    assert "<redacted>" in selected.prefix and "<redacted>" in selected.suffix
    assert selected.selection == "x = 1"  # what the code replaces stays as it is


async def test_an_instruction_for_an_ignored_file_sends_nothing(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("local_settings.py\n")
    engine = FakeEngine(FakeSettings(response="x"))
    await engine.start()
    policy = ContentPolicy(WorkspaceFolders.of(str(tmp_path)))
    ignored = _instruction((tmp_path / "local_settings.py").as_uri(), "\n", Position(0, 0),
                           Position(0, 0))
    assert start_instruction(engine, ignored, Settings(), policy) == Refused(EXCLUDED)
    assert engine.requests == []
