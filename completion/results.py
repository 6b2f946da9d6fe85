"""What a completion request ends with: a completion, or a reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from loomline.completion.engines.base import GenerationStats
from loomline.context.positions import Position


@dataclass(slots=True)
class Completion:
    id: str
    text: str
    position: Position
    multiline: bool
    stats: GenerationStats
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Skip:
    """No completion, and why (for logs and the status line)."""

    reason: str
