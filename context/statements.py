"""Where statements start: the places a completion is most often asked for.

``statement_spans`` lists, from a tree-sitter parse, every statement or declaration that opens
its line (after indentation): the named children of blocks (``analysis.BLOCK_TYPES``), nested
ones included, comments left out. Offsets are code points of the text as given.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from loomline.context.analysis import BLOCK_TYPES
from loomline.context.languages import encode, parse


@dataclass(frozen=True, slots=True)
class StatementSpan:
    """One statement: ``text[start:end]``; lines are zero-based, ``end_line`` inclusive."""

    start: int
    end: int
    start_line: int
    end_line: int
    kind: str


def statement_spans(language_id: str | None, text: str) -> list[StatementSpan]:
    """The statements of ``text`` that begin their line, in text order; empty for a language
    without a grammar or a text that does not parse at all."""
    tree = parse(language_id, text)
    if tree is None:
        return []
    lines = encode(text).split(b"\n")
    line_starts = [0]
    for line in text.split("\n")[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)

    def offset(row: int, byte_column: int) -> int:
        # Per line: a whole-text byte -> code point conversion per node would be quadratic.
        head = lines[row][:byte_column].decode("utf-8", errors="surrogatepass")
        return line_starts[row] + len(head)

    spans: list[StatementSpan] = []
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        children = node.named_children
        if node.type in BLOCK_TYPES:
            for child in children:
                row, column = child.start_point
                # (A block inside a block, as Go's statement_list, is no statement itself.)
                if (child.type in BLOCK_TYPES or "comment" in child.type
                        or lines[row][:column].strip()):
                    continue
                end_row, end_column = child.end_point
                spans.append(StatementSpan(
                    offset(row, column), offset(end_row, end_column), row, end_row, child.type
                ))
        stack.extend(reversed(children))
    spans.sort(key=lambda span: span.start)
    return spans
