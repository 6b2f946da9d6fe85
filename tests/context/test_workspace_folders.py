"""WorkspaceFolders: where the workspace is, and the name each document goes by."""

from __future__ import annotations

import pytest

from loomline.context.workspace_folders import WorkspaceFolders, display_name, relative_to


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("file:///work/app/pkg/mod.py", "pkg/mod.py"),
        ("file:///work/app/pkg%20x/m%C3%A9.py", "pkg x/mé.py"),
        ("/work/app/top.py", "top.py"),
        ("file:///home/user/elsewhere/secret.py", "secret.py"),  # outside: no home layout
        ("file:///work/application/x.py", "x.py"),  # a sibling with a longer name is outside
        ("untitled:Untitled-1", "Untitled-1"),
        ("untitled:", "untitled"),
        ("vscode-notebook-cell:/work/app/nb/analysis.ipynb#W1sZmlsZQ%3D%3D", "nb/analysis.ipynb"),
        ("vscode-remote://ssh-remote+box/srv/x.py", "x.py"),
        ("", "untitled"),
    ],
)
def test_relative_names_for_any_scheme(uri: str, name: str) -> None:
    folders = WorkspaceFolders.of("file:///work/app")
    assert folders.relative(uri) == name


def test_no_folder_open_gives_last_part_of_the_path() -> None:
    folders = WorkspaceFolders()
    assert folders.root is None and folders.name is None
    assert folders.relative("untitled:Untitled-1") == "Untitled-1"
    assert folders.relative("file:///a/b/c.py") == "c.py"


def test_the_innermost_folder_holds_a_document() -> None:
    folders = WorkspaceFolders.of("file:///work/mono", "file:///work/mono/services/api")
    assert folders.root == "/work/mono" and folders.name == "mono"
    inner = folders.folder_for("file:///work/mono/services/api/main.py")
    assert inner is not None and inner.uri == "file:///work/mono/services/api"
    assert folders.relative("file:///work/mono/services/api/main.py") == "main.py"
    assert folders.relative("file:///work/mono/lib/util.py") == "lib/util.py"
    assert folders.folder_for("untitled:Untitled-2") is None


def test_folders_come_and_go_by_uri() -> None:
    folders = WorkspaceFolders.of("file:///one")
    folders.add("file:///two")
    folders.add("file:///one")  # again: kept once, in place
    assert [f.uri for f in folders.folders] == ["file:///one", "file:///two"]
    folders.remove("file:///one")
    assert folders.root == "/two"
    folders.add("/three")  # a path becomes a file: URI
    assert folders.folders[-1].uri == "file:///three"


def test_relative_to_never_raises() -> None:
    assert relative_to("/a/b/c.py", "/a") == "b/c.py"
    assert relative_to("/a/b", "/a/b") == "."
    assert relative_to("/ab/c.py", "/a") is None
    assert relative_to("Untitled-1", "/a") is None
    assert relative_to("/a/x.py", "relative/root") is None
    assert display_name("untitled:Untitled-1") == "Untitled-1"


def test_a_folder_is_removed_by_a_uri_naming_the_same_path(tmp_path):
    folders = WorkspaceFolders.of(tmp_path.as_uri(), (tmp_path / "b").as_uri())
    folders.remove(tmp_path.as_uri() + "/")
    assert [f.path for f in folders.folders] == [str(tmp_path / "b")]
