from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.documents import DocumentStore
from loomline.context.imports import resolve_imports
from loomline.context.index import WorkspaceIndex
from loomline.context.positions import Position
from loomline.context.retrieval import collect_context, names_near_cursor
from loomline.context.snippets import (
    MAX_LINE_CHARS,
    STRIDE,
    WINDOW,
    SnippetCache,
    TextOrigin,
    similar_snippets,
    token_set,
)

FILES = {
    # Python: packages, relative imports, src layout
    "src/shop/__init__.py": "from .cart import Cart\n",
    "src/shop/cart.py": (
        "class Cart:\n    \"\"\"A shopping cart.\"\"\"\n\n"
        "    def add(self, item: str, qty: int = 1) -> None:\n"
        "        pass\n\n    def total(self) -> float:\n        return 0.0\n"
    ),
    "src/shop/pricing/__init__.py": "def discount(price: float) -> float:\n    return price\n",
    "src/shop/pricing/tax.py": "def vat(amount: float) -> float:\n    return amount * 0.2\n",
    "src/shop/utils.py": (
        "def slugify(text: str) -> str:\n    return text\n\ndef unused():\n    pass\n"
    ),
    # JS / TS
    "web/src/api/client.ts": (
        "export function request(url: string): Promise<Response> {\n"
        "  return fetch(url);\n}\n"
    ),
    "web/src/api/index.ts": "export function apiBase(): string {\n  return '/';\n}\n",
    "web/src/models.ts": (
        "export interface User {\n  id: string;\n}\nexport class Repo {\n"
        "  find(id: string): User { return {id}; }\n}\n"
    ),
    "web/src/legacy.js": "function oldThing(a) {\n  return a;\n}\nmodule.exports = { oldThing };\n",
    # Go
    "goapp/go.mod": "module example.com/app\n\ngo 1.22\n",
    "goapp/store/store.go": (
        "package store\n\n// New makes a store.\nfunc New(size int) *Store {\n"
        "\treturn &Store{}\n}\n\ntype Store struct{}\n"
    ),
    "goapp/store/store_test.go": "package store\n\nfunc TestHidden() {}\n",
    # Rust
    "rsapp/Cargo.toml": "[package]\nname = \"rsapp\"\n",
    "rsapp/src/lib.rs": "pub mod config;\npub mod net;\n",
    "rsapp/src/config.rs": (
        "pub struct Config {\n    pub port: u16,\n}\n\npub fn load() -> Config {\n"
        "    Config { port: 1 }\n}\n"
    ),
    "rsapp/src/net/mod.rs": "pub mod tcp;\n",
    "rsapp/src/net/tcp.rs": "pub fn connect(addr: &str) -> bool {\n    true\n}\n",
    # Java
    "jv/src/com/acme/model/Item.java": (
        "package com.acme.model;\npublic class Item {\n"
        "  public int price() { return 1; }\n}\n"
    ),
    "jv/src/com/acme/util/Strings.java": (
        "package com.acme.util;\npublic class Strings {\n"
        "  public static String pad(String s) { return s; }\n}\n"
    ),
    # C
    "csrc/include/vec.h": "int vec_len(const int *v);\n",
    "csrc/lib/list.h": "int list_len(void);\n",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorkspaceIndex]:
    root = tmp_path_factory.mktemp("ws")
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    index = WorkspaceIndex(root)
    assert index.build()
    return root, index


def _resolved(root: Path, index: WorkspaceIndex, relative: str, text: str, language: str
              ) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    targets = resolve_imports(text, str(root / relative), language, index)
    return {
        t.module: ([str(Path(p).relative_to(root)) for p in t.paths], t.names) for t in targets
    }


def test_python_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = (
        "import shop.utils as u\nfrom shop.cart import Cart\nfrom . import utils\n"
        "from .pricing import discount\nfrom .pricing.tax import (\n    vat,\n)\nimport os\n"
    )
    got = _resolved(root, index, "src/shop/views.py", text, "python")
    assert got["shop.utils"] == (["src/shop/utils.py"], ())
    assert got["shop.cart"] == (["src/shop/cart.py"], ("Cart",))
    assert got["."][0] == ["src/shop/__init__.py", "src/shop/utils.py"]
    assert got[".pricing"] == (["src/shop/pricing/__init__.py"], ("discount",))
    assert got[".pricing.tax"] == (["src/shop/pricing/tax.py"], ("vat",))
    assert got["os"] == ([], ())


def test_js_ts_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = (
        "import { request as req } from './api/client';\nimport * as api from './api';\n"
        "import type { User } from './models.js';\nconst { oldThing } = require('./legacy');\n"
        "import React from 'react';\nimport {\n  apiBase,\n  type Other,\n} from './api/index';\n"
        "export { Repo } from './models';\n"
    )
    got = _resolved(root, index, "web/src/app.tsx", text, "typescriptreact")
    assert got["./api/client"] == (["web/src/api/client.ts"], ("request",))
    assert got["./api"] == (["web/src/api/index.ts"], ())
    assert got["./models.js"] == (["web/src/models.ts"], ("User",))
    assert got["./legacy"] == (["web/src/legacy.js"], ("oldThing",))
    assert got["react"] == ([], ())
    assert got["./api/index"] == (["web/src/api/index.ts"], ("apiBase", "Other"))
    assert got["./models"] == (["web/src/models.ts"], ("Repo",))


def test_go_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = 'package main\n\nimport (\n\t"fmt"\n\tst "example.com/app/store"\n)\n'
    got = _resolved(root, index, "goapp/cmd/main.go", text, "go")
    assert got["example.com/app/store"] == (["goapp/store/store.go"], ())
    assert got["fmt"] == ([], ())


def test_rust_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = "use crate::config::{Config, load};\nuse crate::net::tcp::connect;\nuse std::io;\n"
    got = _resolved(root, index, "rsapp/src/main.rs", text, "rust")
    assert got["crate::config::Config"] == (["rsapp/src/config.rs"], ("Config",))
    assert got["crate::config::load"] == (["rsapp/src/config.rs"], ("load",))
    assert got["crate::net::tcp::connect"] == (["rsapp/src/net/tcp.rs"], ("connect",))
    got = _resolved(root, index, "rsapp/src/net/tcp.rs", "use super::super::config::Config;\n",
                    "rust")
    assert got["super::super::config::Config"] == (["rsapp/src/config.rs"], ("Config",))
    got = _resolved(root, index, "rsapp/src/lib.rs", FILES["rsapp/src/lib.rs"], "rust")
    assert got["self::net"] == (["rsapp/src/net/mod.rs"], ())


def test_java_and_c_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = "package com.acme;\nimport com.acme.model.Item;\nimport com.acme.util.*;\n"
    got = _resolved(root, index, "jv/src/com/acme/Main.java", text, "java")
    assert got["com.acme.model.Item"] == (["jv/src/com/acme/model/Item.java"], ("Item",))
    assert got["com.acme.util"] == (["jv/src/com/acme/util/Strings.java"], ())
    text = ('#include "../include/vec.h"\n#include "list.h"\n#include <stdio.h>\n'
            "#include <include/vec.h>\n")
    got = _resolved(root, index, "csrc/lib/main.c", text, "c")
    assert got["../include/vec.h"] == (["csrc/include/vec.h"], ())
    assert got["list.h"] == (["csrc/lib/list.h"], ())
    assert got["stdio.h"] == ([], ())
    assert got["include/vec.h"] == (["csrc/include/vec.h"], ())


def test_names_near_cursor() -> None:
    text = "import os\nx = alpha(1)\n\ny = beta(x)\nz = █gamma\n"
    offset = text.index("█")
    names = names_near_cursor(text.replace("█", ""), offset)
    assert names[:2] == ["gamma", "beta"]
    assert "os" not in names and "import" not in names
    typing = "value = compute(1)\nresult = comp"
    assert names_near_cursor(typing, len(typing)) == ["comp", "result", "compute", "value"]


def test_collect_context_prefers_used_imports(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = (
        "from shop.cart import Cart\nfrom shop.utils import slugify, unused\n\n\n"
        "def checkout(cart: Cart) -> str:\n    cart.add('x')\n    return █\n"
    )
    offset = text.index("█")
    text = text.replace("█", "")
    path = str(root / "src/app/main.py")
    pieces = collect_context(text, path, "python", offset, index, {}, {})
    assert pieces[0].kind == "definition"
    assert pieces[0].reason == "definition of `Cart` imported from src/shop/cart.py"
    assert pieces[0].text.startswith("# A shopping cart.\nclass Cart:")
    assert "    def add(self, item: str, qty: int = 1) -> None:" in pieces[0].text
    # Names imported but not used near the cursor: their headers, one piece per module.
    headers = pieces[1]
    assert headers.reason == "headers of `slugify`, `unused`, imported from src/shop/utils.py"
    assert headers.text.split("\n")[0].startswith("def slugify(")
    assert len(headers.text.split("\n")) == 2
    again = collect_context(text, path, "python", offset, index, {}, {})
    assert again == pieces  # stable


def test_collect_context_index_lookup_and_snippets(
    workspace: tuple[Path, WorkspaceIndex],
) -> None:
    root, index = workspace
    other = str(root / "web/src/other.ts")
    other_text = "\n".join(
        ["// filler"] * 30
        + ["function renderTable(rows, columns) {", "  const header = columns.map(renderCell);",
           "  return rows.map((row) => columns.map((c) => renderCell(row[c])));", "}"]
        + ["// filler"] * 30
    )
    text = "const header = columns.map(renderCell);\nconst body = rows.map((row) => request(█"
    offset = text.index("█")
    text = text.replace("█", "")
    pieces = collect_context(text, str(root / "web/src/view.ts"), "typescript", offset, index,
                             {other: other_text}, {}, snippet_cache=SnippetCache())
    kinds = [(p.kind, p.reason) for p in pieces]
    assert kinds[0] == ("definition",
                        "definition of `request` used near the cursor, from web/src/api/client.ts")
    snippet = next(p for p in pieces if p.kind == "snippet")
    assert "renderTable" in snippet.text
    assert snippet.reason.startswith("similar to lines ") and snippet.reason.endswith("other.ts")


def test_collect_context_without_index_or_language() -> None:
    assert collect_context("hello world", "/tmp/x.txt", "plaintext", 5, None, {}, None) == []
    assert collect_context("", "/tmp/x.py", "python", 10, None, {}, None) == []


def test_similar_snippets_exclude_current_window_and_update_incrementally() -> None:
    cache = SnippetCache()
    lines = [f"value_{i} = compute_{i}(data)" for i in range(200)]
    text = "\n".join(lines)
    query = token_set("\n".join(lines[100:110]))
    found = similar_snippets(query, [("/a.py", text)], cache, exclude=None)
    assert found and found[0].start_line in (90, 100)
    excluded = similar_snippets(query, [("/a.py", text)], cache, exclude=("/a.py", 80, 130))
    assert all(s.start_line + 20 <= 80 or s.start_line > 130 for s in excluded)
    assert excluded == []  # nothing else in the file is like the cursor's window
    # The same code in two places: excluding the cursor's place finds the other one.
    twice = "\n".join(lines[:10] + lines[100:110] + lines[20:])
    both = similar_snippets(query, [("/a.py", twice)], SnippetCache(), exclude=None)
    assert [s.start_line for s in both] == [0, 90]
    other = similar_snippets(query, [("/a.py", twice)], SnippetCache(), exclude=("/a.py", 80, 130))
    assert [s.start_line for s in other] == [0]
    assert all(s.start_line + 20 <= 80 or s.start_line > 130 for s in other)
    # An edit changes the cached windows it touches, and only those.
    before = cache.windows("/a.py", text).sets
    lines[150] = "brand_new_token = 1"
    after = cache.windows("/a.py", "\n".join(lines)).sets
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [14, 15]
    lines.insert(5, "inserted_line = 2")
    inserted = cache.windows("/a.py", "\n".join(lines))
    fresh = SnippetCache().windows("/a.py", "\n".join(lines))
    assert inserted.sets == fresh.sets


def test_collect_context_go_package_alias(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    text = (
        'package main\n\nimport (\n\t"fmt"\n\tst "example.com/app/store"\n)\n\n'
        "func main() {\n\ts := st.New(3)\n\tfmt.Println(s)\n}\n"
    )
    offset = text.index("st.New") + 6
    pieces = collect_context(text, str(root / "goapp/cmd/main.go"), "go", offset, index, {}, {})
    assert pieces[0].reason == "definition of `New` imported from goapp/store/store.go"
    assert pieces[0].text == "// New makes a store.\nfunc New(size int) *Store"
    assert all("TestHidden" not in p.text for p in pieces)


def test_collect_context_rust_struct_with_impl_methods(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "shape.rs").write_text(
        "pub struct Circle {\n    pub r: f64,\n}\n\nimpl Circle {\n"
        "    pub fn area(&self) -> f64 {\n        self.r * self.r\n    }\n}\n"
    )
    index = WorkspaceIndex(tmp_path)
    index.build()
    text = "use crate::shape::Circle;\n\nfn main() {\n    let c = Circle { r: 1.0 };\n    c.\n}\n"
    offset = text.index("c.\n") + 2
    pieces = collect_context(text, str(tmp_path / "src" / "main.rs"), "rust", offset, index,
                             {}, {})
    assert pieces[0].text.startswith("pub struct Circle {")
    assert "    pub fn area(&self) -> f64" in pieces[0].text


def test_context_stays_the_same_while_typing(workspace: tuple[Path, WorkspaceIndex]) -> None:
    root, index = workspace
    head = (
        "from shop.cart import Cart\nfrom shop.utils import slugify\n\n\n"
        "def checkout(cart: Cart) -> str:\n    name = slugify('x')\n    return "
    )
    path = str(root / "src/app/main.py")
    cache = SnippetCache()
    results = [
        collect_context(head + typed, path, "python", len(head + typed), index, {}, {},
                        snippet_cache=cache)
        for typed in ("n", "na", "nam", "name.up")
    ]
    texts = [[(p.path, p.text) for p in result] for result in results]
    assert texts[0] and all(t == texts[0] for t in texts)


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 40),
                                st.sampled_from(["", "x", "\n", "foo bar\n", "\n\n\nbaz"])),
                      min_size=1, max_size=6))
def test_incremental_windows_match_fresh_ones(edits: list[tuple[int, int, str]]) -> None:
    text = "\n".join(f"line_{i} = value_{i % 7}" for i in range(45))
    cache = SnippetCache()
    cache.windows("/doc.py", text)
    for at, length, new in edits:
        at = min(at, len(text))
        text = text[:at] + new + text[at + length :]
        incremental = cache.windows("/doc.py", text)
        fresh = SnippetCache().windows("/doc.py", text)
        lines = text.split("\n")
        assert incremental.heads == [line[:MAX_LINE_CHARS] for line in lines]
        assert incremental.lengths == [len(line) for line in lines]
        assert incremental.sets == fresh.sets


@settings(max_examples=80, deadline=None)
@given(
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    changes=st.lists(st.tuples(
        st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 40),
                           st.sampled_from(["", "x", "\n", "\r\n", "foo bar\n", "\n\n\nbaz",
                                            "\r", "😀"])), min_size=1, max_size=3),
        st.sampled_from(["store", "store", "unread", "direct", "late"])), min_size=1, max_size=8),
)
def test_windows_that_follow_a_documents_changes_match_fresh_ones(
    newline: str, changes: list[tuple[list[tuple[int, int, str]], str]]
) -> None:
    """Windows updated from the lines a document's changes kept (several changes between two
    reads, several edits a change, edits applied past the store, a change made between the
    reading of the count and of the text, as on another thread, lines longer than what is
    read of them, every line break) are those of its text read afresh."""
    lines = [f"line_{i} = value_{i % 7}" for i in range(45)]
    lines[20] = "data = [" + ", ".join(str(i) for i in range(700)) + "]"  # > MAX_LINE_CHARS
    store = DocumentStore()
    document = store.open("file:///w/doc.py", "python", 1, newline.join(lines))
    cache = SnippetCache()
    cache.windows("/doc.py", document.lf_text, TextOrigin(document, document.changes))
    mark = document.changes
    for version, (edits, how) in enumerate(changes, start=2):
        if how != "late":
            mark = document.changes  # (else: read before this change, the text after it)
        if how == "direct":  # not through the store: the journal cannot tell what changed
            at = document.position_at(min(edits[0][0], len(document.text)))
            document.apply_change(at, at, edits[0][2])
        else:
            applied: list[tuple[Position, Position, str] | str] = []
            for at, length, new in edits:
                start = min(at, len(document.text))
                applied.append((document.position_at(start),
                                document.position_at(min(start + length, len(document.text))),
                                new))
            store.change(document.uri, version, applied)
        if how == "unread":
            continue
        text = document.lf_text
        incremental = cache.windows("/doc.py", text, TextOrigin(document, mark))
        fresh = SnippetCache().windows("/doc.py", text)
        assert (incremental.heads, incremental.lengths) == (fresh.heads, fresh.lengths)
        assert incremental.sets == fresh.sets
        split = text.split("\n")
        for start in range(0, len(split), STRIDE):
            assert incremental.lines(start, WINDOW) == "\n".join(split[start : start + WINDOW])


def test_class_piece_shows_fields_and_public_members_on_one_line(tmp_path: Path) -> None:
    from loomline.context.retrieval import definition_text

    (tmp_path / "codes.py").write_text(
        "class codes(IntEnum):\n"
        '    """HTTP status codes."""\n'
        '    OK = 200, "OK"\n'
        '    MOVED_PERMANENTLY = 301, "Moved Permanently"\n'
        "    def __init__(self, value: int,\n"
        '                 phrase: str = "") -> None:\n'
        "        pass\n"
        "    def __str__(self) -> str:\n"
        "        return ''\n"
        "    def _private(self) -> None:\n"
        "        pass\n"
        "    def get_reason_phrase(\n"
        "        cls,\n"
        "        value: int,\n"
        "    ) -> str:\n"
        "        return ''\n"
    )
    index = WorkspaceIndex(str(tmp_path))
    index.build()
    [cls] = [d for d in index.definitions_in(str(tmp_path / "codes.py")) if d.kind == "class"]
    text = definition_text(cls, index)
    assert text.split("\n") == [
        "# HTTP status codes.",
        "class codes(IntEnum):",
        '    OK = 200, "OK"',
        '    MOVED_PERMANENTLY = 301, "Moved Permanently"',
        '    def __init__(self, value: int, phrase: str = "") -> None:',
        "    def get_reason_phrase(cls, value: int) -> str:",
    ]
    # Fields come with their class, never as pieces of their own.
    assert index.count("OK") == 1
