"""The next-edit prompt for a cursor: window, recent edits and format, under the budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from loomline.completion.instruct_prompt import fence_tag
from loomline.completion.next_edit.formats import (
    EditEvent,
    NextEditFormat,
    format_for,
    render_prompt,
)
from loomline.completion.next_edit.history_piece import recent_edits
from loomline.completion.next_edit.renames import renamed_identifier
from loomline.completion.next_edit.window import EditWindow, window_around
from loomline.completion.settings import Settings
from loomline.completion.tokens import TokenCounter
from loomline.context.documents import Document
from loomline.context.edit_history import EditHistory, Hunk
from loomline.context.positions import Position
from loomline.context.redaction import redact_text

MAX_EDITS = 6  # recent edits shown, of this file and others


@dataclass(frozen=True, slots=True)
class NextEditPrompt:
    """What a next-edit request sends: ``text`` in ``format``, for ``window``; ``last_edit``:
    the user's latest hunk in the document (what a suggestion must not undo)."""

    text: str
    format: NextEditFormat
    window: EditWindow
    edits: tuple[EditEvent, ...]
    last_edit: Hunk | None
    tokens: int
    # Document lines of the window whose text had a secret redacted: the model saw other
    # text there, so no suggestion may touch them.
    redacted_lines: frozenset[int] = frozenset()


def empty_prompt(settings: Settings) -> NextEditPrompt:
    """The prompt of a document nothing of which may be sent: no text at all."""
    fmt = format_for(settings.model.id, settings.next_edit.format)
    return NextEditPrompt("", fmt, EditWindow(0, (), (), (), 0, 0), (), None, 0)


def _redacted(window: EditWindow, path: str) -> EditWindow:
    """The window with secrets redacted from its context and its lines."""
    def clean(lines: tuple[str, ...]) -> tuple[str, ...]:
        text = redact_text("\n".join(lines), path)
        return tuple(text.split("\n")) if lines else ()

    return replace(window, before=clean(window.before), after=clean(window.after),
                   lines=clean(window.lines))


def build_next_edit_prompt(
    document: Document,
    position: Position,
    *,
    settings: Settings,
    history: EditHistory,
    allows: Callable[[str], bool],
    relative: Callable[[str], str],
    counter: TokenCounter,
) -> NextEditPrompt:
    """The prompt for a next edit at ``position`` of ``document``: the format ``model.id``
    (or ``nextEdit.format``) picks, the window of ``nextEdit.windowLines`` lines (or the
    format's own size) and the most recent edits ``allows``, fitted into
    ``completion.promptTokens`` by dropping the oldest edits and the farthest context lines.
    """
    fmt = format_for(settings.model.id, settings.next_edit.format)
    offset = document.offset_at(position)
    line = document.lines.line_of(offset)
    column = offset - document.lines.line_start(line)
    size = fmt.window_lines or settings.next_edit.window_lines
    window = window_around(document.lf_text, line, column, size,
                           fmt.context_lines_before, fmt.context_lines_after)
    path = relative(document.uri)
    last_edit = history.latest(document.uri)
    shown = _redacted(window, document.path)
    if len(shown.lines) == len(window.lines):
        redacted = frozenset(window.start_line + i for i, (a, b)
                             in enumerate(zip(window.lines, shown.lines, strict=True)) if a != b)
    else:  # a redacted key block took lines away: no line of the window can be trusted
        redacted = frozenset(range(window.start_line, window.end_line))
    # The model sees, and its answer is diffed against, the redacted lines.
    window = shown
    edits = recent_edits(history, allows, relative, MAX_EDITS)
    renamed = _renamed(last_edit, document.path)
    budget = settings.completion.prompt_tokens
    while True:
        text = render_prompt(fmt, window, edits, path=path,
                             fence=fence_tag(document.language_id),
                             original_window=window.before_edit(last_edit), renamed=renamed)
        tokens = counter.count(text)
        if tokens <= budget or not (edits[:-1] or window.before or window.after):
            break
        window, edits = _shrunk(window, edits)
    return NextEditPrompt(text, fmt, window, tuple(edits), last_edit, tokens, redacted)


def _renamed(hunk: Hunk | None, path: str) -> tuple[str, str] | None:
    """The names the last edit swapped, when it renamed one identifier (redacted)."""
    found = renamed_identifier(hunk) if hunk is not None else None
    if found is None:
        return None
    return redact_text(found[0], path), redact_text(found[1], path)


def _shrunk(window: EditWindow, edits: list[EditEvent]) -> tuple[EditWindow, list[EditEvent]]:
    """One step smaller: the oldest edit but the last goes, and a quarter of the context."""
    if len(edits) > 1:
        edits = edits[1:]
    before, after = window.before, window.after
    window = replace(window, before=before[len(before) // 4 + 1:] if before else (),
                     after=after[: len(after) - len(after) // 4 - 1] if after else ())
    return window, edits
