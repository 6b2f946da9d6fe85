"""The answer as the clean-up sees it while the model writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    """Cleaned text so far; ``finished``: a cut was made that more tokens cannot undo (or the
    model has stopped), so the stream can stop."""

    text: str
    finished: bool

    def cut(self, text: str) -> Answer:
        """This answer ended early with ``text``."""
        return Answer(text, True)

    def cut_here(self) -> Answer:
        """This answer ended here: nothing more will be read."""
        return Answer(self.text, True)

    def with_text(self, text: str) -> Answer:
        return Answer(text, self.finished)
