"""What a completion request ends with: a completion, or a reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from loomline.completion.engines.base import GenerationStats
from loomline.context.documents import Document
from loomline.context.positions import Position, end_position, with_line_ending


@dataclass(slots=True)
class Completion:
    """``text`` replaces the document from ``position`` to ``end``: the closers the editor
    typed after the cursor that the text writes itself (``end`` None: nothing, an insert)."""

    id: str
    text: str
    position: Position
    multiline: bool
    stats: GenerationStats
    timings_ms: dict[str, float] = field(default_factory=dict)
    end: Position | None = None

    @property
    def range_end(self) -> Position:
        """Where the replaced text ends (``position`` itself when nothing is replaced)."""
        return self.end or self.position


@dataclass(slots=True)
class Skip:
    """No completion, and why (for logs and the status line)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Landing:
    """Where an answer lands in the document's current text: ``text`` (in the document's
    line ending) replaces ``position`` to ``end`` (None: an insert)."""

    text: str
    position: Position
    end: Position | None


def fit_to_document(
    answer: str,
    before: str,
    after: str,
    asked_at: Position,
    document: Document,
    replaced: str = "",
) -> Landing | None:
    r"""An answer made for the text ``before + after`` (cursor between them, at ``asked_at``;
    line breaks as ``\n``) as it lands on the document's current text: the rest of the answer
    after what the user typed at the cursor since, at the cursor after that, with the
    document's own line ending. ``replaced``: the start of ``after`` (on the cursor's line)
    that the answer writes over (closers the editor typed). None when the text changed
    otherwise, or the user typed all of it.

    Checked when the answer is returned: the model took its time, and the editor shows the
    answer where it says, whatever was typed meanwhile.
    """
    now = document.lf_text
    end = len(now) - len(after)
    if end < len(before) or not now.startswith(before) or not now.endswith(after):
        return None
    typed = now[len(before) : end]
    if not answer.startswith(typed):
        return None
    rest = answer[len(typed) :]
    if not rest.strip():
        return None
    position = end_position(asked_at, typed)
    return Landing(
        with_line_ending(rest, document.line_ending),
        position,
        end_position(position, replaced) if replaced else None,
    )
