"""What a completion request ends with: a completion, or a reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from loomline.completion.engines.base import GenerationStats
from loomline.context.positions import Position


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
