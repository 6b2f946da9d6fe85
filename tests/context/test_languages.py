from __future__ import annotations

import pytest

from loomline.context.languages import (
    encode,
    family,
    get_language,
    get_language_for_path,
    language_id_for_path,
    new_parser,
    normalize_language_id,
    parse,
)

LANGUAGE_IDS = [
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact",
    "go", "rust", "java", "c", "cpp",
]


@pytest.mark.parametrize("language_id", LANGUAGE_IDS)
def test_every_lsp_language_id_has_a_grammar(language_id: str) -> None:
    language = get_language(language_id)
    assert language is not None
    assert get_language(language_id) is language  # cached
    assert new_parser(language_id) is not None


@pytest.mark.parametrize("language_id", ["plaintext", "ruby", "", None, "markdown"])
def test_unknown_languages_give_none(language_id: str | None) -> None:
    assert get_language(language_id) is None
    assert new_parser(language_id) is None
    assert parse(language_id, "x = 1") is None
    assert family(language_id) is None


@pytest.mark.parametrize(
    ("path", "language_id"),
    [
        ("a/b.py", "python"), ("x.tsx", "typescriptreact"), ("x.TS", "typescript"),
        ("m.jsx", "javascriptreact"), ("m.mjs", "javascript"), ("main.go", "go"),
        ("lib.rs", "rust"), ("A.java", "java"), ("a.h", "c"), ("a.hpp", "cpp"),
        ("a.cc", "cpp"), ("README.md", None), ("Makefile", None),
    ],
)
def test_suffixes(path: str, language_id: str | None) -> None:
    assert language_id_for_path(path) == language_id
    assert (get_language_for_path(path) is None) == (language_id is None)


def test_aliases_and_families() -> None:
    assert normalize_language_id("TypeScriptReact") == "typescriptreact"
    assert normalize_language_id("golang") == "go"
    assert family("typescriptreact") == "typescript"
    assert family("javascriptreact") == "javascript"


def test_tsx_and_typescript_differ() -> None:
    tsx = parse("typescriptreact", "const a = <div>{x}</div>;")
    ts = parse("typescript", "const a = <T>x;")
    assert tsx is not None and not tsx.root_node.has_error
    assert ts is not None and not ts.root_node.has_error


def test_lone_surrogates_encode_consistently() -> None:
    text = "x = '\ud800'\n"
    assert len(encode(text)) == len(text) + 2
    tree = parse("python", text)
    assert tree is not None
