"""Caches on the typing path hold a bounded amount of memory whatever the size of the texts
they are keyed by (they were bounded by their count of entries only)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from loomline.completion.tokens import MAX_COUNTED_CHARS, ModelTokens
from loomline.context.bounded_cache import BoundedCache
from loomline.context.redaction import SecretRedactor
from loomline.context.snippets import MAX_CACHED_LINE_BYTES, SnippetCache


def test_the_oldest_entries_go_when_the_cost_is_over_the_bound():
    cache: BoundedCache[str, int] = BoundedCache(max_cost=300, cost=lambda key, _: len(key))
    for key in ("a" * 100, "b" * 100, "c" * 100):
        cache.put(key, 1)
    assert cache.get("a" * 100) == 1  # now the most recent: "b" goes first
    cache.put("d" * 100, 1)
    assert cache.get("b" * 100) is None and cache.get("a" * 100) == 1
    assert cache.cost == 300 and len(cache) == 3
    cache.put("e" * 301, 1)  # alone over the bound: not kept, nothing dropped for it
    assert cache.get("e" * 301) is None and len(cache) == 3


def test_an_entry_bound_applies_too_and_a_put_replaces():
    cache: BoundedCache[str, str] = BoundedCache(max_cost=10**6, max_entries=2)
    cache.put("x", "1")
    cache.put("x", "22")
    cache.put("y", "3")
    cache.put("z", "4")
    assert cache.get("x") is None and cache.get("z") == "4" and len(cache) == 2
    cache.pop("z")
    cache.clear()
    assert len(cache) == 0 and cache.cost == 0


def _retained_bytes(work: Callable[[], object]) -> int:
    """Bytes still allocated after ``work`` (its result kept alive while measured)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = work()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


class _Tokenizer:
    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [0] * (len(text) // 4)


def _windows(count: int, size: int) -> Iterator[str]:
    """A typing session's prompt windows: the same large text, one character more each."""
    body = "x = compute(values, limit=10)\n" * (size // 30)
    for typed in range(count):
        yield body + "y" * typed


def test_token_counts_keep_a_bounded_amount_of_text():
    counter = ModelTokens(_Tokenizer())

    def count_windows() -> ModelTokens:
        for window in _windows(1_500, 8_000):  # 12 MB of distinct windows
            counter.count(window)
        return counter

    assert _retained_bytes(count_windows) < MAX_COUNTED_CHARS * 1.5


def test_snippet_token_sets_keep_a_bounded_amount_of_memory():
    cache = SnippetCache()

    def type_lines() -> SnippetCache:
        # Every version of a long line typed into, each judged once (a new token each time).
        head = "result = transform(alpha, beta, gamma, delta, epsilon, zeta, eta) + "
        for typed in range(12_000):
            cache.windows("/w/a.py", f"import os\n{head}value_{typed}\n")
        return cache

    assert _retained_bytes(type_lines) < MAX_CACHED_LINE_BYTES * 1.5


@pytest.mark.timeout(300)
def test_redacted_texts_keep_a_bounded_amount_of_text():
    redactor = SecretRedactor()
    big = "".join(f"value_{i} = compute(values, limit={i})\n" for i in range(6_000))

    def redact_versions() -> SecretRedactor:
        for typed in range(32):  # 32 versions of a 220,000-character text: 14 MB
            redactor.text(big + "z" * typed, "a.py")
        return redactor

    assert _retained_bytes(redact_versions) < 8 * 2**20
