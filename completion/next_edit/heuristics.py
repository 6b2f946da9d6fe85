"""Next edits without the model: cheap guesses, ready before the model answers and used when
it has nothing, fails or runs out of time.

* ``rename`` (``renames.next_use_of_rename``): the next use, in the renamed line's scope, of
  the identifier the last edit renamed.
* ``repeat``: the last edit replaced one token of one line (an identifier, a word of a
  comment, a string literal, a number) by another; the same change at the next occurrence of
  the old token in the editable window, below the edit first, then (wrapping) above it. The
  typo fix ``avilable`` -> ``available`` is the typical case.
"""

from __future__ import annotations

import difflib
import re

from loomline.completion.next_edit.identifier_uses import SourceTree, repeat_spots
from loomline.completion.next_edit.postprocess import SuggestedEdit
from loomline.completion.next_edit.renames import last_change_in, next_use_of_rename
from loomline.completion.next_edit.window import EditWindow
from loomline.context.edit_history import Hunk

# String literals whole (an edited string is one change), words, runs of blanks, one
# punctuation character.
_TOKENS = re.compile(r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\w+|\s+|[^\w\s]""")
_WORD_CHAR = re.compile(r"\w")


def replaced_token(hunk: Hunk) -> tuple[str, str, int] | None:
    """``(old, new, column)`` when ``hunk`` replaced exactly one token of one line by one
    other token (and changed nothing else), with the column after the new token; else None
    (several changes, pure insertions or deletions, whitespace, several lines)."""
    if len(hunk.old_lines) != 1 or len(hunk.new_lines) != 1:
        return None
    old_tokens = _TOKENS.findall(hunk.old_lines[0])
    new_tokens = _TOKENS.findall(hunk.new_lines[0])
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if len(changes) != 1:
        return None
    kind, i1, i2, j1, j2 = changes[0]
    if kind != "replace" or i2 - i1 != 1 or j2 - j1 != 1:
        return None
    old, new = old_tokens[i1], new_tokens[j1]
    if not old.strip() or not new.strip():
        return None
    return old, new, len("".join(new_tokens[: j1 + 1]))


def _pattern(token: str) -> re.Pattern[str]:
    before = r"(?<!\w)" if _WORD_CHAR.match(token[0]) else ""
    after = r"(?!\w)" if _WORD_CHAR.match(token[-1]) else ""
    return re.compile(before + re.escape(token) + after)


def _identifier_spots(
    text: str, hunk: Hunk, change: tuple[str, str, int], window: EditWindow,
    language_id: str | None,
) -> set[tuple[int, int]] | None:
    """Where (``(line, column)``) in ``window`` the change of an identifier in code (by the
    syntax tree) is to be made again (``identifier_uses.repeat_spots``: a renamed declaration
    repeats in its scope only); None when there is no grammar, or the change was of a word of
    a string or comment (those repeat anywhere)."""
    old, new, column = change
    source = SourceTree.parse(text, language_id)
    changed = None if source is None else source.identifier_at(
        hunk.start_line, column - len(new), column)
    if source is None or changed is None:
        return None
    return repeat_spots(source, changed, old, (window.start_line, window.end_line))


def repeat_last_change(
    text: str, hunk: Hunk | None, window: EditWindow, language_id: str | None = None
) -> SuggestedEdit | None:
    """The last edit's one-token change made again at the next occurrence of the old token
    inside ``window`` of ``text`` (``\\n`` line breaks); None when the edit was no one-token
    change, no longer matches the text, or the window holds no other occurrence. With a
    grammar for ``language_id``, an identifier's change repeats at identifiers only."""
    found_change = last_change_in(text, hunk, replaced_token) if hunk is not None else None
    if hunk is None or found_change is None:
        return None
    lines, (old, new, column) = found_change
    identifiers = _identifier_spots(text, hunk, (old, new, column), window, language_id)
    pattern = _pattern(old)
    first, last = window.start_line, min(window.end_line, len(lines))
    below = range(max(first, hunk.start_line), last)
    above = range(first, min(hunk.start_line + 1, last))
    for number, start_column, end_column in (
        *((n, column if n == hunk.start_line else 0, None) for n in below),
        *((n, 0, column - len(new) if n == hunk.start_line else None) for n in above),
    ):
        line = lines[number]
        for found in pattern.finditer(line, start_column, len(line) if end_column is None
                                      else max(0, end_column)):
            if identifiers is None or (number, found.start()) in identifiers:
                return SuggestedEdit(start=(number, found.start()),
                                     end=(number, found.end()), text=new, window_lines=())
    return None


def cheap_next_edit(
    text: str, hunk: Hunk | None, window: EditWindow, language_id: str | None = None
) -> tuple[SuggestedEdit, str] | None:
    """The first of the cheap guesses that has an edit, with its source name (``rename``,
    ``repeat``); None when neither has one. ``language_id`` picks the grammar that tells
    identifiers from strings and comments (none: the text rules)."""
    rename = next_use_of_rename(text, hunk, window, language_id)
    if rename is not None:
        return rename, "rename"
    repeat = repeat_last_change(text, hunk, window, language_id)
    if repeat is not None:
        return repeat, "repeat"
    return None
