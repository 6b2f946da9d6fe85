r"""Line breaks at the prompt and the answer: prompts read ``\n`` only, answers are written in
the document's own line ending (``\n``, ``\r\n`` or a lone ``\r``)."""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion, CompletionService
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.positions import (
    LineBreaksAsLf,
    Position,
    lf_offset,
    to_lf,
    with_line_ending,
)

ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}

# The cursor's file and a file it imports, open in another tab, in each language's words.
SOURCES = {
    "python": (
        "file:///w/app.py",
        "from helpers import compute_total\n\ndef main(items):\n    \n    return 0\n",
        Position(3, 4),
        "file:///w/helpers.py",
        "def compute_total(items):\n    total = 0\n    for item in items:\n"
        "        total += item\n    return total\n",
    ),
    "javascript": (
        "file:///w/app.js",
        "import { computeTotal } from './helpers';\n\nfunction main(items) {\n  \n}\n",
        Position(3, 2),
        "file:///w/helpers.js",
        "export function computeTotal(items) {\n  let total = 0;\n"
        "  for (const item of items) {\n    total += item;\n  }\n  return total;\n}\n",
    ),
    "go": (
        "file:///w/app.go",
        "package main\n\nfunc main() {\n\t\n}\n",
        Position(3, 1),
        "file:///w/helpers.go",
        "package main\n\nfunc computeTotal(items []int) int {\n\ttotal := 0\n"
        "\tfor _, item := range items {\n\t\ttotal += item\n\t}\n\treturn total\n}\n",
    ),
}


def test_conversions_golden() -> None:
    assert to_lf("a\r\nb\rc\nd\r") == "a\nb\nc\nd\n"
    assert to_lf("no breaks") == "no breaks"
    assert with_line_ending("a\r\nb\rc\n", "\r\n") == "a\r\nb\r\nc\r\n"
    assert with_line_ending("a\nb", "\r") == "a\rb"
    assert with_line_ending("a\r\nb", "\n") == "a\nb"
    text = "ab\r\ncd\ref"
    for offset, expected in [(0, 0), (2, 2), (3, 3), (4, 3), (6, 5), (7, 6), (9, 8)]:
        assert lf_offset(text, offset) == expected, offset
        assert to_lf(text[:offset]) == to_lf(text)[:expected] or text[offset - 1] == "\r"


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["a\r", "\nb"], "a\nb"),  # a CRLF split between chunks is one break
        (["a\r", "\n", "\nb"], "a\n\nb"),
        (["a\r", "b\r\r", "\n"], "a\nb\n\n"),
        (["a\n", "\nb\r\n"], "a\n\nb\n"),
    ],
)
def test_a_stream_reads_with_lf_breaks(chunks: list[str], expected: str) -> None:
    line_breaks = LineBreaksAsLf()
    assert "".join(line_breaks.feed(chunk) for chunk in chunks) == expected


def _prompt_of(language: str, ending: str) -> tuple[str, int]:
    uri, text, position, other_uri, other = SOURCES[language]
    settings = Settings(backend="fake")
    store = DocumentStore()
    workspace = WorkspaceContext(settings, store)
    service = CompletionService(settings, FakeEngine(), documents=store, workspace=workspace)
    store.open(other_uri, language, 1, with_line_ending(other, ending))
    document = store.open(uri, language, 1, with_line_ending(text, ending))
    prompt, _cursor = service.prepare(document, position)
    return prompt.text, len(prompt.pieces)


@pytest.mark.parametrize("language", sorted(SOURCES))
@pytest.mark.parametrize("ending", ["crlf", "cr"])
def test_a_file_and_its_lf_twin_give_the_same_prompt(language: str, ending: str) -> None:
    """The cursor's file and the context pieces of another open file, in CRLF or CR."""
    expected, pieces = _prompt_of(language, "\n")
    prompt, _ = _prompt_of(language, ENDINGS[ending])
    assert "\r" not in prompt
    assert prompt == expected
    if language != "go":
        assert pieces, "the other file should give context"


ANSWERS = [
    ("python", "def f(a, b):\n    \n", Position(1, 4),
     "total = a + b\n    return total", "total = a + b\n    return total"),
    ("javascript", "function f(a, b) {\n  \n}\n", Position(1, 2),
     "const total = a + b;\n  return total;", "const total = a + b;\n  return total;"),
    ("go", "func f(a, b int) int {\n\t\n}\n", Position(1, 1),
     "total := a + b\n\treturn total", "total := a + b\n\treturn total"),
]


async def _answer(language: str, text: str, position: Position, response: str) -> Completion:
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response=response, chunk_delay_ms=0))
    await engine.start()
    store = DocumentStore()
    workspace = WorkspaceContext(settings, store)
    service = CompletionService(settings, engine, documents=store, workspace=workspace)
    document = store.open(f"file:///w/a.{language}", language, 1, text)
    result = await service.complete(document, position, explicit=True)
    assert isinstance(result, Completion), result
    return result


@pytest.mark.parametrize(("language", "text", "position", "response", "expected"), ANSWERS)
@pytest.mark.parametrize("document_ending", ["lf", "crlf", "cr"])
@pytest.mark.parametrize("answer_ending", ["lf", "crlf", "cr"])
async def test_the_answer_takes_the_documents_line_ending(
    language: str, text: str, position: Position, response: str, expected: str,
    document_ending: str, answer_ending: str,
) -> None:
    """A model answer with CRLF in an LF file leaves no CR; an LF answer in a CRLF (or lone
    CR) file gets the file's breaks."""
    ending = ENDINGS[document_ending]
    result = await _answer(
        language,
        with_line_ending(text, ending),
        position,
        with_line_ending(response, ENDINGS[answer_ending]),
    )
    assert result.text == with_line_ending(expected, ending)
    assert result.position == position
