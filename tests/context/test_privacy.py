"""ContentPolicy: .gitignore files and exclusion globs decide what may go into a prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.context.privacy import ContentPolicy, GitIgnoreMatcher, matches_glob
from loomline.context.workspace_folders import WorkspaceFolders

DEFAULT_GLOBS = ["**/.env", "**/.env.*", "**/*.pem", "**/secrets/**", "**/node_modules/**"]


def test_gitignore_matcher(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.gen.py\n/out\ndocs/**/draft*\n")
    matcher = GitIgnoreMatcher(tmp_path, ["**/fixtures/**"])
    matcher.load_directory("")
    assert matcher.ignored("a/b.gen.py")
    assert matcher.ignored("out", is_dir=True)
    assert not matcher.ignored("src/out", is_dir=True)
    assert matcher.ignored("docs/x/draft1.py")
    assert matcher.ignored("tests/fixtures/a.py")
    assert not matcher.ignored("src/main.py")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / ".gitignore").write_text("local_settings.py\nbuild/\n*.log\n!keep.log\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / ".gitignore").write_text("generated_*.py\n")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("scratch.py\n")
    return tmp_path


@pytest.mark.parametrize(
    ("relative", "allowed"),
    [
        ("app.py", True),
        ("local_settings.py", False),  # .gitignore at the root
        ("pkg/local_settings.py", False),  # a name without a slash: anywhere below
        ("build/out.py", False),  # a directory pattern covers what is inside
        ("debug.log", False),
        ("keep.log", True),  # negation
        ("pkg/generated_api.py", False),  # a nested .gitignore
        ("generated_api.py", True),  # ... covers only its own folder
        ("pkg/mod.py", True),
        (".env", False),  # the globs
        ("config/.env.local", False),
        ("certs/server.pem", False),
        ("secrets/keys.py", False),
        ("src/secrets/deep/keys.py", False),
        ("secrets.py", True),  # a file named like the folder is not inside it
        ("scratch.py", False),  # .git/info/exclude
    ],
)
def test_a_file_in_a_folder(workspace: Path, relative: str, allowed: bool) -> None:
    policy = ContentPolicy(WorkspaceFolders.of(str(workspace)), DEFAULT_GLOBS)
    assert policy.allows((workspace / relative).as_uri()) is allowed
    assert policy.allows(str(workspace / relative)) is allowed  # a path asks the same


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("untitled:Untitled-1", True),  # no file, no .gitignore
        ("untitled:.env", False),  # but the globs see its name
        ("file:///elsewhere/x/.env", False),  # outside every folder: globs on the whole path
        ("file:///elsewhere/secrets/a.py", False),
        ("file:///elsewhere/local_settings.py", True),  # no .gitignore of ours covers it
        ("vscode-notebook-cell:/elsewhere/secrets/nb.ipynb#W0sZmlsZQ%3D%3D", False),
        ("vscode-notebook-cell:/elsewhere/nb.ipynb#W0sZmlsZQ%3D%3D", True),
    ],
)
def test_documents_outside_the_folders(workspace: Path, uri: str, allowed: bool) -> None:
    policy = ContentPolicy(WorkspaceFolders.of(str(workspace)), DEFAULT_GLOBS)
    assert policy.allows(uri) is allowed


def test_a_notebook_cell_asks_for_its_notebook(workspace: Path) -> None:
    (workspace / ".gitignore").write_text("private.ipynb\n")
    policy = ContentPolicy(WorkspaceFolders.of(str(workspace)))
    cell = f"vscode-notebook-cell:{workspace}/private.ipynb#W0sZmlsZQ%3D%3D"
    assert not policy.allows(cell)
    assert policy.allows(f"vscode-notebook-cell:{workspace}/open.ipynb#W0sZmlsZQ%3D%3D")


def test_each_folder_has_its_own_gitignore(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / ".gitignore").write_text("conf.py\n")
    policy = ContentPolicy(WorkspaceFolders.of(str(tmp_path / "a"), str(tmp_path / "b")))
    assert not policy.allows(str(tmp_path / "a" / "conf.py"))
    assert policy.allows(str(tmp_path / "b" / "conf.py"))


def test_folders_and_globs_are_read_at_each_question(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("conf.py\n")
    folders = WorkspaceFolders()
    globs: list[str] = []
    policy = ContentPolicy(folders, lambda: globs)
    assert policy.allows(str(tmp_path / "conf.py"))  # no folder yet: no .gitignore
    folders.add(str(tmp_path))
    assert not policy.allows(str(tmp_path / "conf.py"))
    assert policy.allows(str(tmp_path / "app.py"))
    globs.append("app.*")
    assert not policy.allows(str(tmp_path / "app.py"))


def test_a_changed_gitignore_is_read_again(tmp_path: Path) -> None:
    policy = ContentPolicy(WorkspaceFolders.of(str(tmp_path)), recheck_s=0)
    target = str(tmp_path / "sub" / "conf.py")
    assert policy.allows(target)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("conf.py\n")
    assert not policy.allows(target)
    (tmp_path / "sub" / ".gitignore").write_text("other.py\n")
    assert policy.allows(target)
    (tmp_path / "sub" / ".gitignore").unlink()
    assert policy.allows(target)


def test_an_invalid_glob_is_left_out(tmp_path: Path) -> None:
    policy = ContentPolicy(WorkspaceFolders.of(str(tmp_path)), ["!", "*.pem"])
    assert not policy.allows(str(tmp_path / "a.pem"))
    assert policy.allows(str(tmp_path / "a.py"))


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("/w/.env", True),
        ("/w/secrets/keys.py", True),
        ("/w/pkg/m.py", False),
        ("/w/pkg/secrets", False),  # a file, not a folder
    ],
)
def test_matches_glob_takes_the_path_from_the_root(path: str, matched: bool) -> None:
    assert matches_glob(path, ["**/.env", "**/secrets/**"]) is matched


def test_a_verdict_is_kept_for_a_while(tmp_path: Path) -> None:
    folders = WorkspaceFolders.of(str(tmp_path))
    globs: list[str] = []
    policy = ContentPolicy(folders, lambda: globs, recheck_s=3600)
    target = str(tmp_path / "conf.py")
    assert policy.allows(target)
    (tmp_path / ".gitignore").write_text("conf.py\n")
    assert policy.allows(target)  # not looked at again yet
    globs.append("other.py")  # ... but new globs count at once
    assert not policy.allows(target)
    folders.remove(folders.folders[0].uri)  # and so do the folders
    assert policy.allows(target)
