"""A single-line request's answer cut at its first line must not break a line the whole answer
leaves valid: ``if (|) {`` answered ``a &&\\n    b) {`` is not ``if (a &&) {``.

The single-line rule (``end_at_line_end``) keeps the first line of a longer answer. When that
line alone leaves more parse errors than the whole answer (read as a block) does, the cut is
at the wrong line boundary: the whole answer is kept if it adds no parse error to the
document, else nothing is (half a condition is worse than no suggestion).
"""

from __future__ import annotations

from dataclasses import replace

from loomline.completion.cleanup.closers import closers_replaced
from loomline.completion.cursor import Cursor
from loomline.context.parse_errors import errors_around_cursor


def judged_against_the_whole(result: str, whole: str, cursor: Cursor) -> str:
    """``result`` (the first line of a longer answer, cleaned), ``whole`` (the same answer
    cleaned as a block, for the same cursor read as multi-line), as they should land: the
    result if it breaks nothing the whole answer keeps (an empty result breaks what the
    first line broke), else the whole answer if it adds no parse error, else ""."""
    if cursor.multiline or "\n" not in whole or whole == result:
        return result
    block = replace(cursor, multiline=True)
    whole_counts = _errors_once_applied(whole, block)
    if whole_counts is None:
        return result
    document_errors, whole_errors = whole_counts
    if result:
        cut = _errors_once_applied(result, cursor)
        if cut is None or cut[1] <= whole_errors:
            return result
    # (An empty result: the first line alone broke the parse, and the clean-up dropped it.)
    return "" if whole_errors > document_errors else whole


def _errors_once_applied(answer: str, cursor: Cursor) -> tuple[int, int] | None:
    """Parse errors around the cursor without ``answer`` and with it applied there (over the
    closers it replaces); None without a grammar or in an enormous definition or line."""
    replaced = closers_replaced(answer, cursor)
    return errors_around_cursor(cursor.language_id, cursor.before, answer,
                                cursor.after[replaced:],
                                replaced=cursor.replaced + cursor.after[:replaced])
