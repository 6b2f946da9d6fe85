"""The prompt of a keystroke on a long line is the one a fresh server makes of the same text.

Each keystroke's preparation reads only a window of an enormous line and keeps what it worked
out for the rest (line starts, snippet windows, redacted pieces) across edits; whatever it
skips, the prompt and the cursor's analysis must be those of a server that opens the edited
text afresh: on lines of ASCII, with an emoji, with CJK, with CRLF and lone CR line breaks,
in every supported language, through typing, deleting, breaking the line and pasting away
from the cursor.
"""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position

# A budget of 256 tokens: a line of more than 8,192 characters is "enormous" to the prompt,
# and more than 20,000 keeps the document from having a syntax tree.
SETTINGS = {"backend": "fake", "completion": {"prompt_tokens": 256}}
LANGUAGES = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "rust": "rs",
             "java": "java", "c": "c", "cpp": "cpp"}
WIDE = {"ascii": "", "emoji": "'é😀', ", "cjk": "'漢字かな', "}


def _service() -> tuple[DocumentStore, CompletionService]:
    settings = Settings.model_validate(SETTINGS)
    store = DocumentStore()
    workspace = WorkspaceContext(settings, store)
    service = CompletionService(settings, FakeEngine(FakeSettings(response="x")),
                                documents=store, workspace=workspace)
    return store, service


def long_text(chars: int, wide: str, newline: str) -> str:
    """A function, a line of ``chars`` characters (``wide`` near its start and its middle, a
    secret-looking value in it), and lines after it."""
    items = [f"{n % 1000}, " for n in range(chars // 5)]
    items[len(items) // 2] += wide
    items[len(items) // 3] += "'AKIAIOSFODNN7EXAMPLE', "
    lines = ["def scale(values, factor):", "    total = 0", "    for v in values:",
             f"        total += v * factor  # {wide}", "",
             f"data = [{wide}" + "".join(items) + "]", "", "value = scale(data, 2)",
             "if value:", "    print(value)", ""]
    return newline.join(lines)


def _state(service: CompletionService, document: Document, position: Position) -> tuple:
    prompt, cursor = service.prepare(document, position)
    info = cursor.position
    return (prompt.text, cursor.multiline, info.in_comment, info.in_string, info.scopes,
            info.imports, info.line_prefix, info.line_suffix, info.line_above,
            info.block_indent, len(cursor.before), len(cursor.after))


def _edits(document: Document) -> list[tuple[Position, Position, str, Position]]:
    """(start, end, new text, cursor after) of a typing session on the long line (line 5)."""
    middle = document.lines.line_end(5) - document.lines.line_start(5)
    column = document.position_at(document.lines.line_start(5) + middle // 2).character
    steps = []
    for n in range(3):  # typing
        at = Position(5, column + n)
        steps.append((at, at, "ab"[n % 2], Position(5, column + n + 1)))
    at = Position(5, column + 3)
    steps.append((Position(5, column + 1), at, "", Position(5, column + 1)))  # deleting
    steps.append((at, at, "😀", Position(5, column + 3)))  # an emoji typed
    steps.append((Position(5, column + 1), Position(5, column + 1), "\n    x", Position(6, 5)))
    steps.append((Position(1, 4), Position(1, 9), "count", Position(6, 5)))  # far above
    steps.append((Position(6, 5), Position(6, 5), "漢", Position(6, 6)))
    steps.append((Position(5, column), Position(6, 4), "", Position(5, column + 1)))  # joined
    steps.append((Position(8, 0), Position(8, 0), "# 😀 note\n", Position(5, column + 1)))
    return steps


@pytest.mark.parametrize("wide", sorted(WIDE))
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("chars", [9_000, 24_000])
def test_each_keystroke_prompts_as_a_fresh_server_would(wide: str, newline: str,
                                                        chars: int) -> None:
    store, service = _service()
    uri = "file:///w/long.py"
    document = store.open(uri, "python", 1, long_text(chars, WIDE[wide], newline))
    service.prepare(document, Position(5, 10))
    for version, (start, end, text, cursor) in enumerate(_edits(document), start=2):
        store.change(uri, version, [(start, end, text)])
        fresh_store, fresh = _service()
        twin = fresh_store.open(uri, "python", 1, document.text)
        assert _state(service, document, cursor) == _state(fresh, twin, cursor), (version, text)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_prompts_as_a_fresh_server_would(language: str) -> None:
    store, service = _service()
    uri = f"file:///w/long.{LANGUAGES[language]}"
    document = store.open(uri, language, 1, long_text(24_000, WIDE["emoji"], "\n"))
    service.prepare(document, Position(5, 10))
    for version, (start, end, text, cursor) in enumerate(_edits(document), start=2):
        store.change(uri, version, [(start, end, text)])
        fresh_store, fresh = _service()
        twin = fresh_store.open(uri, language, 1, document.text)
        assert _state(service, document, cursor) == _state(fresh, twin, cursor), (version, text)
