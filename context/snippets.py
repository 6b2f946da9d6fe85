"""Code that looks like the code at the cursor: Jaccard similarity over windows of lines.

Each document is cut into overlapping windows of ``WINDOW`` lines (every ``STRIDE`` lines),
each window reduced to its set of identifier-like tokens. Windows are cached per document and
recomputed only where the text changed, so a keystroke in a 5,000-line file costs little.
"""

from __future__ import annotations

import heapq
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from loomline.context.bounded_cache import BoundedCache

WINDOW = 20
STRIDE = 10
# Of a longer line (minified code, data) only its head counts: its tokens are as like the
# rest's as a window's, and reading all of it cost tens of ms each time it changed.
MAX_LINE_CHARS = 2_000
MAX_CACHED_LINE_BYTES = 8_000_000

_TOKEN = re.compile(r"[A-Za-z_$][\w$]*|\d+")
_STOP = frozenset({
    "self", "this", "return", "def", "if", "else", "elif", "for", "while", "in", "is", "not",
    "and", "or", "const", "let", "var", "function", "import", "from", "None", "null", "true",
    "false", "True", "False", "int", "str", "the", "a", "to", "of", "func", "fn", "pub",
    "public", "private", "static", "void", "new", "end", "do", "then", "pass", "mut",
})


def token_set(text: str) -> frozenset[str]:
    return frozenset(t for t in _TOKEN.findall(text) if t not in _STOP)


@dataclass(frozen=True, slots=True)
class Snippet:
    path: str
    start_line: int  # zero-based, inclusive
    end_line: int  # zero-based, exclusive
    text: str
    score: float


class ChangingText(Protocol):
    """A document whose ``lf_text`` the windows follow: its count of changes, and the lines
    its changes kept since a count (``Document`` is one)."""

    @property
    def changes(self) -> int: ...

    def lines_kept_since(self, changes: int) -> tuple[int, int] | None: ...


@dataclass(frozen=True, slots=True)
class TextOrigin:
    """Where a text comes from: the ``lf_text`` of ``document``, read once it had had
    ``mark`` changes (the count read first: the text may be of a later change, never an
    earlier one, also when another thread changes the document meanwhile)."""

    document: ChangingText
    mark: int


@dataclass(slots=True)
class _Windows:
    text: str
    heads: list[str]  # each line's first MAX_LINE_CHARS characters: what its tokens are read from
    lengths: list[int]  # each line's length (without its break)
    sets: list[frozenset[str]]  # window i covers lines [i * STRIDE, i * STRIDE + WINDOW)
    origin: TextOrigin | None = None  # where ``text`` came from, if from a document

    def lines(self, start: int, count: int) -> str:
        """Lines ``start`` to ``start + count`` (fewer at the end) as they read in the text."""
        count = min(count, len(self.lengths) - start)
        begin = sum(self.lengths[:start]) + start
        return self.text[begin : begin + sum(self.lengths[start : start + count]) + count - 1]


def _window_count(line_count: int) -> int:
    return max(1, (max(line_count - WINDOW, 0) + STRIDE - 1) // STRIDE + 1)


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two strings (binary search, C-speed comparisons)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.startswith(b[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the common suffix of two strings, at most ``limit``."""
    lo, hi = 0, min(len(a), len(b), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.endswith(b[len(b) - mid : len(b) - lo], 0, len(a) - lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _line_tokens_cost(line: str, tokens: frozenset[str]) -> int:
    """The bytes of an entry: the line, the set's table and its token strings."""
    return (sys.getsizeof(line) + sys.getsizeof(tokens)
            + sum(sys.getsizeof(token) for token in tokens))


class SnippetCache:
    """Per-document windows, updated incrementally; bounded to ``max_documents``."""

    def __init__(
        self, max_documents: int = 64, max_cached_lines: int = 200_000,
        max_cached_bytes: int = MAX_CACHED_LINE_BYTES,
    ) -> None:
        self.max_documents = max_documents
        self.max_cached_lines = max_cached_lines
        # Token sets by line text: every version of a line typed into shows up here, so the
        # cache is bounded by what it holds (about), least recently used first out.
        self._line_tokens: BoundedCache[str, frozenset[str]] = BoundedCache(
            max_cached_bytes, max_cached_lines, _line_tokens_cost)
        self._documents: OrderedDict[str, _Windows] = OrderedDict()
        self._lock = threading.Lock()

    def windows(self, path: str, text: str, origin: TextOrigin | None = None) -> _Windows:
        """The windows of ``text``, the text at ``path``; ``origin``: the document it comes
        from, if it does (its changes then say which lines to read again: no comparison of
        the texts, nor copy of a long line)."""
        with self._lock:
            cached = self._documents.get(path)
            if cached is not None:
                self._documents.move_to_end(path)
        if cached is not None and (cached.text is text or cached.text == text):
            return cached
        if cached is None:
            lines = text.split("\n")
            heads = [line[:MAX_LINE_CHARS] for line in lines]
            lengths = [len(line) for line in lines]
            result = _Windows(text, heads, lengths, [
                self._window_set(heads, i) for i in range(_window_count(len(heads)))
            ], origin)
            self._store(path, result)
            return result
        changed = _changed_lines(cached, text, origin)
        if changed is not None:
            first_changed, tail_lines, new_heads, new_lengths = changed
        else:
            old = cached.text
            same = _common_prefix(old, text)
            tail = _common_suffix(old, text, min(len(old), len(text)) - same)
            first_changed = text.count("\n", 0, same)  # lines before it are unchanged
            line_start = text.rfind("\n", 0, same) + 1
            line_end = text.find("\n", len(text) - tail)
            line_end = len(text) if line_end == -1 else line_end
            tail_lines = text.count("\n", line_end)  # unchanged lines after the edit
            between = text[line_start:line_end].split("\n")
            new_heads = [line[:MAX_LINE_CHARS] for line in between]
            new_lengths = [len(line) for line in between]
        old_count = len(cached.heads)
        # (Copies, changed where the text changed: a reader may hold the cached lists.)
        heads, lengths = cached.heads.copy(), cached.lengths.copy()
        heads[first_changed : old_count - tail_lines] = new_heads
        lengths[first_changed : old_count - tail_lines] = new_lengths
        count = _window_count(len(heads))
        keep = max(0, first_changed // STRIDE - WINDOW // STRIDE)
        if len(heads) == old_count:
            # Same line count: windows wholly after the edit are unchanged too.
            last_changed = len(heads) - tail_lines
            sets = list(cached.sets)
            for i in range(keep, min(count, last_changed // STRIDE + 1)):
                sets[i] = self._window_set(heads, i)
        else:
            sets = cached.sets[:keep]
            sets += [self._window_set(heads, i) for i in range(keep, count)]
        result = _Windows(text, heads, lengths, sets, origin)
        self._store(path, result)
        return result

    def _window_set(self, heads: list[str], i: int) -> frozenset[str]:
        """Union of the window's per-line token sets (cached by line text across edits)."""
        cache = self._line_tokens
        parts = []
        for head in heads[i * STRIDE : i * STRIDE + WINDOW]:
            # Keyed by the part that is read: hashing a whole long line (a new string each
            # keystroke) cost its length each time, and it held a copy of it.
            tokens = cache.get(head)
            if tokens is None:
                tokens = token_set(head)
                cache.put(head, tokens)
            parts.append(tokens)
        return frozenset().union(*parts)

    def _store(self, path: str, windows: _Windows) -> None:
        with self._lock:
            self._documents[path] = windows
            self._documents.move_to_end(path)
            while len(self._documents) > self.max_documents:
                self._documents.popitem(last=False)

    def forget(self, path: str) -> None:
        with self._lock:
            self._documents.pop(path, None)


def _changed_lines(
    cached: _Windows, text: str, origin: TextOrigin | None
) -> tuple[int, int, list[str], list[int]] | None:
    """The lines of ``text`` that its document's changes since the cached text may have
    changed: (lines kept at the start, lines kept at the end, the heads and lengths of the
    lines between), read in place in ``text`` (one scan for their breaks, a copy of their
    heads only); None when the changes do not tell (another document, too many changes)."""
    before = cached.origin
    if origin is None or before is None or before.document is not origin.document:
        return None
    kept = origin.document.lines_kept_since(before.mark)
    lengths = cached.lengths
    if kept is None or not lengths:
        return None
    # (Unless the texts are equal, what changes keep leaves a line between, on both sides.)
    first = min(kept[0], len(lengths) - 1)
    tail = min(kept[1], len(lengths) - 1 - first)
    start = sum(lengths[:first]) + first
    end = len(text) - sum(lengths[len(lengths) - tail :]) - tail
    if start > end or (first and text[start - 1] != "\n") or (tail and text[end] != "\n"):
        return None  # not a text those changes made (never expected): compare instead
    heads, line_lengths = [], []
    at = start
    while True:
        newline = text.find("\n", at, end)
        stop = end if newline < 0 else newline
        heads.append(text[at : min(stop, at + MAX_LINE_CHARS)])
        line_lengths.append(stop - at)
        if newline < 0:
            return first, tail, heads, line_lengths
        at = newline + 1


def similar_snippets(
    query: frozenset[str],
    documents: Iterable[tuple[str, str]],
    cache: SnippetCache,
    *,
    exclude: tuple[str, int, int] | None = None,
    limit: int = 3,
    min_score: float = 0.15,
    origins: Mapping[str, TextOrigin] | None = None,
) -> list[Snippet]:
    """The windows most similar to ``query`` (Jaccard), best first, at most one per region.

    ``exclude`` is (path, first line, last line) of the region around the cursor, which the
    prompt already shows. ``origins``: where a path's text comes from, if from a document
    (see ``SnippetCache.windows``).
    """
    if not query:
        return []
    scored: list[tuple[float, str, int]] = []  # (-score, path, first line): sorts stably
    size = len(query)
    seen: dict[str, _Windows] = {}
    for path, text in documents:
        windows = seen[path] = cache.windows(path, text, (origins or {}).get(path))
        skip_from, skip_to = -1, -1
        if exclude is not None and path == exclude[0]:
            skip_from, skip_to = exclude[1] - WINDOW, exclude[2]
        for i, window in enumerate(windows.sets):
            shared = len(query & window)
            if not shared:
                continue
            score = shared / (size + len(window) - shared)
            if score < min_score:
                continue
            start = i * STRIDE
            if skip_from < start <= skip_to:
                continue
            scored.append((-score, path, start))
    best = heapq.nsmallest(limit * 8, scored)
    chosen: list[Snippet] = []
    for negative, path, start in best:
        if any(s.path == path and abs(s.start_line - start) < WINDOW for s in chosen):
            continue
        windows = seen[path]
        text = windows.lines(start, WINDOW)
        end = min(start + WINDOW, len(windows.lengths))
        chosen.append(Snippet(path, start, end, text, round(-negative, 4)))
        if len(chosen) >= limit:
            break
    return chosen
