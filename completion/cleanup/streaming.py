"""The clean-up of an answer while it streams, at a cost per chunk that does not grow with it.

``clean_partial`` reads the whole answer so far; running it on every chunk makes a long answer
quadratic (a 20 MB one stalled the server). ``StreamingCleanup`` runs it on every chunk while
the answer is short (every answer a user reads: the output is exactly the plain one), and once
it is long only when the text has grown by a share of its length since the last run, when a
stop string arrives, or when a single-line answer's line ends: the work per character stays
constant (about ``REGROWTH`` + 1 characters scanned per character received). Lines past
``MAX_CONSIDERED_LINES`` end the answer (it can only have gone on with blank lines).
"""

from __future__ import annotations

from collections.abc import Callable

from loomline.completion.cleanup import clean, clean_partial
from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.block_end import MAX_LINES
from loomline.completion.cursor import Cursor

# Answers up to this many characters are cleaned on every chunk (40 lines of ~100 columns).
SMALL_ANSWER_CHARS = 4096
# Past that, clean again once the answer has grown by 1/REGROWTH of what was cleaned last.
REGROWTH = 8
# Lines read at most: an answer ends after MAX_LINES lines of code, so past this many only
# blank lines came (the filters walk lines in Python: a million of them cost seconds).
MAX_CONSIDERED_LINES = 4 * MAX_LINES

PartialCleaner = Callable[[str, Cursor, tuple[str, ...]], Answer]


class StreamingCleanup:
    """The raw text of one streamed answer and its cleaned form.

    ``feed(chunk)`` returns the cleaned answer so far when it was cleaned again (its
    ``finished`` says the stream can stop), or None when nothing new is worth showing yet.
    ``chars_cleaned`` counts the characters handed to the cleaner: the work done.
    """

    def __init__(
        self,
        cursor: Cursor,
        stops: tuple[str, ...] = (),
        *,
        cleaner: PartialCleaner = clean_partial,
    ) -> None:
        self.cursor = cursor
        self.stops = stops
        self._cleaner = cleaner
        self._parts: list[str] = []
        self._raw = ""  # the joined parts, when joined
        self.length = 0
        self._cleaned_at = 0  # ``length`` when last cleaned
        self._stop_reach = max((len(s) for s in stops if s), default=0) - 1
        self._tail = ""  # the last characters, where a stop string may begin
        self._stopped = False
        self._newlines = 0
        self._end: int | None = None  # where the answer was cut for too many lines
        self.chars_cleaned = 0

    @property
    def raw(self) -> str:
        """What the engine has sent so far (up to the line cap)."""
        if self._parts:
            self._raw = "".join([self._raw, *self._parts])[: self._end]
            self._parts.clear()
        return self._raw

    def feed(self, chunk: str) -> Answer | None:
        """Add ``chunk``; the cleaned answer if it was worth cleaning again, else None."""
        if not chunk or self._end is not None:
            return None
        self._parts.append(chunk)
        self.length += len(chunk)
        if self._too_many_lines(chunk):
            raw = self.raw
            self.chars_cleaned += len(raw)
            return self._cleaner(raw, self.cursor, self.stops).cut_here()
        if not self._due(chunk):
            return None
        raw = self.raw
        self._cleaned_at = self.length
        self.chars_cleaned += len(raw)
        return self._cleaner(raw, self.cursor, self.stops)

    def _too_many_lines(self, chunk: str) -> bool:
        """Whether ``chunk`` starts line ``MAX_CONSIDERED_LINES``; then the answer ends
        before it (``_end``)."""
        newlines = chunk.count("\n")
        if self._newlines + newlines < MAX_CONSIDERED_LINES:
            self._newlines += newlines
            return False
        at = -1
        for _ in range(MAX_CONSIDERED_LINES - self._newlines):
            at = chunk.index("\n", at + 1)
        self._end = self.length - len(chunk) + at
        return True

    def _due(self, chunk: str) -> bool:
        if self._reaches_stop(chunk) or self.length <= SMALL_ANSWER_CHARS:
            return True
        if not self.cursor.multiline and "\n" in chunk:
            return True  # the line ended: a single-line answer is complete
        return self.length - self._cleaned_at >= self._cleaned_at // REGROWTH

    def _reaches_stop(self, chunk: str) -> bool:
        """Whether a stop string ends in ``chunk`` (it may begin in the chunks before)."""
        if self._stop_reach < 0 or self._stopped:
            return self._stopped
        window = self._tail + chunk
        self._stopped = any(s and s in window for s in self.stops)
        self._tail = window[-self._stop_reach :] if self._stop_reach else ""
        return self._stopped

    def final(self, *, whole_lines: bool = False, limit: int | None = None) -> str:
        """What to insert for the answer as it stands (the model has stopped, or it was cut
        short). ``whole_lines``: drop an unfinished last line (for a single-line request that
        is the whole answer: half a line, e.g. ``pow(radius,``, is worse than none);
        ``limit``: read no more than this many characters."""
        raw = self.raw if limit is None else self.raw[:limit]
        if whole_lines:
            raw = raw[: raw.rfind("\n") + 1]
        return clean(raw, self.cursor, self.stops)
