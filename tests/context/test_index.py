from __future__ import annotations

from pathlib import Path

import pytest

from loomline.context.index import WorkspaceIndex

FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": (
        'def helper(a: int, b: int = 2) -> int:\n    """Add two numbers.\n\n    More."""\n'
        "    return a + b\n\n\nclass Store:\n    def get(self, key: str) -> str:\n"
        "        return key\n"
    ),
    "web/api.ts": (
        "/** Fetch a user. */\nexport async function fetchUser(id: string): Promise<User> {\n"
        "  return get(id);\n}\nexport interface User { id: string; name: string }\n"
    ),
    "web/app.jsx": "export const App = (props) => {\n  return <div />;\n};\n",
    "go/store.go": (
        "package store\n\n// Store keeps things.\ntype Store struct {\n"
        "\titems map[string]int\n}\n\n"
        "// Get returns an item.\nfunc (s *Store) Get(key string) int {\n"
        "\treturn s.items[key]\n}\n"
    ),
    "rs/src/lib.rs": "/// Parses input.\npub fn parse(input: &str) -> Vec<u8> {\n    vec![]\n}\n",
    "java/com/acme/Cart.java": (
        "package com.acme;\npublic class Cart {\n  /** Total price. */\n"
        "  public int total() { return 0; }\n}\n"
    ),
    "c/vec.h": "#ifndef VEC_H\n#define VEC_H\nint vec_len(const struct vec *v);\n#endif\n",
    "c/vec.c": '#include "vec.h"\nint vec_len(const struct vec *v) {\n  return v->n;\n}\n',
    "cpp/shape.cpp": "class Shape {\n public:\n  double area() const { return 0; }\n};\n",
    "build/gen.py": "def generated():\n    pass\n",
    "node_modules/lib/index.js": "function vendored() {}\n",
    "logs/keep.py": "def kept():\n    pass\n",
    "logs/drop.py": "def dropped():\n    pass\n",
    "big.py": "x = 1\n" * 50_000,
    "README.md": "# not code\n",
    "vendor/skip.go": "package skip\nfunc Skipped() {}\n",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for relative, text in FILES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "bin.py").write_bytes(b"def x():\0\0\0 pass\n")
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    (tmp_path / "logs" / ".gitignore").write_text("*.py\n!keep.py\n")
    return tmp_path


def _index(root: Path) -> WorkspaceIndex:
    index = WorkspaceIndex(root, exclude=["vendor/**"], max_file_bytes=100_000)
    assert index.build()
    return index


def test_definitions_for_all_languages(workspace: Path) -> None:
    index = _index(workspace)
    helper = index.lookup("helper")[0]
    assert helper.kind == "function"
    assert helper.signature == "def helper(a: int, b: int = 2) -> int:"
    assert helper.doc == "Add two numbers."
    assert helper.path == str(workspace / "pkg" / "util.py")
    assert helper.line == 0
    get = index.lookup("get")[0]
    assert (get.kind, get.container) == ("method", "Store")
    fetch = index.lookup("fetchUser")[0]
    assert fetch.doc == "Fetch a user."
    assert fetch.signature == "async function fetchUser(id: string): Promise<User>"
    assert index.lookup("User")[0].kind == "interface"
    assert index.lookup("App")[0].signature == "const App = (props) =>"
    go_get = index.lookup("Get")[0]
    assert (go_get.kind, go_get.container) == ("method", "Store")
    assert go_get.doc == "Get returns an item."
    assert "items map[string]int" in index.lookup("Store")[-1].signature or any(
        "items" in d.signature for d in index.lookup("Store")
    )
    assert index.lookup("parse")[0].doc == "Parses input."
    assert index.lookup("total")[0].container == "Cart"
    assert {d.path.rsplit("/", 1)[-1] for d in index.lookup("vec_len")} == {"vec.h", "vec.c"}
    assert index.lookup("area")[0].kind == "method"


def test_ignored_binary_and_huge_files_are_skipped(workspace: Path) -> None:
    index = _index(workspace)
    files = {Path(p).relative_to(workspace).as_posix() for p in index.files()}
    assert "build/gen.py" not in files  # .gitignore directory pattern
    assert "node_modules/lib/index.js" not in files  # always skipped
    assert "logs/drop.py" not in files and "logs/keep.py" in files  # nested, negation
    assert "big.py" not in files  # over max_file_bytes
    assert "bin.py" not in files  # binary
    assert "vendor/skip.go" not in files  # exclusion glob
    assert "README.md" not in files
    assert index.lookup("generated") == [] and index.lookup("kept") != []


def test_progress_and_cancellation(workspace: Path) -> None:
    calls: list[tuple[int, int]] = []
    index = WorkspaceIndex(workspace)
    assert index.build(progress=lambda done, total: calls.append((done, total)))
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1]
    assert index.file_count == calls[-1][1] - 1  # the binary file is counted, not indexed
    cancelled = WorkspaceIndex(workspace)
    assert cancelled.build(cancelled=lambda: True) is False


def test_update_and_remove(workspace: Path) -> None:
    index = _index(workspace)
    util = workspace / "pkg" / "util.py"
    util.write_text("def renamed():\n    pass\n")
    assert index.update_file(util)
    assert index.lookup("helper") == [] and index.lookup("renamed")[0].path == str(util)
    new = workspace / "pkg" / "extra.py"
    new.write_text("class Extra:\n    pass\n")
    assert index.update_file(new)
    assert index.lookup("Extra")
    assert not index.update_file(workspace / "build" / "gen.py")
    new.write_bytes(b"class Extra:\0 binary now")
    assert not index.update_file(new)
    assert index.lookup("Extra") == []
    new.unlink()
    index.remove_file(new)
    assert index.lookup("Extra") == []
    index.remove_file(workspace / "java")
    assert index.lookup("total") == []
    assert not index.update_file("/elsewhere/x.py")


def test_caps(workspace: Path) -> None:
    index = WorkspaceIndex(workspace, max_files=3)
    index.build()
    assert index.file_count <= 3 and index.truncated
    index = WorkspaceIndex(workspace, max_definitions=4)
    index.build()
    assert index.definition_count == 4 and index.truncated
