"""Fill-in-the-middle prompts under a token budget.

Layout (stable while the user types, so an engine's prefix cache stays valid):

    [repo header] [context files, in a stable order] [current file header]
    <prefix marker> prefix window <suffix marker> suffix window <middle marker>

or, for models that use context better that way (a model preset's ``context_layout``), the
context as line comments at the head of the prefix:

    <prefix marker> # from path: / # piece lines ... (blank line) prefix window
    <suffix marker> suffix window <middle marker>

Only the end of the prefix window changes between keystrokes; its start moves in steps of
``PREFIX_ALIGN_LINES`` lines, so small edits do not shift the whole window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from loomline.completion.templates import FimTemplate
from loomline.completion.tokens import TokenCounter

PREFIX_ALIGN_LINES = 8
CELLS = "cells"  # the kind of the piece that holds a notebook cell's earlier cells
# Of a cursor line too long for the budget, the prompt holds this many characters a token.
ENORMOUS_LINE_CHARS_PER_TOKEN = 3
# A line is that long for sure past this many characters a token (no token is this long).
SURELY_ENORMOUS_CHARS_PER_TOKEN = 32


@dataclass(frozen=True, slots=True)
class PromptPiece:
    """Context offered to the prompt, in priority order by the caller."""

    source: str  # workspace-relative path shown to the model
    text: str
    reason: str  # why it was chosen, for the transparency command
    # "definition" or "snippet" (other files), or "cells": the notebook cells before the
    # cursor's cell, which go into the prefix right before the cell's own text
    kind: str = "definition"


@dataclass(slots=True)
class IncludedPiece:
    piece: PromptPiece
    tokens: int


@dataclass(slots=True)
class Prompt:
    text: str
    template: str
    prefix: str  # the part of the document's prefix that made it into the prompt
    suffix: str
    tokens: int
    pieces: list[IncludedPiece] = field(default_factory=list)
    dropped: list[PromptPiece] = field(default_factory=list)


def _whole_lines_from_end(
    lines: list[str], start: int, used: int, budget: int, counter: TokenCounter
) -> tuple[int, int]:
    """Move ``start`` back over ``lines`` (each with its newline) while the tokens ``used``
    stay within ``budget``; returns the new start and the tokens used."""
    while start > 0:
        cost = counter.count(lines[start - 1] + "\n")
        if used + cost > budget:
            break
        used += cost
        start -= 1
    return start, used


def _take_prefix_lines(prefix: str, budget: int, counter: TokenCounter) -> str:
    """The longest run of whole lines ending at the cursor that fits, aligned when cut."""
    lines = prefix.split("\n")
    cursor_line = lines[-1]
    start, used = _whole_lines_from_end(lines, len(lines) - 1, counter.count(cursor_line),
                                        budget, counter)
    if start > 0:
        # Cut: round the first line up to a multiple so the window start rarely moves.
        aligned = -(-start // PREFIX_ALIGN_LINES) * PREFIX_ALIGN_LINES
        start = min(aligned, len(lines) - 1)
    if used > budget and start == len(lines) - 1:
        # A single enormous line: keep its end, character-wise.
        return cursor_line[-budget * ENORMOUS_LINE_CHARS_PER_TOKEN :]
    return "\n".join(lines[start:])


def _earlier_cells(
    cells: PromptPiece, prefix: str, prefix_window: str, budget: int, counter: TokenCounter
) -> str:
    """The end of the earlier cells (whole lines) that fits in what the cell's own prefix
    left of ``budget``; nothing unless the whole cell before the cursor made it in."""
    if prefix_window != prefix or not cells.text.strip():
        return ""
    room = budget - counter.count(prefix_window)
    if room <= 0:
        return ""
    lines = cells.text.split("\n")
    start, _used = _whole_lines_from_end(lines, len(lines), 0, room, counter)
    taken = "\n".join(lines[start:])
    return taken if taken.strip() else ""


def _take_suffix_lines(suffix: str, budget: int, counter: TokenCounter) -> str:
    lines = suffix.split("\n")
    taken = [lines[0]]
    used = counter.count(lines[0])
    if used > budget:
        return lines[0][: budget * ENORMOUS_LINE_CHARS_PER_TOKEN]
    for line in lines[1:]:
        cost = counter.count("\n" + line)
        if used + cost > budget:
            break
        used += cost
        taken.append(line)
    return "\n".join(taken)


def enormous_line_window(
    before: str, after: str, budget: int, suffix_share: float = 1.0, margin: int = 256
) -> tuple[str, str]:
    """The text around a cursor whose line is far longer than a prompt of ``budget`` tokens
    (``suffix_share`` of them for the suffix) holds: the characters of the line the prompt can
    use, and ``margin`` more, each side (so that secrets near them are judged in their
    context). Other cursors keep all their text. What ``build_prompt`` makes of the result is
    what it makes of the whole text."""
    sure = SURELY_ENORMOUS_CHARS_PER_TOKEN * budget
    if len(before) > sure and "\n" not in before[-sure:]:
        before = before[-(ENORMOUS_LINE_CHARS_PER_TOKEN * budget + margin) :]
    if len(after) > sure and "\n" not in after[:sure]:
        after = after[: ENORMOUS_LINE_CHARS_PER_TOKEN * int(budget * suffix_share) + margin]
    return before, after


def _render_piece(template: FimTemplate, comment: str | None, piece: PromptPiece) -> str:
    """Another file's code as the template frames it, or as line comments."""
    content = piece.text.rstrip("\n")
    if comment is None:
        return template.file.format(path=piece.source, content=content)
    lines = [f"{comment} from {piece.source}:"]
    lines += [f"{comment} {line}" for line in content.split("\n")]
    return "\n".join(lines) + "\n"


def _fit_pieces(
    pieces: list[PromptPiece],
    render: Callable[[PromptPiece], str],
    counter: TokenCounter,
    used: int,
    limit: int,
    included: list[IncludedPiece],
    dropped: list[PromptPiece],
) -> int:
    """Take pieces in priority order while the prompt stays within ``limit`` tokens; returns
    the tokens used after them."""
    for piece in pieces:
        cost = counter.count(render(piece))
        if used + cost <= limit:
            included.append(IncludedPiece(piece, cost))
            used += cost
        else:
            dropped.append(piece)
    return used


def build_prompt(
    template: FimTemplate,
    prefix: str,
    suffix: str,
    *,
    counter: TokenCounter,
    budget: int,
    suffix_share: float = 0.25,
    path: str | None = None,
    repo: str | None = None,
    pieces: list[PromptPiece] | None = None,
    context_share: float = 0.4,
    comment: str | None = None,
) -> Prompt:
    """``budget`` is for the cursor window; context pieces may add up to
    ``budget * context_share / (1 - context_share)`` tokens more. With ``comment`` (the
    language's line-comment marker) the pieces go into the prefix as comments."""
    pieces = pieces or []
    cells = next((p for p in pieces if p.kind == CELLS), None)
    pieces = [p for p in pieces if p.kind != CELLS]
    # Repository markers only around other files' code: for a lone file they cost the 0.5B
    # model most of its single-line accuracy (HumanEval first-line EM 28 -> 11 of 46 tasks).
    header = ""
    if pieces and template.repo_name and comment is None:
        header = template.repo_name.format(repo=repo or "workspace")
    current = ""
    if pieces and comment is None:
        current = template.current_file.format(path=path or "untitled")

    fixed = counter.count(header + current) + counter.count(template.fim("", ""))
    available = max(budget - fixed, 16)

    # Context comes on top of the cursor window, never out of it: a window shrunk to make room
    # for other files' code lost more than the context gained (measured on the repo-level set).
    cursor_budget = available
    context_budget = int(budget * context_share / (1 - context_share)) if pieces else 0
    suffix_budget = int(cursor_budget * suffix_share)
    suffix_window = _take_suffix_lines(suffix, suffix_budget, counter) if suffix_budget else ""
    prefix_budget = cursor_budget - counter.count(suffix_window)
    prefix_window = _take_prefix_lines(prefix, prefix_budget, counter)
    used = fixed + counter.count(prefix_window) + counter.count(suffix_window)

    included: list[IncludedPiece] = []
    dropped: list[PromptPiece] = []
    # The earlier cells that fit, before the prefix window.
    lead = _earlier_cells(cells, prefix, prefix_window, prefix_budget, counter) if cells else ""
    if cells is not None and lead:
        included.append(IncludedPiece(replace(cells, text=lead), counter.count(lead)))
        used += included[-1].tokens
    elif cells is not None:
        dropped.append(cells)
    render = partial(_render_piece, template, comment)
    used = _fit_pieces(pieces, render, counter, used, budget + context_budget, included, dropped)

    context = "".join(render(p.piece) for p in included if p.piece.kind != CELLS)
    if comment is not None and context:
        text = template.fim(context + "\n" + lead + prefix_window, suffix_window)
    else:
        text = header + context + current + template.fim(lead + prefix_window, suffix_window)
    return Prompt(
        text=text,
        template=template.name,
        prefix=prefix_window,
        suffix=suffix_window,
        tokens=used,
        pieces=included,
        dropped=dropped,
    )
