"""Held-out variants of issue 14's eight kinds (everyday editing), written apart from the
cases each fix was made against: other languages, positions, line endings and URI schemes.

1 line breaks, 2 closers the editor typed, 3 the document's indentation, 4 documents that
are not files, 5 multi-root workspaces, 6 answers that fit the text they land on, 7 long lines
and big files, 8 settings that degrade gracefully.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.results import fit_to_document
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings, parse_settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore, path_to_uri
from loomline.context.parse_errors import parse_error_count
from loomline.context.positions import Position
from loomline.context.workspace_folders import WorkspaceFolders
from tests.text_model import ReferenceText
from tests.unit.cleanup.marks import cursor_row
from tests.unit.editing.harness import CURSOR, ENDINGS, EXTENSIONS, complete_marked

# ---- 1. line breaks: edits and answers land on the LSP's lines, whatever the mix ---------
MIXED_EDITS = [
    ("a = 1\rb = 2\r\nc = 3\n", (1, 4), (1, 5), "9"),
    ("a = 1\r\rb = 2", (2, 0), (2, 1), "z"),
    ("x\r\n\ry\n", (1, 0), (2, 0), ""),
    ("\r\r\r", (1, 0), (1, 0), "mid"),
    ("a\rb", (0, 1), (1, 0), "\r\n"),
    ("a\r\nb\rc", (0, 1), (0, 1), "\r"),  # a CR typed before the CRLF's own CR
    ("a\r", (1, 0), (1, 0), "\nb"),  # an LF after a lone CR: one CRLF now
    ("é\r😀\r\nz", (1, 2), (1, 2), "!"),  # UTF-16 columns after a lone CR
    ("line\u2028sep\rnext", (1, 0), (1, 4), "NEXT"),  # U+2028 is no LSP line break
    ("a\n\r\nb\r", (2, 1), (3, 0), ""),
    ("k = 0\r" * 5, (4, 4), (4, 5), "4"),
]


@pytest.mark.parametrize(("text", "start", "end", "new"), MIXED_EDITS)
def test_1_edits_land_on_the_lsp_lines(text: str, start: tuple[int, int],
                                       end: tuple[int, int], new: str) -> None:
    store = DocumentStore()
    document = store.open("untitled:mixed", "python", 1, text)
    store.change("untitled:mixed", 2, [(Position(*start), Position(*end), new)])
    reference = ReferenceText(text)
    reference.apply(*start, *end, new)
    assert document.text == reference.text
    assert document.lf_text == reference.text.replace("\r\n", "\n").replace("\r", "\n")


ANSWER_ENDINGS = [
    pytest.param(language, ending, id=f"{language}-{ending}")
    for language, ending in [("rust", "cr"), ("java", "crlf"), ("c", "cr"), ("cpp", "crlf"),
                             ("typescript", "cr"), ("go", "crlf"), ("python", "cr"),
                             ("javascript", "crlf"), ("rust", "crlf"), ("java", "cr")]
]
BODY_AT = {  # (document with the cursor on a blank body line, a two-line answer)
    "python": ("def f(a):\n    █\n", "b = a + 1\n    return b"),
    "javascript": ("function f(a) {\n  █\n}\n", "const b = a + 1;\n  return b;"),
    "typescript": ("function f(a: number) {\n  █\n}\n", "const b = a + 1;\n  return b;"),
    "go": ("func f(a int) int {\n\t█\n}\n", "b := a + 1\n\treturn b"),
    "rust": ("fn f(a: i32) -> i32 {\n    █\n}\n", "let b = a + 1;\n    b"),
    "java": ("class A {\n  int f(int a) {\n    █\n  }\n}\n", "int b = a + 1;\n    return b;"),
    "c": ("int f(int a) {\n  █\n}\n", "int b = a + 1;\n  return b;"),
    "cpp": ("int f(int a) {\n  █\n}\n", "auto b = a + 1;\n  return b;"),
}


@pytest.mark.parametrize(("language_id", "ending"), ANSWER_ENDINGS)
async def test_1_a_block_lands_in_the_documents_breaks(language_id: str, ending: str) -> None:
    marked, answer = BODY_AT[language_id]
    # The model answers in the other kind of break than the document's.
    model_ending = "\r\n" if ending == "cr" else "\r"
    result, applied = await complete_marked(language_id, marked, answer.replace(
        "\n", model_ending), ending=ending, multiline="always")
    assert isinstance(result, Completion), result
    assert "\r" not in result.text.replace(ENDINGS[ending], "")
    assert applied == marked.replace(CURSOR, answer)


# ---- 2. closers the editor typed: other places, other brackets ----------------------------
CLOSERS = [
    pytest.param("python", "d = {█}\n", '"a": 1}', 'd = {"a": 1}', id="python-dict"),
    pytest.param("python", "print(f(█))\n", "x))", "print(f(x))", id="python-nested"),
    pytest.param("go", "func f() {\n\txs := []int{█}\n}\n", "1, 2}", "\txs := []int{1, 2}",
                 id="go-slice"),
    pytest.param("rust", "fn f() {\n    let v = vec![█];\n}\n", "1, 2];",
                 "    let v = vec![1, 2];", id="rust-macro"),
    pytest.param("java", "class A {\n  int[] xs = new int[]{█};\n}\n", "1, 2};",
                 "  int[] xs = new int[]{1, 2};", id="java-array"),
    pytest.param("c", 'int f(int x) {\n  printf("%d", █);\n}\n', "x);",
                 '  printf("%d", x);', id="c-printf"),
    pytest.param("cpp", "int f() {\n  return g(h(█));\n}\n", "1)) + 2;",
                 "  return g(h(1)) + 2;", id="cpp-nested-then-more"),
    pytest.param("typescript", "const xs = [█];\n", "1, 2].map(String);",
                 "const xs = [1, 2].map(String);", id="typescript-array-then-call"),
    pytest.param("javascript", "const o = { a: f(█) };\n", "1) };", "const o = { a: f(1) };",
                 id="javascript-object"),
    pytest.param("javascript", "if (ok(█)) {}\n", "a, b)) {", "if (ok(a, b)) {}",
                 id="javascript-nested-header"),
    pytest.param("java", "class A {\n  void f() {\n    while (ok(█)) {}\n  }\n}\n", "x)) {",
                 "    while (ok(x)) {}", id="java-while-header"),
]


@pytest.mark.parametrize("ending", ["lf", "cr"])
@pytest.mark.parametrize(("language_id", "marked", "answer", "line"), CLOSERS)
async def test_2_the_line_is_written_once(language_id: str, marked: str, answer: str,
                                          line: str, ending: str) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending)
    assert isinstance(result, Completion), result
    row = cursor_row(marked)
    assert applied.split("\n")[row] == line


# ---- 3. the document's indentation: tabs, 2 and 3 spaces, deeper blocks --------------------
INDENTS = [
    # (language, the file around {body}, the file's unit, depth, the answer's unit)
    ("go", "func f(x int) int {\n\tif x > 0 {\n{body}\n\t}\n\treturn 0\n}\n", "\t", 2, 4),
    ("c", "int f(int x) {\n\tif (x) {\n{body}\n\t}\n\treturn 0;\n}\n", "\t", 2, 4),
    ("python", "def f(x):\n\tif x:\n{body}\n\treturn 0\n", "\t", 2, 4),
    ("python", "def f(x):\n   y = 0\n{body}\n", "   ", 1, 4),
    ("rust", "fn f(x: i32) -> i32 {\n  let y = 0;\n{body}\n  y\n}\n", "  ", 1, 4),
    ("java", "class A {\n\tint f(int x) {\n{body}\n\t\treturn 0;\n\t}\n}\n", "\t", 2, 4),
    ("typescript", "function f(x: number) {\n  if (x) {\n{body}\n  }\n}\n", "  ", 2, 4),
    ("cpp", "int f(int x) {\n    if (x) {\n{body}\n    }\n}\n", "    ", 2, 2),
    ("javascript", "function f(x) {\n\tconst y = 0;\n{body}\n}\n", "\t", 1, 2),
    ("python", "class A:\n  def f(self, x):\n    if x:\n{body}\n", "  ", 3, 4),
]
C_BODY = [(0, "if (x > 1) {"), (1, "x = 1;"), (0, "}")]
BODIES = {"python": [(0, "if x > 1:"), (1, "x = 1")], "go": [(0, "if x > 1 {"), (1, "x = 1"),
                                                            (0, "}")]}


@pytest.mark.parametrize("ending", ["crlf"])
@pytest.mark.parametrize(("language_id", "template", "unit", "depth", "width"), INDENTS)
async def test_3_answers_take_the_files_indentation(
    language_id: str, template: str, unit: str, depth: int, width: int, ending: str
) -> None:
    body = BODIES.get(language_id, C_BODY)
    answer = "\n".join((" " * width * (depth + level) if index else "") + text
                       for index, (level, text) in enumerate(body))
    marked = template.replace("{body}", unit * depth + CURSOR)
    result, applied = await complete_marked(language_id, marked, answer, ending=ending,
                                            multiline="always")
    assert isinstance(result, Completion), result
    expected = "\n".join(unit * (depth + level) + text for level, text in body)
    assert applied == template.replace("{body}", expected)


# ---- 4. documents that are not files (with a folder open) ----------------------------------
URIS = [
    "untitled:Untitled-3",
    "untitled:/home/me/notes.py",
    "vscode-notebook-cell:/w/folder/nb.ipynb#W1sZmlsZQ%3D%3D",
    "vscode-notebook-cell:/w/with%20space/n%C3%A9.ipynb#X2",
    "file:///w/folder/with%20space/a%2Bb.py",
    "file:///w/folder/%E2%9C%93/%25percent.py",
    "file:///C:/Users/me/project/a.py",
    "vscode-remote://ssh-remote%2Bhost/home/me/a.py",
    "vscode-vfs://github/owner/repo/a.py",
    "git:/w/folder/a.py?%7B%22ref%22%3A%22HEAD%22%7D",
    "inmemory://model/1",
]


@pytest.mark.parametrize("uri", URIS)
async def test_4_any_uri_gets_a_completion(uri: str) -> None:
    result, applied = await complete_marked(
        "python", "def add(a, b):\n    █\n", "return a + b", uri=uri,
        folders=("/w/folder",), ending="crlf",
    )
    assert isinstance(result, Completion), result
    assert applied == "def add(a, b):\n    return a + b\n"


# ---- 5. multi-root workspaces: each document takes context from its own folder --------------
DEFINITIONS = {  # the same name, defined in each folder's own way
    "python": "def shared_helper(x):\n    return x * {n}\n",
    "javascript": "function sharedHelper(x) {\n  return x * {n};\n}\n",
    "typescript": "function sharedHelper(x: number): number {\n  return x * {n};\n}\n",
    "go": "package main\n\nfunc sharedHelper(x int) int {\n\treturn x * {n}\n}\n",
    "rust": "fn shared_helper(x: i32) -> i32 {\n    x * {n}\n}\n",
    "java": "class SharedHelper {\n  static int twice(int x) {\n    return x * {n};\n  }\n}\n",
    "c": "int shared_helper(int x) {\n  return x * {n};\n}\n",
    "cpp": "int shared_helper(int x) {\n  return x * {n};\n}\n",
}
USES = {
    "python": "value = shared_helper(1)\n", "javascript": "const value = sharedHelper(1);\n",
    "typescript": "const value = sharedHelper(1);\n",
    "go": "package main\n\nfunc main() {\n\tvalue := sharedHelper(1)\n}\n",
    "rust": "fn main() {\n    let value = shared_helper(1);\n}\n",
    "java": "class Main {\n  int value = SharedHelper.twice(1);\n}\n",
    "c": "int value(void) { return shared_helper(1); }\n",
    "cpp": "int value() { return shared_helper(1); }\n",
}
ROOTS = [pytest.param(language, ("one", "two"), 1, id=language) for language in sorted(USES)]
ROOTS += [
    pytest.param("python", ("outer", "outer/inner"), 1, id="nested-inner"),
    pytest.param("python", ("first folder", "second%20folder", "third"), 1, id="odd-names"),
    pytest.param("go", ("a", "b", "c"), 2, id="third-of-three"),
]


@pytest.mark.parametrize(("language_id", "names", "own"), ROOTS)
def test_5_context_comes_from_the_documents_own_folder(
    tmp_path: Path, language_id: str, names: tuple[str, ...], own: int
) -> None:
    extension = EXTENSIONS[language_id]
    roots = [tmp_path / name for name in names]
    for number, root in enumerate(roots):
        root.mkdir(parents=True, exist_ok=True)
        source = DEFINITIONS[language_id].replace("{n}", str(number + 2))
        (root / f"helpers_{number}.{extension}").write_text(source)
    store = DocumentStore()
    workspace = WorkspaceContext(Settings(), store,
                                 folders=WorkspaceFolders.of(*(str(r) for r in roots)))
    workspace.build_index()
    uri = path_to_uri(roots[own] / f"main.{extension}")
    text = USES[language_id]
    document = store.open(uri, language_id, 1, text)
    pieces = [p for p in workspace.collect(document, len(text) - 2) if p.kind == "definition"]
    assert pieces, "the own folder's definition is context"
    assert all(p.source.startswith(f"helpers_{own}.") for p in pieces), [p.source for p in pieces]


# ---- 6. answers that fit the text they land on ----------------------------------------------
FITS = [
    # (document text before the request, cursor offset, typed since, answer, the rest)
    ("x = \n", 4, "rx", "return 1", None),  # typed something else: dropped
    ("x = \n", 4, "re", "return 1", "turn 1"),
    ("x = \r\n", 4, "r", "return 1", "eturn 1"),
    ("😀 = \r", 5, "ab", "abc", "c"),
    ("s = '😀'\n", 8, "", "  # ok", "  # ok"),
    ("a\rb = \rc", 6, "1", "1 + 2", " + 2"),
    ("def f():\n    \n", 13, "retu", "return 0", "rn 0"),
    ("def f():\n    \n", 13, "return 0", "return 0", None),  # all typed
    ("é = \n", 4, "x", "xy", "y"),
    ("fn f() {\r\n    \r\n}", 14, "l", "let a = 1;", "et a = 1;"),
    ("x = 𝄞\n", 5, "", "+ 1", "+ 1"),
]


@pytest.mark.parametrize(("text", "offset", "typed", "answer", "rest"), FITS)
def test_6_an_answer_lands_after_what_was_typed(
    text: str, offset: int, typed: str, answer: str, rest: str | None
) -> None:
    store = DocumentStore()
    document = store.open("untitled:fit", "python", 1, text)
    asked_at = document.position_at(offset)
    before, after = document.lf_text[: document.lf_offset(offset)], document.lf_text[
        document.lf_offset(offset):]
    if typed:
        store.change("untitled:fit", 2, [(asked_at, asked_at, typed)])
    landing = fit_to_document(answer, before, after, asked_at, document)
    if rest is None:
        assert landing is None
        return
    assert landing is not None
    assert landing.text == rest
    landed_at = document.offset_at(landing.position)
    assert document.text[:landed_at].endswith(typed)
    assert not 0xDC00 <= ord(document.text[landed_at : landed_at + 1] or " ") <= 0xDFFF


# ---- 7. long lines and big files: maxFileBytes counts UTF-8 bytes ---------------------------
SIZES = [
    ("x" * 100, 100, True),
    ("x" * 101, 100, False),
    ("é" * 50, 100, True),  # 2 bytes each
    ("é" * 51, 100, False),
    ("中" * 33, 100, True),  # 3 bytes each: 99
    ("中" * 34, 100, False),
    ("😀" * 25, 100, True),  # 4 bytes each
    ("😀" * 26, 100, False),
    ("a\r\n" * 33, 100, True),  # 99 bytes
    ("a\r\n" * 34, 100, False),
    ("", 0, True),
]


@pytest.mark.parametrize(("text", "limit", "allowed"), SIZES)
def test_7_max_file_bytes_counts_bytes(text: str, limit: int, allowed: bool) -> None:
    settings = Settings.model_validate({"backend": "fake",
                                        "completion": {"maxFileBytes": limit}})
    store = DocumentStore()
    service = CompletionService(settings, FakeEngine(FakeSettings()), documents=store)
    document = store.open("file:///w/big.py", "python", 1, text)
    refused = service.refuse(document, Position(0, 0))
    assert (refused is None) == allowed, refused
    assert document.utf8_size == len(text.encode("utf-8"))


# ---- 8. settings that degrade gracefully: each invalid value reported once, alone ----------
INVALID = [
    ({"completion": {"maxTokens": -5}}, "completion.maxTokens"),
    ({"completion": {"maxFileBytes": -1}}, "completion.maxFileBytes"),
    ({"completion": {"multiline": "sometimes"}}, "completion.multiline"),
    ({"completion": {"temperature": "hot"}}, "completion.temperature"),
    ({"completion": {"suffixShare": 2}}, "completion.suffixShare"),
    ({"completion": {"disabledLanguages": "python"}}, "completion.disabledLanguages"),
    ({"context": {"budgetShare": -0.5}}, "context.budgetShare"),
    ({"context": {"layout": "sideways"}}, "context.layout"),
    ({"completion": {"deadlineMs": 5}}, "completion.deadlineMs"),
    ({"completion": {"promptTokens": 10}}, "completion.promptTokens"),
    ({"completion": {"enabled": "yes please"}}, "completion.enabled"),
]


@pytest.mark.parametrize(("raw", "key"), INVALID)
def test_8_an_invalid_value_falls_back_alone(raw: dict[str, object], key: str) -> None:
    section = next(iter(raw))
    payload = {section: {**raw[section], "maxDebounceMs": 123}} if section == "completion" \
        else {**raw, "completion": {"maxDebounceMs": 123}}
    settings, problems = parse_settings(payload)
    assert len(problems) == 1 and key in problems[0], problems
    assert settings.completion.max_debounce_ms == 123  # the valid value beside it stays
    default = Settings()
    field = key.split(".")[1]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in field)
    assert getattr(getattr(settings, section), snake) == getattr(getattr(default, section), snake)


def test_8_a_valid_template_name_and_an_unknown_one() -> None:
    settings, problems = parse_settings({"model": {"template": "nope"}})
    assert len(problems) == 1 and "model.template" in problems[0], problems
    assert settings.model.template == Settings().model.template


# A result computed by the whole path for a skipped document names why.
async def test_7_a_skipped_document_says_why() -> None:
    settings = Settings.model_validate({"backend": "fake", "completion": {"maxFileBytes": 3}})
    engine = FakeEngine(FakeSettings(response="x"))
    await engine.start()
    store = DocumentStore()
    service = CompletionService(settings, engine, documents=store)
    document = store.open("untitled:big", "python", 1, "中中")
    result = await service.complete(document, Position(0, 2), explicit=True)
    assert isinstance(result, Skip) and "maxFileBytes" in result.reason


def test_2_closers_keep_the_parse_of_every_language() -> None:
    """The held-out closer cases leave no parse error in the lines they write."""
    for param in CLOSERS:
        language_id, marked, _answer, line = param.values
        text = marked.replace(CURSOR, "")
        row = cursor_row(marked)
        lines = text.split("\n")
        lines[row] = str(line)
        assert parse_error_count(str(language_id), "\n".join(lines)) == 0, param.id
