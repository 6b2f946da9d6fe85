"""Where the model's text stops being the answer: a stop string, a Markdown fence."""

from __future__ import annotations

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cursor import Cursor


def cut_at_stops(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` up to the first of ``stops`` (empty ones ignored), and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def cut_at_fence(answer: Answer, cursor: Cursor) -> Answer:
    """An instruct model may fall into chat mode and open a Markdown fence: code ends there."""
    lines = answer.text.split("\n")
    fence = next((i for i, line in enumerate(lines) if line.lstrip().startswith("```")), None)
    return answer if fence is None else answer.cut("\n".join(lines[:fence]))


class StopHoldback:
    """Stop strings cut from a stream of chunks: text that may be the start of a stop string
    is held back until the next chunk tells."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """The text that is safe to show now, and whether a stop string was reached."""
        if not self.stops:
            return text, False
        buffer = self.held + text
        cut, found = cut_at_stops(buffer, self.stops)
        if found:
            self.held = ""
            return cut, True
        keep = max((k for s in self.stops for k in range(1, len(s))
                    if buffer.endswith(s[:k])), default=0)
        self.held = buffer[len(buffer) - keep:] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        """What is still held back once the stream has ended."""
        rest, self.held = self.held, ""
        return rest
