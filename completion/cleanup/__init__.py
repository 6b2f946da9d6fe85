"""Turning what the model wrote into what the editor should insert: one pipeline of filters.

Each filter is a small pure function of the answer and the :class:`Cursor`, in its own module
with golden cases. They run in the order declared here, in two stages:

- ``WHILE_STREAMING`` (``clean_partial``) runs on the raw text so far, on every chunk: text
  rules, cheap, each able to say the answer is finished (a cut more tokens cannot undo), so the
  stream can stop early. The first step puts the answer's indentation in the file's style
  (``match_file_indent``), so the rest compare like with like; the last tidies the end.
- ``ON_FINISH`` (``refine``) runs once on the finished answer (single-line or block): the
  filters that know the language's brackets, strings and comments, and the parse checks. They
  judge the answer against the text as it will be: where the answer closes the closers the
  editor typed after the cursor, it replaces them (``closers_replaced``: the item's range runs
  over them), so they are gone from the text after the cursor.

``clean`` is both, for the model's complete output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.block_end import end_at_dedent, end_at_line_end, truncate_to_block
from loomline.completion.cleanup.brackets import balance_brackets
from loomline.completion.cleanup.closer_line import (
    end_before_the_closer,
    with_the_closing_line_break,
)
from loomline.completion.cleanup.closers import closers_replaced, leave_closers_in_place
from loomline.completion.cleanup.indent import fix_doubled_indent
from loomline.completion.cleanup.line_cut import judged_against_the_whole
from loomline.completion.cleanup.parse_check import (
    drop_lines_python_rejects,
    drop_lines_that_break_the_parse,
)
from loomline.completion.cleanup.reindent import match_file_indent
from loomline.completion.cleanup.repeats import cut_second_copy, drop_repeats
from loomline.completion.cleanup.rest_of_line import cut_repeated_line_start
from loomline.completion.cleanup.stops import cut_at_fence, cut_at_stops
from loomline.completion.cleanup.suffix_overlap import trim_line_suffix_overlap, trim_suffix_overlap
from loomline.completion.cursor import Cursor

log = logging.getLogger(__name__)

StreamingFilter = Callable[[Answer, Cursor], Answer]
FinishedFilter = Callable[[str, Cursor], str]


def tidy_end(answer: Answer, cursor: Cursor) -> Answer:
    """No trailing blanks once nothing can follow them; whitespace alone is no answer."""
    text = answer.text
    if answer.finished or not cursor.multiline:
        text = text.rstrip()
    return answer.with_text(text if text.strip() else "")


WHILE_STREAMING: tuple[StreamingFilter, ...] = (
    match_file_indent,
    fix_doubled_indent,
    cut_at_fence,
    end_at_line_end,
    end_at_dedent,
    cut_second_copy,
    trim_line_suffix_overlap,
    cut_repeated_line_start,
    tidy_end,
)

ON_FINISH: tuple[FinishedFilter, ...] = (
    drop_repeats,
    truncate_to_block,
    trim_suffix_overlap,
    balance_brackets,
    drop_lines_that_break_the_parse,
    drop_lines_python_rejects,
)


def clean_partial(
    raw: str, cursor: Cursor, stops: tuple[str, ...] = (), *, final: bool = False
) -> Answer:
    """The text filters over ``raw``, the model's text so far; ``final``: the model has
    stopped, so every line is complete. ``finished`` in the result says to stop the stream."""
    text, stopped = cut_at_stops(raw, stops)
    answer = Answer(text, stopped or final)
    for step in WHILE_STREAMING:
        answer = step(answer, cursor)
    return answer


def refine(candidate: str, cursor: Cursor) -> str:
    """The syntax-aware filters over a finished, text-cleaned answer; the result replaces
    ``closers_replaced(result, cursor)`` code points after the cursor."""
    replaced = closers_replaced(candidate, cursor)
    refined = _run_on_finish(candidate, cursor.replacing(replaced))
    again = closers_replaced(refined, cursor)
    if again != replaced:  # a filter cut what closed them: judge it against that text
        refined = _run_on_finish(refined, cursor.replacing(again))
    kept = leave_closers_in_place(refined, cursor)
    return end_before_the_closer(kept, cursor.replacing(closers_replaced(kept, cursor)))


def _run_on_finish(candidate: str, cursor: Cursor) -> str:
    # Judged against the text as it will be: a block's closer on a line of its own.
    cursor = with_the_closing_line_break(candidate, cursor)
    for step in ON_FINISH:
        candidate = step(candidate, cursor)
    return candidate.rstrip()


def clean(raw: str, cursor: Cursor, stops: tuple[str, ...] = ()) -> str:
    """What to insert for the model's complete output ``raw``; it replaces
    ``closers_replaced(result, cursor)`` code points after the cursor."""
    text = clean_partial(raw, cursor, stops, final=True).text
    if not text:
        return text
    try:
        result = refine(text, cursor)
        if cursor.multiline or cursor.mode == "never" or "\n" not in raw.strip():
            return result
        # A first line cut from a longer answer: judged against the whole answer.
        block = replace(cursor, multiline=True)
        whole = clean_partial(raw, block, stops, final=True).text
        return judged_against_the_whole(result, whole and refine(whole, block), cursor)
    except Exception:  # a grammar hiccup must not cost the user a completion
        log.exception("syntax clean-up failed; keeping the plain result")
        return text
