"""Big documents: sizes in UTF-8 bytes, the reason for no completion told once, and a line
index that follows each edit as a fresh one would."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import LineIndex, Position, utf16_to_index


async def test_max_file_bytes_counts_utf8_bytes_and_says_so_once() -> None:
    """A million CJK characters are 3 MB: over the default 2,000,000 bytes."""
    told: list[str] = []
    engine = FakeEngine(FakeSettings(response="x", chunk_delay_ms=0))
    await engine.start()
    store = DocumentStore()
    service = CompletionService(Settings(backend="fake"), engine, documents=store,
                                notify=told.append)
    text = "# " + "漢" * 1_000_000 + "\nx = "
    document = store.open("file:///w/big.py", "python", 1, text)
    assert document.utf8_size == len(text.encode("utf-8"))
    for _ in range(3):
        result = await service.complete(document, Position(1, 4), explicit=True)
        assert isinstance(result, Skip)
        assert "maxFileBytes" in result.reason
    assert len(told) == 1 and "maxFileBytes" in told[0]
    # The size follows edits.
    store.change(document.uri, 2, [(Position(0, 0), Position(0, 3), "ü")])
    assert document.utf8_size == len(document.text.encode("utf-8"))


def test_max_file_bytes_refuses_negative_values() -> None:
    parsed, problems = parse_settings({"completion": {"maxFileBytes": -1}})
    assert problems
    assert parsed.completion.max_file_bytes == 2_000_000


def test_columns_inside_surrogate_pairs_round_down() -> None:
    line = "a😀b😀" + "c" * 10
    assert [utf16_to_index(line, col) for col in range(8)] == [0, 1, 1, 2, 3, 3, 4, 5]
    assert utf16_to_index(line, 100) == len(line)
    lone = "x\ud83dy"  # a lone surrogate is one unit
    assert [utf16_to_index(lone, col) for col in range(4)] == [0, 1, 2, 3]


_PIECES = st.lists(st.sampled_from(["a", "\n", "\r", "\r\n", "é", "😀", " "]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(text=_PIECES.map("".join), edits=st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 6), _PIECES.map("".join)), max_size=6))
def test_an_edited_line_index_is_a_fresh_one(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    index = LineIndex(text)
    for start, length, inserted in edits:
        start = min(start, len(text))
        end = min(start + length, len(text))
        text = text[:start] + inserted + text[end:]
        index = index.edited(start, end, inserted, text)
        fresh = LineIndex(text)
        assert index.line_count == fresh.line_count
        assert [index.line_start(n) for n in range(index.line_count)] == [
            fresh.line_start(n) for n in range(fresh.line_count)
        ]
        assert index.texts() == fresh.texts()


def test_a_line_too_long_for_a_tree_drops_it_and_a_short_one_brings_it_back() -> None:
    from loomline.context.syntax import MAX_LINE_CHARS, SyntaxTrees

    store = DocumentStore()
    trees = SyntaxTrees()
    store.subscribe(trees)
    document = store.open("file:///w/a.py", "python", 1, "x = 1\ny = 2\n")
    assert document.uri in trees
    long_value = "1" * (MAX_LINE_CHARS + 10)
    store.change(document.uri, 2, [(Position(1, 4), Position(1, 5), long_value)])
    assert document.uri not in trees
    store.change(document.uri, 3, [(Position(1, 8), Position(1, 8), "2")])  # in the long line
    assert document.uri not in trees
    store.change(document.uri, 4, [(Position(0, 4), Position(0, 5), "7")])  # elsewhere
    assert document.uri not in trees
    store.change(document.uri, 5, [(Position(1, 4), Position(1, 5 + len(long_value)), "3")])
    assert document.uri in trees
    assert trees.tree_for(document) is not None


def test_the_prompt_of_an_enormous_line_is_made_of_its_window() -> None:
    """The window around a cursor in a line far longer than the budget gives the same prompt
    as the whole text (and is what the secret redaction reads)."""
    from loomline.completion.prompt import build_prompt, enormous_line_window
    from loomline.completion.templates import template_for
    from loomline.completion.tokens import EstimatedTokens

    template = template_for("Qwen/Qwen2.5-Coder-0.5B")
    head = "import os\n" * 50
    line = "data = [" + "".join(f"{n % 977}, " for n in range(60_000))
    before, after = head + line[:200_000], line[200_000:] + "]\nprint(data)\n"
    for share in (0.25, 0.5):
        window = enormous_line_window(before, after, 1024, share)
        assert len(window[0]) < 4000 and len(window[1]) <= 3072 * share + 256
        whole = build_prompt(template, before, after, counter=EstimatedTokens(), budget=1024,
                             suffix_share=share)
        windowed = build_prompt(template, *window, counter=EstimatedTokens(), budget=1024,
                                suffix_share=share)
        assert windowed.text == whole.text
    # Ordinary text is kept whole.
    assert enormous_line_window(head, "x = 1\n", 1024) == (head, "x = 1\n")


_LINES = {
    "python": "value_{n} = {n}  # x", "javascript": "const v{n} = {n};",
    "typescript": "const v{n}: number = {n};", "go": "var v{n} = {n}",
    "rust": "static V{n}: i32 = {n};", "java": "class C{n} {{}}", "c": "int v{n} = {n};",
    "cpp": "int v{n} = {n};",
}


class _CountingSearch:
    """Stands in for the long-line pattern: counts its whole-text searches."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.calls = pattern, 0

    def search(self, text: str) -> re.Match[str] | None:
        self.calls += 1
        return self.pattern.search(text)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("language", sorted(_LINES))
def test_a_keystroke_in_a_document_too_big_for_a_tree_never_scans_its_text(
    monkeypatch: pytest.MonkeyPatch, language: str, ending: str
) -> None:
    """Over the tree's size limit a keystroke looked for long lines in the whole text (150 ms
    for 2.5 MB at each one). Now it looks at nothing until the document is small again."""
    from loomline.context import syntax

    counting = _CountingSearch(syntax._LONG_LINE)
    monkeypatch.setattr(syntax, "_LONG_LINE", counting)
    store = DocumentStore()
    trees = syntax.SyntaxTrees(max_bytes=4_000)
    store.subscribe(trees)
    lines = 400
    text = ending.join(_LINES[language].format(n=n) for n in range(lines)) + ending
    assert len(text.encode()) > trees.max_bytes
    document = store.open(f"file:///w/big.{language}", language, 1, text)
    assert document.uri not in trees
    counting.calls = 0
    for column in range(5):
        store.change(document.uri, column + 2,
                     [(Position(lines, column), Position(lines, column), "a")])
    assert counting.calls == 0
    assert document.uri not in trees
    # Cut under the limit: the tree comes back (one look at the whole text then).
    store.change(document.uri, 20, [(Position(100, 0), Position(lines, 0), "")])
    assert document.uri in trees
    assert counting.calls == 1


def test_a_keystroke_in_a_25_mb_file_never_scans_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tester's case: a flat 2.5 MB Python file at the default limit."""
    from loomline.context import syntax

    counting = _CountingSearch(syntax._LONG_LINE)
    monkeypatch.setattr(syntax, "_LONG_LINE", counting)
    store = DocumentStore()
    store.subscribe(syntax.SyntaxTrees())
    lines = 100_000
    text = "".join(f"value_{n} = {n}  # x\n" for n in range(lines))
    assert len(text) > syntax.DEFAULT_MAX_BYTES
    document = store.open("file:///w/big.py", "python", 1, text)
    counting.calls = 0
    for column in range(3):
        store.change(document.uri, column + 2,
                     [(Position(lines, column), Position(lines, column), "a")])
    assert counting.calls == 0
