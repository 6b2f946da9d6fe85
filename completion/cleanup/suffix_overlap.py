"""Text the answer repeats from after the cursor: the rest of the line, the next lines,
closers the editor already typed."""

from __future__ import annotations

import re
from itertools import islice

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.repeats import TRIVIAL_LINE
from loomline.completion.cursor import Cursor
from loomline.context.lexing import open_brackets, state_at_end

_CLOSERS = ")]}"
_SUFFIX_WINDOW = 4000
_NON_BLANK = re.compile(r"\S")
_FIRST_NON_BLANK_LINE = re.compile(r"^[^\n]*\S[^\n]*", re.M)


def trim_line_suffix_overlap(answer: Answer, cursor: Cursor) -> Answer:
    """Drop closing characters the rest of the cursor line already has."""
    text, tail = answer.text, cursor.line_suffix.strip()
    if not tail or not text:
        return answer
    stripped = text.rstrip()
    closers_only = all(ch in _CLOSERS + ";:, " for ch in tail)
    # A repeat of the rest of the line goes, but not a closer the answer opened itself.
    if stripped.endswith(tail) and _cut_in_code(stripped, len(stripped) - len(tail), cursor) and (
        not closers_only or _closes_nothing_of_its_own(stripped, len(tail), cursor)
    ):
        return answer.with_text(stripped[: -len(tail)].rstrip() if "\n" in text
                                else stripped[: -len(tail)])
    # Only closers in the suffix: remove the same closers the completion ends with.
    if closers_only:
        trimmed = stripped
        for ch in reversed(tail.replace(" ", "")):
            if (not trimmed.endswith(ch) or not _closes_nothing_of_its_own(trimmed, 1, cursor)
                    or not _cut_in_code(trimmed, len(trimmed) - 1, cursor)):
                break
            trimmed = trimmed[:-1]
        return answer.with_text(trimmed)
    return answer


def _closes_nothing_of_its_own(text: str, size: int, cursor: Cursor) -> bool:
    """Whether the last ``size`` characters of ``text`` close no bracket that ``text`` opened
    itself (``.collect()`` ends with its own ``)``, not with the one the editor typed)."""
    return _unclosed(text[:-size], cursor) <= _unclosed(text, cursor)


def trim_suffix_overlap(candidate: str, cursor: Cursor, min_overlap: int = 8) -> str:
    """Drop the tail of ``candidate`` that repeats the start of the text after the cursor.

    Whitespace is ignored in the comparison. Long overlaps must start at a line start in the
    candidate; a tail equal to the rest of the cursor's line is dropped whatever its length;
    trailing closing brackets are dropped when the suffix starts with them. A drop is never
    allowed to unbalance a bracket the candidate itself opened.
    """
    suffix = cursor.after
    if not candidate or not suffix.strip():
        return candidate
    unclosed = _unclosed(candidate, cursor)

    def valid(cut: int) -> bool:
        return (_unclosed(candidate[:cut], cursor) == unclosed
                and _cut_in_code(candidate, cut, cursor))

    norm_candidate, where = _without_blanks(candidate)
    norm_suffix, _ = _without_blanks(suffix[:_SUFFIX_WINDOW])
    longest = min(len(norm_candidate), len(norm_suffix))
    found = _FIRST_NON_BLANK_LINE.search(suffix)
    first_line = found.group() if found else ""
    if not TRIVIAL_LINE.match(first_line):  # a whole repeated line counts, however short
        # (Counted only up to ``min_overlap``: the line may be 400,000 characters long.)
        non_blanks = islice(_NON_BLANK.finditer(first_line), min_overlap)
        min_overlap = min(min_overlap, sum(1 for _ in non_blanks))
    for k in range(longest, min_overlap - 1, -1):
        if not norm_candidate.endswith(norm_suffix[:k]):
            continue
        cut = where[len(norm_candidate) - k]
        line_start = candidate.rfind("\n", 0, cut) + 1
        if not candidate[line_start:cut].strip() and valid(cut):
            return candidate[:cut].rstrip()
    rest_of_line = suffix.split("\n", 1)[0].strip()
    stripped = candidate.rstrip()
    if rest_of_line and stripped.endswith(rest_of_line):
        cut = len(stripped) - len(rest_of_line)
        if valid(cut):
            return candidate[:cut].rstrip()
    leading = re.match(r"[\s)\]}]*", suffix)
    suffix_closers = re.sub(r"\s", "", leading.group()) if leading else ""
    run = re.search(r"[)\]}]+\s*$", candidate)
    if suffix_closers and run:
        closers = run.group().rstrip()
        for size in range(min(len(closers), len(suffix_closers)), 0, -1):
            if closers.endswith(suffix_closers[:size]):
                cut = run.start() + len(closers) - size
                if valid(cut):
                    return candidate[:cut].rstrip()
    return candidate


def _cut_in_code(text: str, cut: int, cursor: Cursor) -> bool:
    """Whether ``text`` cut at ``cut`` ends in code, as the text after the cursor starts
    there: closers at the end of the answer's own comment or string (``// count it }``)
    repeat nothing after the cursor. (At a cursor in a string or comment the answer starts
    there, so lexing it alone tells nothing: any cut counts.)"""
    if cursor.in_string or cursor.in_comment:
        return True
    return state_at_end(text[:cut], cursor.language_id) == "code"


def _unclosed(text: str, cursor: Cursor) -> int:
    """How many brackets ``text`` leaves open, read in the cursor's language (a generic
    reading takes `this.#count)` for a comment and `'a>(x)` for a string: the brackets in
    them went unseen)."""
    return len(open_brackets(text, cursor.language_id))


def _without_blanks(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, and where each remaining character was."""
    chars: list[str] = []
    where: list[int] = []
    for index, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch)
            where.append(index)
    return "".join(chars), where
