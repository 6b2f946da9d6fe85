from __future__ import annotations

import pytest

from loomline.context.analysis import PositionInfo, analyze_position
from loomline.context.languages import parse
from tests.context.position_invariants import assert_consistent

CURSOR = "█"


def _analyze(language_id: str, marked: str, with_tree: bool = True) -> PositionInfo:
    offset = marked.index(CURSOR)
    text = marked.replace(CURSOR, "")
    tree = parse(language_id, text) if with_tree else None
    return analyze_position(language_id, tree, text, offset)


MULTILINE_CASES = [
    ("python", "def f(x):█\n", True),
    ("python", "def f(x):\n    █\n", True),
    ("python", "class A:\n    def m(self):\n        y = 1\n    █\n", True),
    ("python", "x = compute(a, █)\n", False),
    ("python", "def f(x):\n    return g(x█)\n", False),
    ("python", "def f(x):\n    return g(x,\n        █\n", False),
    ("python", "def f(x):\n    # a comment█\n", False),
    ("python", "result = foo█\n", False),
    ("javascript", "function f(a) {█}\n", True),
    ("javascript", "function f(a) {\n  █\n}\n", True),
    ("javascript", "class K {\n  m() {\n    const x = foo(a, █);\n  }\n}\n", False),
    ("typescript", "if (ok) {█\n", True),
    ("go", "package p\nfunc (r *X) M() {\n\t█\n}\n", True),
    ("rust", "impl Foo {\n    fn new() -> Self {\n        █\n    }\n}\n", True),
    ("java", "class X {\n  void m() {\n    █\n  }\n}\n", True),
    ("c", "int main(void) {\n    █\n}\n", True),
    ("cpp", "int main() {\n    return █\n}\n", False),
]


@pytest.mark.parametrize("with_tree", [True, False])
@pytest.mark.parametrize(("language_id", "marked", "expected"), MULTILINE_CASES)
def test_multiline(language_id: str, marked: str, expected: bool, with_tree: bool) -> None:
    assert _analyze(language_id, marked, with_tree).multiline is expected


@pytest.mark.parametrize("with_tree", [True, False])
@pytest.mark.parametrize(
    ("language_id", "marked", "comment", "string"),
    [
        ("python", "def f(x):\n    # a comm█ent\n", True, False),
        ("python", "x = 1  # note█\n", True, False),
        ("python", "x = 'abc█'\n", False, True),
        ("python", "x = 'abc'█\n", False, False),
        ("python", 'def f():\n    """Doc\n    █\n    """\n', False, True),
        ("javascript", "// hi █\n", False, False),
        ("javascript", "const s = `a █ b`;\n", False, True),
        ("c", "/* block █ */ int x;\n", True, False),
        ("c", "/* block */ int █x;\n", False, False),
        ("rust", "fn f<'a>(x: &'a str) { let y = █ }\n", False, False),
    ],
)
def test_comment_and_string(
    language_id: str, marked: str, comment: bool, string: bool, with_tree: bool
) -> None:
    if marked.startswith("//"):
        comment = True
    info = _analyze(language_id, marked, with_tree)
    assert (info.in_comment, info.in_string) == (comment, string)
    if comment or string:
        assert not info.multiline


def test_python_scopes_follow_indentation_on_blank_lines() -> None:
    source = "class A:\n    def m(self, x: int) -> int:\n        y = 1\n{cursor}\n"
    inside = _analyze("python", source.format(cursor="        █"))
    assert [(s.name, s.kind) for s in inside.scopes] == [("A", "class"), ("m", "method")]
    assert inside.scopes[1].signature == "def m(self, x: int) -> int:"
    assert inside.scopes[1].start_line == 1
    after = _analyze("python", source.format(cursor="    █"))
    assert [s.name for s in after.scopes] == ["A"]
    outside = _analyze("python", source.format(cursor="█"))
    assert outside.scopes == []


@pytest.mark.parametrize(
    ("language_id", "marked", "expected"),
    [
        ("javascript", "class K {\n  m(a) {\n    █\n  }\n}\n", [("K", "class"), ("m", "method")]),
        ("typescript", "export const f = async (a: number): Promise<void> => {\n  █\n};\n",
         [("f", "function")]),
        ("go", "package p\nfunc (r *X) M(a int) error {\n\t█\n}\n", [("M", "method")]),
        ("rust", "impl Foo {\n    fn new() -> Self {\n        █\n    }\n}\n",
         [("Foo", "impl"), ("new", "method")]),
        ("java", "class X {\n  void m() {\n    █\n  }\n}\n", [("X", "class"), ("m", "method")]),
        ("c", "static int *foo(int a) {\n    █\n}\n", [("foo", "function")]),
        ("cpp", "namespace n {\nclass A {\n  int k() const {\n    █\n  }\n};\n}\n",
         [("n", "namespace"), ("A", "class"), ("k", "method")]),
    ],
)
def test_scopes_with_tree(language_id: str, marked: str, expected: list[tuple[str, str]]) -> None:
    info = _analyze(language_id, marked)
    assert [(s.name, s.kind) for s in info.scopes] == expected
    assert all("{" not in s.signature for s in info.scopes)


def test_signature_stops_at_header() -> None:
    info = _analyze("python", "@deco\ndef f(a,\n      b):\n    # note\n    x = 1\n    █\n")
    assert info.scopes[0].signature == "def f(a,\n      b):"


def test_imports_with_and_without_tree() -> None:
    marked = (
        "import os\nfrom .util import helper\ntry:\n    import ujson as json\n"
        "except ImportError:\n    import json\n\ndef f():\n    █\n"
    )
    with_tree = _analyze("python", marked).imports
    assert with_tree[:2] == ["import os", "from .util import helper"]
    assert "import ujson as json" in with_tree
    assert _analyze("python", marked, with_tree=False).imports[:2] == with_tree[:2]
    header = '#ifndef A_H\n#define A_H\n#include "b.h"\n#include <vector>\n#endif\n█'
    assert _analyze("cpp", header).imports == ['#include "b.h"', "#include <vector>"]
    go = 'package p\n\nimport (\n\t"fmt"\n\t"example.com/m/util"\n)\n\nfunc f() {\n\t█\n}\n'
    assert _analyze("go", go).imports[0].startswith("import (")


def test_block_indent_and_range() -> None:
    info = _analyze("python", "def f(x):█\n")
    assert info.block_indent == "    "
    info = _analyze("javascript", "function f() {\n  if (x) {█}\n}\n")
    assert info.block_indent == "    "
    info = _analyze("go", "func f() {\n\tif x {█\n\t}\n}\n")
    assert info.block_indent == "\t\t"
    info = _analyze("python", "def f(x):\n  y = 1\n  █\n")
    assert info.block_indent == "  "
    info = _analyze("javascript", "function f() {\n  █\n}\n")
    assert info.block is not None
    assert (info.block.start_line, info.block.end_line) == (0, 2)


def test_unknown_language_and_odd_text_never_raise() -> None:
    for language_id in ("plaintext", "python", "rust"):
        for text in ["", "\n\n", "x = '\ud800'\n", "é𝄞" * 10, "{{{{((((", "\r\n\r\n"]:
            for offset in (0, len(text) // 2, len(text), len(text) + 5, -3):
                tree = parse(language_id, text)
                info = analyze_position(language_id, tree, text, offset)
                assert_consistent(info, language_id, tree, text, offset)


def test_offsets_count_code_points_not_bytes() -> None:
    info = _analyze("python", "s = 'é𝄞'\ndef f():\n    x = 'é𝄞'  # ok█\n")
    assert info.in_comment and not info.in_string
    assert info.scopes[0].name == "f"
