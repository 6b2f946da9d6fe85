"""From the model's rewritten window to one edit of the document, or a reason for none.

Pure functions over ``\\n`` text: the answer is diffed against the window (``difflib``), so
nothing outside the window can change; a suggestion that changes nothing (or only trailing
whitespace), undoes the user's last edit, deletes most of the window or breaks a parse that
held is dropped. ``reproduces_window_end`` tells a stream when the model has written the
window's last lines unchanged, so it can stop there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from loomline.completion.next_edit.answer_fit import with_unmentioned_head
from loomline.completion.next_edit.window import EditWindow
from loomline.context.edit_history import Hunk
from loomline.context.parse_errors import parse_error_count

# A suggestion that deletes more than this share of the window is a model gone astray.
MAX_DELETED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class SuggestedEdit:
    """Replace the text from ``start`` to ``end`` (``(line, column)``, 0-based, columns in
    code points of the ``\\n`` text) with ``text``."""

    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    window_lines: tuple[str, ...]  # the whole window as the suggestion leaves it

    def applied_to(self, text: str) -> str:
        """``text`` (``\\n`` line breaks) with this edit made."""
        lines = text.split("\n")
        start = sum(len(line) + 1 for line in lines[: self.start[0]]) + self.start[1]
        end = sum(len(line) + 1 for line in lines[: self.end[0]]) + self.end[1]
        return text[:start] + self.text + text[end:]


def _point(text: str, offset: int, first_line: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return first_line + text.count("\n", 0, offset), offset - line_start


def window_edit(window: EditWindow, answer: Sequence[str]) -> SuggestedEdit | None:
    """The one edit that turns the window into ``answer`` (its lines), trimmed to the
    characters that differ; None when they are the same."""
    ops = SequenceMatcher(None, window.lines, answer, autojunk=False).get_opcodes()
    changed = [op for op in ops if op[0] != "equal"]
    if not changed:
        return None
    old, new = window.text, "\n".join(answer)
    # The one replacement between the common start and the common end of the two texts
    # (difflib found that they differ; this finds the tightest range covering it all).
    old_start, old_end = _differing_span(new, old)
    new_start, new_end = _differing_span(old, new)
    return SuggestedEdit(
        start=_point(old, old_start, window.start_line),
        end=_point(old, old_end, window.start_line),
        text=new[new_start:new_end],
        window_lines=tuple(answer),
    )


def _mapped_range(
    ops: Sequence[tuple[str, int, int, int, int]], first: int, last: int
) -> tuple[int, int]:
    """The answer's lines that stand where the window's lines ``first`` .. ``last`` (at
    least one line) stood, with any lines the answer inserts right before or after them."""
    start, end = 0, ops[-1][4] if ops else 0
    for tag, i1, i2, j1, _j2 in ops:
        if i1 <= first < i2:
            start = j1 + (first - i1) if tag == "equal" else j1
            break
    for tag, i1, i2, j1, j2 in ops:
        if i1 < last <= i2:
            end = j1 + (last - i1) if tag == "equal" else j2
    for tag, i1, _i2, j1, j2 in ops:
        if tag == "insert" and i1 == first:
            start = min(start, j1)
        if tag == "insert" and i1 == last:
            end = max(end, j2)
    return start, end


def undoes(window: EditWindow, answer: Sequence[str], hunk: Hunk | None) -> bool:
    """Whether ``answer`` takes the user's last edit ``hunk`` back, wholly or in part: the
    answer's version of the hunk's lines is closer to what the user replaced than to what
    they wrote."""
    if hunk is None:
        return False
    first = hunk.start_line - window.start_line
    last = first + len(hunk.new_lines)
    if first < 0 or last > len(window.lines) or window.lines[first:last] != hunk.new_lines:
        return False
    ops = SequenceMatcher(None, window.lines, answer, autojunk=False).get_opcodes()
    start, end = _mapped_range(ops, first, last)
    theirs = "\n".join(answer[start:end])
    if theirs == hunk.new_text:
        return False
    if _rewrites_typed_text(hunk.old_text, hunk.new_text, theirs):
        return True
    to_before = SequenceMatcher(None, theirs, hunk.old_text, autojunk=False).ratio()
    to_now = SequenceMatcher(None, theirs, hunk.new_text, autojunk=False).ratio()
    return to_before > to_now


def _differing_span(a: str, b: str) -> tuple[int, int]:
    """The span of ``b`` (start, end offsets) between its common start and end with ``a``."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, len(b) - suffix


def _rewrites_typed_text(old: str, new: str, theirs: str) -> bool:
    """Whether ``theirs`` changes any of the text the user just typed (``new``'s span that
    differs from ``old``): what they just wrote is theirs, even if the model would write
    it otherwise (a suggestion at its edge, continuing it, is fine)."""
    typed_start, typed_end = _differing_span(old, new)
    if typed_start == typed_end:
        return False  # a pure deletion: the likeness check below judges re-insertions
    changed_start, changed_end = _differing_span(theirs, new)
    if changed_start == changed_end:  # theirs only inserts, at changed_start
        return typed_start < changed_start < typed_end
    return changed_start < typed_end and changed_end > typed_start


def deleted_share(window: EditWindow, answer: Sequence[str]) -> float:
    """The share of the window's lines the answer drops (rather than keeps or rewrites)."""
    ops = SequenceMatcher(None, window.lines, answer, autojunk=False).get_opcodes()
    kept = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    total = len(window.lines)
    return 0.0 if not total else 1 - (kept + _replaced(ops)) / total


def _replaced(ops: Sequence[tuple[str, int, int, int, int]]) -> int:
    """Window lines replaced by as many or more answer lines (rewritten, not dropped)."""
    return sum(min(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag == "replace")


def breaks_parse(language_id: str, text: str, edit: SuggestedEdit) -> bool:
    """Whether the document ``text`` parsed with fewer errors than it has with ``edit`` made
    (False without a grammar)."""
    before = parse_error_count(language_id, text)
    if before is None:
        return False
    after = parse_error_count(language_id, edit.applied_to(text))
    return after is not None and after > before


def review(
    window: EditWindow,
    answer: Sequence[str],
    *,
    last_edit: Hunk | None,
    text: str,
    language_id: str,
) -> SuggestedEdit | str:
    """The edit ``answer`` suggests, or why it is dropped (a sentence for the log)."""
    answer = without_blank_tail(window, with_unmentioned_head(window, answer))
    if [line.rstrip() for line in answer] == [line.rstrip() for line in window.lines]:
        return "the suggestion changes nothing"
    if undoes(window, answer, last_edit):
        return "the suggestion undoes the last edit"
    if deleted_share(window, answer) > MAX_DELETED_SHARE:
        return "the suggestion deletes most of the window"
    edit = window_edit(window, answer)
    if edit is None:
        return "the suggestion changes nothing"
    if breaks_parse(language_id, text, edit):
        return "the suggestion breaks the parse"
    return edit


def _blank_tail(lines: Sequence[str]) -> int:
    count = 0
    while count < len(lines) and not lines[len(lines) - 1 - count].strip():
        count += 1
    return count


def without_blank_tail(window: EditWindow, answer: Sequence[str]) -> Sequence[str]:
    """``answer`` with as many blank lines at its end as the window has where the answer
    cannot be read for them: a model closes its code block right after the last line of
    code, so blank lines the window ends with and the answer leaves out stay (else the
    suggestion deletes them); and when the window ends the document, the answer cannot tell
    a trailing blank line from the file's final line break (the empty "line" after it), so
    a suggestion must neither remove that break nor add blank lines after it. Inside the
    document, blank lines the answer adds at its end are its edit."""
    if not answer:
        return answer
    extra = _blank_tail(answer) - _blank_tail(window.lines)
    if extra > 0 and window.at_document_end:
        return answer[: len(answer) - extra]
    if extra < 0:
        return (*answer, *[""] * -extra)
    return answer


def _end_run(lines: Sequence[str]) -> int:
    """How many of the window's last lines identify its end: at least two (or all), taking
    in a non-blank line, and occurring only once in the window."""
    count = min(2, len(lines))
    while count < len(lines):
        tail = list(lines[len(lines) - count:])
        occurrences = sum(
            1 for i in range(len(lines) - count + 1) if list(lines[i:i + count]) == tail
        )
        if any(line.strip() for line in tail) and occurrences == 1:
            break
        count += 1
    return count


def reproduces_window_end(window: EditWindow, answer: Sequence[str]) -> bool:
    """Whether the whole lines of a streaming answer end with the window's own last lines
    (the rest of the window reproduced unchanged): the model has written the window, and
    whatever it writes after is past it."""
    lines = window.lines
    count = _end_run(lines)
    return count > 0 and len(answer) >= count and tuple(answer[-count:]) == lines[-count:]


def cut_at_window_end(window: EditWindow, answer: Sequence[str]) -> tuple[str, ...]:
    """``answer`` up to where it first has written the window's last lines unchanged (as a
    stream stops there): the lines after are the file's next lines, run on past the
    window, never part of the rewrite."""
    for written in range(1, len(answer)):
        if reproduces_window_end(window, answer[:written]):
            return tuple(answer[:written])
    return tuple(answer)


def completed(window: EditWindow, answer: Sequence[str]) -> tuple[str, ...] | None:
    """An answer cut short (no end marker) made whole when its last lines are the window's
    own unchanged lines: the rest of the window follows them as it is. None otherwise."""
    lines = window.lines
    if not answer:
        return None
    for count in (3, 2):
        if len(answer) < count or not any(line.strip() for line in answer[-count:]):
            continue
        tail = tuple(answer[-count:])
        ends = [i + count for i in range(len(lines) - count + 1) if lines[i:i + count] == tail]
        if len(ends) == 1:
            return (*answer, *lines[ends[0]:])
    return None
