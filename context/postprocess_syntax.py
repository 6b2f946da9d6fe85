"""Syntax-aware clean-up of model output: pure functions over (prefix, candidate, suffix).

The completion pipeline calls these after generation: cut a multi-line answer at the end of
the block the cursor opened, drop what repeats the text after the cursor, reject answers that
break the parse, and stop degenerate repetition. Each takes plain strings and never raises
for unknown languages (it then falls back to text rules or leaves the candidate alone).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from tree_sitter import Node, Parser, Tree

from loomline.context.languages import (
    encode,
    family,
    normalize_language_id,
    parse,
    shared_parser,
)
from loomline.context.lexing import CLOSERS, OPENERS, open_brackets, tokens
from loomline.context.positions import point

log = logging.getLogger(__name__)

MAX_PARSE_CHARS = 1_000_000
_PREFIX_WINDOW = 50_000
_TRIVIAL_LINE = re.compile(r"^[\s()\[\]{};,]*$")


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
    context_chars: int = 20_000,
) -> bool:
    """Whether inserting ``candidate`` leaves more parse errors than the document had.

    Only the top-level definitions within about ``context_chars`` of the cursor are parsed.
    That text without the candidate is parsed once (and kept for the next few candidates of
    the same request); the candidate is then inserted with an incremental reparse.
    """
    prefix, suffix = _around_cursor(prefix, suffix, context_chars)
    key = normalize_language_id(language_id)
    parser = shared_parser(key)
    if parser is None or key is None or not candidate:
        return False
    if len(prefix) + len(candidate) + len(suffix) > MAX_PARSE_CHARS:
        return False
    try:
        base, before = _base_tree(key, parser, prefix, suffix)
        head = encode(prefix)
        inserted = encode(candidate)
        start_point = point(prefix, len(prefix))
        end_text = prefix[prefix.rfind("\n") + 1 :] + candidate
        end_point = (start_point[0] + candidate.count("\n"), len(encode(
            end_text[end_text.rfind("\n") + 1 :])))
        edited = base.copy()
        edited.edit(len(head), len(head), len(head) + len(inserted),
                    start_point, start_point, end_point)
        after = parser.parse(head + inserted + encode(suffix), edited)
    except Exception:  # a grammar hiccup must not cost the user a completion
        log.warning("parse check failed for %s", language_id, exc_info=True)
        return False
    return _count_errors(after.root_node) > before


_BASE_TREES: OrderedDict[tuple[str, str, str], tuple[Tree, int]] = OrderedDict()
_BASE_LOCK = threading.Lock()


def _base_tree(key: str, parser: Parser, prefix: str, suffix: str) -> tuple[Tree, int]:
    cache_key = (key, prefix, suffix)
    with _BASE_LOCK:
        found = _BASE_TREES.get(cache_key)
        if found is not None:
            _BASE_TREES.move_to_end(cache_key)
            return found
    tree = parser.parse(encode(prefix + suffix))
    result = (tree, _count_errors(tree.root_node))
    with _BASE_LOCK:
        _BASE_TREES[cache_key] = result
        while len(_BASE_TREES) > 4:
            _BASE_TREES.popitem(last=False)
    return result


# -- cutting a multi-line answer at the end of its block ---------------------------------------


def _indent_width(line: str) -> int:
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def truncate_to_block(language_id: str | None, prefix: str, candidate: str, suffix: str) -> str:
    """Cut ``candidate`` where the block or statement the cursor is in ends.

    A closing bracket that closes a bracket opened before the cursor ends the block (kept only
    when the suffix does not already close it); in Python a line indented less than the block
    ends it; a line at the cursor line's level after a statement ends the statement.
    """
    if "\n" not in candidate:
        return candidate
    fam = family(language_id)
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    lines = candidate.split("\n")
    first = line_prefix + lines[0]
    blank = not line_prefix.strip()
    opener = first.rstrip().endswith(("{", "(", "[")) or (
        fam == "python" and first.rstrip().endswith(":")
    )
    if blank:
        threshold = _indent_width(first) if first.strip() else _indent_width(line_prefix)
        statement_mode = False
    else:
        threshold = _indent_width(line_prefix) + 1
        statement_mode = not opener
    indentation_rules = fam == "python" or (fam is None and _looks_indented(prefix))

    depth = 0
    offset = 0  # start of the current line in candidate
    for number, line in enumerate(lines):
        line_end = offset + len(line)
        if number > 0 and line.strip() and depth == 0 and indentation_rules:
            width = _indent_width(line)
            starts_with_closer = line.lstrip()[:1] in CLOSERS
            if width < threshold and not starts_with_closer:
                return candidate[:offset].rstrip()
        for token in tokens(line, language_id):
            if token.kind != "bracket":
                continue
            if token.text in OPENERS:
                depth += 1
            elif depth > 0:
                depth -= 1
            else:
                return _cut_at_escaping_closer(candidate, offset, offset + token.start, suffix)
        if (
            statement_mode
            and depth == 0
            and fam not in ("python", None)
            and line.rstrip().endswith((";", "}"))
        ):
            return candidate[:line_end].rstrip()
        offset = line_end + 1
    return candidate


def _cut_at_escaping_closer(candidate: str, line_start: int, index: int, suffix: str) -> str:
    closer = candidate[index]
    if suffix.lstrip()[:1] == closer:  # the editor already closed it
        before = candidate[:index]
        return before.rstrip() if not candidate[line_start:index].strip() else before
    rest = candidate[index:].split("\n", 1)[0]
    tail = len(rest) - len(rest.lstrip(")]};,"))
    return candidate[: index + max(tail, 1)].rstrip()


def _looks_indented(prefix: str) -> bool:
    tail = prefix[-4000:]
    return tail.count("{") + tail.count("}") == 0 and (":\n" in tail or tail.endswith(":"))


# -- overlap with the suffix ------------------------------------------------------------------


def _unclosed(text: str) -> int:
    return len(open_brackets(text, None))


def _normalized(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    where: list[int] = []
    for index, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch)
            where.append(index)
    return "".join(chars), where


def trim_suffix_overlap(candidate: str, suffix: str, min_overlap: int = 8) -> str:
    """Drop the tail of ``candidate`` that repeats the start of ``suffix``.

    Whitespace is ignored in the comparison. Long overlaps must start at a line start in the
    candidate; a tail equal to the rest of the cursor's line is dropped whatever its length;
    trailing closing brackets are dropped when the suffix starts with them. A drop is never
    allowed to unbalance a bracket the candidate itself opened.
    """
    if not candidate or not suffix.strip():
        return candidate
    unclosed = _unclosed(candidate)

    def valid(cut: int) -> bool:
        return _unclosed(candidate[:cut]) == unclosed

    norm_candidate, where = _normalized(candidate)
    norm_suffix, _ = _normalized(suffix[:4000])
    longest = min(len(norm_candidate), len(norm_suffix))
    first_line = next((line for line in suffix.split("\n") if line.strip()), "")
    if not _TRIVIAL_LINE.match(first_line):  # a whole repeated line counts, however short
        min_overlap = min(min_overlap, len(_normalized(first_line)[0]))
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


# -- brackets and repetition -----------------------------------------------------------------


def balance_brackets(
    candidate: str, prefix: str = "", suffix: str = "", language_id: str | None = None
) -> str:
    """Cut ``candidate`` at the first closing bracket that matches nothing open.

    A closer that closes a different kind of bracket than the innermost open one (``(]``), or
    that closes nothing at all, marks the model losing track: everything from it on goes. When
    the suffix starts with closers, the brackets they close count as closed already, so a
    candidate cannot close them a second time.
    """
    window = prefix[-_PREFIX_WINDOW:]
    if len(prefix) > _PREFIX_WINDOW:
        window = window[window.find("\n") + 1 :]
    stack = open_brackets(window, language_id)
    leading = re.match(r"[\s)\]}]*", suffix)
    for closer in re.sub(r"\s", "", leading.group() if leading else ""):
        if stack and stack[-1] == CLOSERS[closer]:
            stack.pop()
    for token in tokens(candidate, language_id):
        if token.kind != "bracket":
            continue
        if token.text in OPENERS:
            stack.append(token.text)
        elif stack and stack[-1] == CLOSERS[token.text]:
            stack.pop()
        else:
            return candidate[: token.start].rstrip(" \t")
    return candidate


def drop_repeated_lines(candidate: str, min_repeats: int = 3, max_unit: int = 8) -> str:
    """Keep one copy of a block of lines the model repeats over and over.

    A single line must repeat ``min_repeats`` times in a row, a block of two or more lines
    twice; lines made only of brackets and punctuation never count as repetition.
    """
    lines = candidate.split("\n")
    keys = [line.strip() for line in lines]  # the first line lacks the cursor line's indent
    for start in range(len(lines)):
        for unit in range(1, max_unit + 1):
            block = keys[start : start + unit]
            if len(block) < unit or all(_TRIVIAL_LINE.match(line) for line in block):
                continue
            needed = min_repeats if unit == 1 else 2
            copies = 1
            while keys[start + copies * unit : start + (copies + 1) * unit] == block:
                copies += 1
            if copies >= needed:
                return "\n".join(lines[: start + unit])
    return candidate
