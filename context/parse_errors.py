"""Parse errors of a candidate answer: the tree-sitter primitives of the clean-up.

``adds_parse_errors`` says whether inserting a candidate at the cursor leaves more ERROR and
MISSING nodes than the document had; it never raises, and without a grammar it says no.
(The clean-up filters themselves live in ``loomline.completion.cleanup``.)
"""

from __future__ import annotations

import logging
import re

from tree_sitter import Node, Parser, Tree

from loomline.context.bounded_cache import BoundedCache
from loomline.context.languages import (
    encode,
    normalize_language_id,
    parse,
    shared_parser,
)
from loomline.context.positions import point

log = logging.getLogger(__name__)

MAX_PARSE_CHARS = 1_000_000
# The text parsed around the cursor is at most this many times ``context_chars``: a cursor in
# one enormous definition or line (a 400,000-character data line) cannot be cut at a
# top-level line, and parsing it whole for each candidate held the event loop for seconds.
MAX_WINDOW_FACTOR = 4


def parse_error_count(language_id: str | None, text: str) -> int | None:
    """ERROR and MISSING nodes in the parse of ``text``; ``None`` without a grammar."""
    if len(text) > MAX_PARSE_CHARS:
        return None
    tree = parse(language_id, text)
    if tree is None:
        return None
    return _count_errors(tree.root_node)


def _count_errors(root: Node) -> int:
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            count += 1
        elif node.is_error:
            count += 1 + sum(1 for child in node.children if child.is_missing)
        elif node.has_error:
            stack.extend(node.children)
    return count


_TOP_LEVEL_LINE = re.compile(r"^[A-Za-z_#@]", re.M)


def _around_cursor(prefix: str, suffix: str, limit: int) -> tuple[str, str]:
    """Prefix and suffix cut at top-level lines about ``limit`` characters from the cursor.

    Whole top-level definitions stay intact, so the cut adds no errors of its own; a cursor
    inside one huge definition keeps the whole prefix.
    """
    if len(prefix) > limit:
        match = _TOP_LEVEL_LINE.search(prefix, len(prefix) - limit)
        if match is not None:
            prefix = prefix[match.start() :]
    if len(suffix) > limit:
        match = _TOP_LEVEL_LINE.search(suffix, limit)
        if match is not None:
            suffix = suffix[: match.start()]
    return prefix, suffix


def adds_parse_errors(
    language_id: str | None, prefix: str, candidate: str, suffix: str,
    context_chars: int = 20_000, *, replaced: str = "",
) -> bool:
    """Whether inserting ``candidate`` leaves more parse errors than the document had
    (``errors_around_cursor``; False, unknown, where that gives None)."""
    if not candidate:
        return False
    counts = errors_around_cursor(language_id, prefix, candidate, suffix, context_chars,
                                  replaced=replaced)
    return counts is not None and counts[1] > counts[0]


def errors_around_cursor(
    language_id: str | None, prefix: str, candidate: str, suffix: str,
    context_chars: int = 20_000, *, replaced: str = "",
) -> tuple[int, int] | None:
    """ERROR and MISSING nodes near the cursor without ``candidate`` and with it inserted.

    ``replaced``: text the candidate replaces, between the cursor and ``suffix`` (the closers
    the editor typed): the document without the candidate has it, so its own errors are
    counted as the user sees them, not those of a document that lost its closers.

    Only the top-level definitions within about ``context_chars`` of the cursor are parsed;
    None without a grammar, or when they hold more than ``MAX_WINDOW_FACTOR * context_chars``
    characters (the cursor in an enormous definition or line), or when the parse fails.
    That text without the candidate is parsed once (and kept for the next few candidates of
    the same request); the candidate is then inserted with an incremental reparse.
    """
    prefix, suffix = _around_cursor(prefix, suffix, context_chars)
    if len(prefix) + len(suffix) > MAX_WINDOW_FACTOR * context_chars:
        return None
    key = normalize_language_id(language_id)
    parser = shared_parser(key)
    if parser is None or key is None:
        return None
    if len(prefix) + len(candidate) + len(suffix) > MAX_PARSE_CHARS:
        return None
    try:
        base, before = _base_tree(key, parser, prefix, replaced + suffix)
        if not candidate and not replaced:
            return before, before
        head = encode(prefix)
        inserted = encode(candidate)
        start_point = point(prefix, len(prefix))
        edited = base.copy()
        edited.edit(len(head), len(head) + len(encode(replaced)), len(head) + len(inserted),
                    start_point, _end_point(prefix, replaced, start_point),
                    _end_point(prefix, candidate, start_point))
        after = parser.parse(head + inserted + encode(suffix), edited)
    except Exception:  # a grammar hiccup must not cost the user a completion
        log.warning("parse check failed for %s", language_id, exc_info=True)
        return None
    return before, _count_errors(after.root_node)


def _end_point(prefix: str, text: str, start: tuple[int, int]) -> tuple[int, int]:
    """The tree-sitter point where ``text`` ends, written at the end of ``prefix``
    (``start``)."""
    end_text = prefix[prefix.rfind("\n") + 1 :] + text
    return start[0] + text.count("\n"), len(encode(end_text[end_text.rfind("\n") + 1 :]))


# Trees of the text around recent cursors, for the next candidates of the same request: a
# few, and bounded by the characters parsed (a tree costs about 15 bytes a character).
MAX_BASE_TREES = 4
MAX_BASE_TREE_CHARS = 200_000
_BASE_TREES: BoundedCache[tuple[str, str, str], tuple[Tree, int]] = BoundedCache(
    MAX_BASE_TREE_CHARS, MAX_BASE_TREES, lambda key, _: len(key[1]) + len(key[2])
)


def _base_tree(key: str, parser: Parser, prefix: str, suffix: str) -> tuple[Tree, int]:
    cache_key = (key, prefix, suffix)
    found = _BASE_TREES.get(cache_key)
    if found is not None:
        return found
    tree = parser.parse(encode(prefix + suffix))
    result = (tree, _count_errors(tree.root_node))
    _BASE_TREES.put(cache_key, result)
    return result
