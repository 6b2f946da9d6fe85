"""One index per workspace folder: each document takes context from its own folder's."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.settings import Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.workspace_folders import WorkspaceFolders


def _folder(root: Path, name: str) -> Path:
    (root / name / "pkg").mkdir(parents=True)
    (root / name / "pkg" / "mod.py").write_text(f"def {name}_fn():\n    return 1\n")
    return root / name


def test_index_for_picks_the_documents_own_folder(tmp_path: Path):
    one, two = _folder(tmp_path, "one"), _folder(tmp_path, "two")
    folders = WorkspaceFolders.of(str(one), str(two))
    workspace = WorkspaceContext(Settings(), folders=folders)
    first = workspace.build_index()
    assert first is not None and first.root == one.resolve()
    second = workspace.index_for((two / "main.py").as_uri())
    assert second is not None and second.root == two.resolve()
    assert [d.name for d in second.definitions_in(str(two / "pkg" / "mod.py"))] == ["two_fn"]
    # Outside every folder (an untitled document): the first folder's index.
    assert workspace.index_for("untitled:Untitled-1") is first


def test_a_folder_removed_while_indexed_keeps_no_index(tmp_path: Path):
    one = _folder(tmp_path, "one")
    folders = WorkspaceFolders.of(str(one))
    workspace = WorkspaceContext(Settings(), folders=folders)
    uri = folders.folders[0].uri

    def gone() -> bool:
        folders.remove(uri)
        return False

    assert workspace.build_folder_index(uri, cancelled=gone) is None
    assert workspace.indexes() == {}


def test_saves_reach_every_index_holding_the_file(tmp_path: Path):
    one, two = _folder(tmp_path, "one"), _folder(tmp_path, "two")
    workspace = WorkspaceContext(Settings(), folders=WorkspaceFolders.of(str(one), str(two)))
    workspace.build_index()
    added = two / "pkg" / "new.py"
    added.write_text("def fresh():\n    pass\n")
    workspace.file_saved_or_changed(str(added))
    assert [d.name for d in workspace.indexes()[two.as_uri()].lookup("fresh")] == ["fresh"]
    workspace.drop_index(two.as_uri())
    assert workspace.index_for(added.as_uri()) is None
