"""The editable window of a next-edit request: the lines the model may rewrite, and the
lines around them it only reads. Pure functions over ``\\n`` text."""

from __future__ import annotations

from dataclasses import dataclass

from loomline.context.edit_history import Hunk


@dataclass(frozen=True, slots=True)
class EditWindow:
    """Lines ``start_line`` .. ``end_line`` (exclusive, 0-based) of a document, which the
    model rewrites; ``before`` / ``after``: the context lines right above and below;
    the cursor at ``cursor_line`` (of the document) and ``cursor_column`` (code points)."""

    start_line: int
    lines: tuple[str, ...]
    before: tuple[str, ...]
    after: tuple[str, ...]
    cursor_line: int
    cursor_column: int
    # The window reaches the end of the document (its last line is the document's last).
    at_document_end: bool = False

    @property
    def end_line(self) -> int:
        return self.start_line + len(self.lines)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def text_with_cursor(self, marker: str) -> str:
        """The window's text with ``marker`` at the cursor (when the cursor is inside)."""
        index = self.cursor_line - self.start_line
        if not 0 <= index < len(self.lines) or not marker:
            return self.text
        line = self.lines[index]
        column = min(self.cursor_column, len(line))
        marked = (*self.lines[:index], line[:column] + marker + line[column:],
                  *self.lines[index + 1:])
        return "\n".join(marked)

    def before_edit(self, hunk: Hunk | None) -> tuple[str, ...]:
        """The window's lines as they were before ``hunk`` (the user's last edit), when the
        hunk lies inside the window; else the lines as they are."""
        if hunk is None:
            return self.lines
        first = hunk.start_line - self.start_line
        last = first + len(hunk.new_lines)
        if first < 0 or last > len(self.lines) or self.lines[first:last] != hunk.new_lines:
            return self.lines
        return (*self.lines[:first], *hunk.old_lines, *self.lines[last:])


def window_around(
    text: str,
    line: int,
    column: int,
    window_lines: int,
    context_before: int,
    context_after: int,
) -> EditWindow:
    """The window of ``window_lines`` lines (at least 1) holding the cursor at ``line`` /
    ``column`` of ``text`` (``\\n`` line breaks): a third above the cursor and the rest below
    (the next edit is more often below the last one), moved to stay inside the text, with up
    to ``context_before`` / ``context_after`` lines of context around it."""
    lines = text.split("\n")
    line = min(max(line, 0), len(lines) - 1)
    size = max(1, min(window_lines, len(lines)))
    start = max(0, line - size // 3)
    end = min(len(lines), start + size)
    start = max(0, end - size)
    return EditWindow(
        start_line=start,
        lines=tuple(lines[start:end]),
        before=tuple(lines[max(0, start - context_before):start]),
        after=tuple(lines[end:end + context_after]),
        cursor_line=line,
        cursor_column=max(0, column),
        at_document_end=end == len(lines),
    )
