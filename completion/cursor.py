"""The cursor of one request: what the text and its syntax say about the position, decided once.

``cursor_at`` builds a :class:`Cursor` from the document's text, the offset and (when there is
a syntax tree) the context engine's analysis; without one, the analysis falls back to text
heuristics. Prompt building, the wait for a pause and the clean-up of the answer all read this
one object, so the multi-line decision, the indent unit and the lines around the cursor are
the same for each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from loomline.completion.settings import Multiline
from loomline.context.analysis import PositionInfo, analyze_position

# How far after the cursor the clean-up looks for the next line of code.
_NEXT_LINE_WINDOW = 2_000


@dataclass(frozen=True, slots=True, eq=False)
class Cursor:
    """A position in a document, with the text on either side as it was when asked.

    ``before`` and ``after`` are the whole text before and after the cursor (code points),
    cut from the text when first read: the prompt reads only the ends of them next to the
    cursor (``before_tail``, ``after_head``), so a keystroke on an enormous line copies no
    whole side of it. ``position`` is the analysis (comment/string, scopes, block, indent
    unit, line prefix); ``multiline`` is this request's decision: a block, or the rest of the
    line.
    """

    language_id: str | None
    text: str  # the text the cursor stands in (\n line breaks), as it was when asked
    offset: int  # where ``before`` ends in it
    position: PositionInfo
    multiline: bool
    # The completion.multiline setting the decision came from ("never": the user's own word,
    # so no single-line answer may go on to later lines).
    mode: Multiline = "auto"
    # The text that was after the cursor in the document and that this view stands without
    # (``replacing``): the closers the answer replaces, for the parse checks, which count
    # the document's own errors with them in place.
    replaced: str = ""
    # ``after`` is ``lead`` followed by the text from ``resume`` on (``offset`` unless the
    # view skips closers the answer replaces, ``replacing``, or puts a line break after the
    # cursor, ``with_after``).
    lead: str = ""
    resume: int = -1
    _cut: list[str] = field(default_factory=list, repr=False)  # [before, after] once cut

    @property
    def before(self) -> str:
        return self._sides()[0]

    @property
    def after(self) -> str:
        return self._sides()[1]

    def _sides(self) -> list[str]:
        if not self._cut:
            resume = self.offset if self.resume < 0 else self.resume
            self._cut.extend((self.text[: self.offset], self.lead + self.text[resume:]))
        return self._cut

    def before_tail(self, chars: int) -> str:
        """The last ``chars`` code points of ``before`` (all of it when shorter)."""
        return self.text[max(0, self.offset - chars) : self.offset]

    def after_head(self, chars: int) -> str:
        """The first ``chars`` code points of ``after`` (all of it when shorter)."""
        if chars <= len(self.lead):
            return self.lead[:chars]
        resume = self.offset if self.resume < 0 else self.resume
        return self.lead + self.text[resume : resume + chars - len(self.lead)]

    def with_after(self, lead: str, skip: int = 0, **changes: Any) -> Cursor:
        """This cursor with ``lead`` put after it and the first ``skip`` code points of its
        ``after`` left out (other fields as ``changes`` say)."""
        resume = self.offset if self.resume < 0 else self.resume
        if skip <= len(self.lead):
            kept_lead, resume_at = self.lead[skip:], resume
        else:
            kept_lead, resume_at = "", resume + skip - len(self.lead)
        return replace(self, lead=lead + kept_lead, resume=resume_at, _cut=[], **changes)

    @property
    def line_prefix(self) -> str:
        """The cursor's line before the cursor."""
        return self.position.line_prefix

    @property
    def line_suffix(self) -> str:
        """The cursor's line after the cursor (without its line break)."""
        return self.position.line_suffix

    @property
    def line_above(self) -> str:
        """The nearest non-blank line above the cursor's line (indentation included)."""
        return self.position.line_above

    @property
    def indent_unit(self) -> str:
        """The file's indentation step: a tab or a run of spaces."""
        return self.position.indent_unit

    @property
    def in_comment(self) -> bool:
        return self.position.in_comment

    @property
    def in_string(self) -> bool:
        return self.position.in_string

    def replacing(self, count: int) -> Cursor:
        """This cursor as it is once the answer replaces the first ``count`` code points after
        it (closers the editor typed that the answer writes itself); ``count`` stays within
        the cursor's line."""
        count = max(0, min(count, len(self.line_suffix)))
        if not count:
            return self
        position = replace(self.position, line_suffix=self.line_suffix[count:])
        return self.with_after("", count, position=position,
                               replaced=self.replaced + self.after_head(count))

    def next_code_line(self) -> str:
        """The first non-blank line after the cursor's line (as written, indentation included)."""
        window = self.after_head(_NEXT_LINE_WINDOW)
        return next((line for line in window.split("\n")[1:] if line.strip()), "")


def cursor_at(
    text: str,
    offset: int,
    language_id: str | None,
    analysis: PositionInfo | None = None,
    mode: Multiline = "auto",
    indent_unit: str | None = None,
) -> Cursor:
    """The cursor at code-point ``offset`` of ``text``.

    ``analysis``: the context engine's analysis of this very text and offset (from a syntax
    tree), if there is one; else the text heuristics decide. ``mode`` is the
    ``completion.multiline`` setting: "always" or "never" overrule the analysis.
    ``indent_unit``: the document's indentation step, if its store knows it (used when the
    analysis is made here; else judged from the lines around the cursor).
    """
    offset = min(max(offset, 0), len(text))
    if analysis is None:
        analysis = analyze_position(language_id, None, text, offset, indent_unit)
    multiline = analysis.multiline if mode == "auto" else mode == "always"
    return Cursor(language_id, text, offset, analysis, multiline, mode)


def skip_reason(
    cursor: Cursor, complete_in_comments: bool, complete_in_strings: bool
) -> str | None:
    """Why not to complete at ``cursor`` (inside a comment or a string), or None."""
    if cursor.in_comment and not complete_in_comments:
        return "the cursor is in a comment (completion.completeInComments is off)"
    if cursor.in_string and not complete_in_strings:
        return "the cursor is in a string (completion.completeInStrings is off)"
    return None
