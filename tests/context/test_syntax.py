from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Parser, Tree

from loomline.context import syntax
from loomline.context.documents import Document, DocumentStore
from loomline.context.languages import new_parser, parse
from loomline.context.positions import Position
from loomline.context.syntax import SyntaxTrees

PYTHON = (
    'import os\n\n\ndef f(a, b):\n    """Doc."""\n    return a + b\n\n\nclass C:\n'
    '    x = "é𝄞"\n'
)
JS = "function f(a) {\n  return [a, 'b'];\n}\nconst g = (x) => x * 2;\n"
LANGUAGES = [
    ("python", PYTHON),
    ("javascript", JS),
    ("typescriptreact", "const A = (p: P) => <div>{p.x}</div>;\nexport default A;\n"),
    ("go", "package p\n\nfunc f(a int) int {\n\treturn a * 2 // é\n}\n"),
    ("rust", "fn f<'a>(x: &'a str) -> usize {\n    x.len()\n}\n"),
    ("c", "int f(int a) {\n  /* 𝄞 */ return a;\n}\n"),
    ("typescript", "interface P { x: number }\nconst f = (p: P): number => p.x;\n"),
    ("java", "class A {\n  int f(int a) {\n    return a; // é\n  }\n}\n"),
    ("cpp", "template <typename T>\nT f(T a) {\n  return a; // 𝄞\n}\n"),
]
BREAKS = ["\n", "\r\n", "\r"]


def _store(trees: SyntaxTrees) -> DocumentStore:
    store = DocumentStore()
    store.listeners.append(trees)
    return store


def test_open_change_close() -> None:
    trees = SyntaxTrees()
    store = _store(trees)
    store.open("file:///a.py", "python", 1, PYTHON)
    tree = trees.tree("file:///a.py")
    assert tree is not None and not tree.root_node.has_error
    store.change("file:///a.py", 2, [(Position(5, 16), Position(5, 16), " * 2")])
    document = store.get("file:///a.py")
    assert document is not None
    new_tree = trees.tree_for(document)
    assert new_tree is not None
    assert "return a + b * 2" in document.text
    fresh = parse("python", document.text)
    assert fresh is not None
    assert str(new_tree.root_node) == str(fresh.root_node)
    assert tree is not new_tree  # the old tree was copied, not edited under readers
    store.close("file:///a.py")
    assert trees.tree("file:///a.py") is None


def test_unknown_language_has_no_tree() -> None:
    trees = SyntaxTrees()
    store = _store(trees)
    store.open("file:///a.txt", "plaintext", 1, "hello")
    store.change("file:///a.txt", 2, ["world"])
    assert trees.tree("file:///a.txt") is None


def test_huge_document_is_not_parsed_until_it_shrinks() -> None:
    trees = SyntaxTrees(max_bytes=1000)
    store = _store(trees)
    store.open("file:///big.py", "python", 1, "x = 1\n" * 500)
    assert trees.tree("file:///big.py") is None
    store.change("file:///big.py", 2, [(Position(1, 0), Position(500, 0), "")])
    assert trees.tree("file:///big.py") is not None
    store.change("file:///big.py", 3, [(Position(1, 0), Position(1, 0), "y = 2\n" * 400)])
    assert trees.tree("file:///big.py") is None


def test_lone_surrogates_do_not_raise() -> None:
    trees = SyntaxTrees()
    store = _store(trees)
    store.open("file:///s.py", "python", 1, "a = '\ud83d'\nb = 1\n")
    store.change("file:///s.py", 2, [(Position(0, 5), Position(0, 6), "\udc00\ud800x")])
    document = store.get("file:///s.py")
    assert document is not None
    tree = trees.tree_for(document)
    fresh = parse("python", document.text)
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)


def test_stale_version_gives_no_tree() -> None:
    trees = SyntaxTrees()
    store = _store(trees)
    document = store.open("file:///a.py", "python", 1, "x = 1\n")
    document.version = 7  # changed behind the listener's back
    assert trees.tree_for(document) is None


_FRAGMENTS = st.sampled_from([
    "", "x", " ", "\n", "    ", "(", ")", "{", "}", "[", "]", ":", "'", '"', "def ", "class ",
    "return ", "if x:\n    ", "é", "𝄞", "\r\n", "#", "/*", "*/", "=>", ";", "\t",
    "\r", "\f", "\u2028", "\u0085",  # a lone CR ends a line for the LSP, not for tree-sitter
])


@st.composite
def _edits(draw: st.DrawFn) -> list[tuple[int, int, int, int, str]]:
    count = draw(st.integers(min_value=1, max_value=12))
    return [
        (
            draw(st.integers(0, 14)), draw(st.integers(0, 40)),
            draw(st.integers(0, 14)), draw(st.integers(0, 40)),
            "".join(draw(st.lists(_FRAGMENTS, max_size=4))),
        )
        for _ in range(count)
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(LANGUAGES), edits=_edits(), batch=st.booleans(),
       line_break=st.sampled_from(BREAKS), reads=st.lists(st.booleans(), max_size=12))
def test_incremental_tree_matches_fresh_parse(
    language: tuple[str, str], edits: list[tuple[int, int, int, int, str]], batch: bool,
    line_break: str, reads: list[bool],
) -> None:
    """Every language, every line break: the tree read after changes (some read between
    them, most left pending and parsed at once) is a fresh parse's."""
    language_id, text = language
    trees = SyntaxTrees()
    store = _store(trees)
    uri = f"file:///doc.{language_id}"
    store.open(uri, language_id, 0, text.replace("\n", line_break))
    changes: list[tuple[Position, Position, str] | str] = []
    for line_a, col_a, line_b, col_b, new_text in edits:
        start, end = sorted([(line_a, col_a), (line_b, col_b)])
        changes.append((Position(*start), Position(*end), new_text))
    if batch:
        store.change(uri, 1, changes)
    else:
        for version, change in enumerate(changes, start=1):
            store.change(uri, version, [change])
            if version <= len(reads) and reads[version - 1]:
                assert trees.tree(uri) is not None
    document = store.get(uri)
    assert document is not None
    tree = trees.tree_for(document)
    fresh = parse(language_id, document.text)
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)
    assert tree.root_node.end_byte == fresh.root_node.end_byte
    assert trees.is_current(uri)


class _CountingParser:
    """A parser that counts its parses and, when told, waits inside one."""

    def __init__(self, parser: Parser, hold: bool = False) -> None:
        self.parser, self.parses = parser, 0
        self.hold = hold
        self.started, self.go = threading.Event(), threading.Event()

    def parse(self, source: bytes, old_tree: Tree | None = None) -> Tree:
        self.parses += 1
        if self.hold:
            self.started.set()
            assert self.go.wait(60)
        return self.parser.parse(source, old_tree) if old_tree else self.parser.parse(source)


def _counting(monkeypatch: pytest.MonkeyPatch, hold: bool = False) -> list[_CountingParser]:
    made: list[_CountingParser] = []

    def counting_parser(language_id: str) -> _CountingParser | None:
        parser = new_parser(language_id)
        if parser is None:
            return None
        made.append(_CountingParser(parser, hold))
        return made[-1]

    monkeypatch.setattr(syntax, "new_parser", counting_parser)
    return made


@pytest.mark.parametrize(("language_id", "text"), LANGUAGES)
def test_a_change_parses_nothing_until_read(
    monkeypatch: pytest.MonkeyPatch, language_id: str, text: str
) -> None:
    """Typing costs no parse (a flat file of 100,000 statements re-parses in the time of a
    full parse): the first read parses once, for every change since."""
    parsers = _counting(monkeypatch)
    trees = SyntaxTrees()
    store = _store(trees)
    uri = f"file:///doc.{language_id}"
    document = store.open(uri, language_id, 1, text)
    for version in range(2, 12):
        store.change(uri, version, [(Position(1, 0), Position(1, 0), "x")])
    assert parsers[0].parses == 0 and not trees.is_current(uri)
    tree = trees.tree_for(document)
    assert parsers[0].parses == 1 and trees.is_current(uri)
    assert trees.tree_for(document) is tree and parsers[0].parses == 1
    fresh = parse(language_id, document.text)
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)


def test_changes_during_a_parse_stay_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parse on a worker thread never holds a change up, and the edits that arrive
    meanwhile are parsed by the next read."""
    parsers = _counting(monkeypatch, hold=True)
    trees = SyntaxTrees()
    store = _store(trees)
    document = store.open("file:///a.py", "python", 1, PYTHON)
    store.change("file:///a.py", 2, [(Position(5, 16), Position(5, 16), " * 2")])
    seen: list[Tree | None] = []
    reader = threading.Thread(target=lambda: seen.append(trees.tree_for(document)))
    reader.start()
    assert parsers[0].started.wait(60)
    store.change("file:///a.py", 3, [(Position(0, 0), Position(0, 0), "import sys\n")])
    parsers[0].hold = False
    parsers[0].go.set()
    reader.join()
    assert seen == [None]  # parsed version 2: the document is at 3 now
    assert not trees.is_current("file:///a.py")
    tree = trees.tree_for(document)
    fresh = parse("python", document.text)
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)
    assert parsers[0].parses == 2


def test_full_replacement_change() -> None:
    trees = SyntaxTrees()
    store = _store(trees)
    store.open("file:///r.rs", "rust", 1, "fn a() {}\n")
    store.change("file:///r.rs", 2, ["struct S;\nfn b() -> S { S }\n"])
    tree = trees.tree("file:///r.rs")
    fresh = parse("rust", "struct S;\nfn b() -> S { S }\n")
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)


def test_a_reader_of_a_version_gone_parses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers queue for a document's parse; one whose version the document left while it
    waited (a superseded request) gets no tree and costs no parse."""
    parsers = _counting(monkeypatch, hold=True)
    trees = SyntaxTrees()
    store = _store(trees)
    document = store.open("file:///a.py", "python", 1, PYTHON)
    first = threading.Thread(target=lambda: trees.tree("file:///a.py"))
    first.start()
    assert parsers[0].started.wait(60)
    seen: list[Tree | None] = []
    at_1 = cast(Document, SimpleNamespace(uri="file:///a.py", version=1))  # (a request's)
    second = threading.Thread(target=lambda: seen.append(trees.tree_for(at_1)))
    second.start()  # waits for the first parse, for version 1
    store.change("file:///a.py", 2, [(Position(0, 0), Position(0, 0), "import sys\n")])
    parsers[0].hold = False
    parsers[0].go.set()
    first.join()
    second.join()
    assert seen == [None] and parsers[0].parses == 1
    tree = trees.tree_for(document)
    fresh = parse("python", document.text)
    assert tree is not None and fresh is not None
    assert str(tree.root_node) == str(fresh.root_node)
    assert parsers[0].parses == 2
