"""A least-recently-used cache bounded by the size of what it holds, not only by its count.

The caches on the typing path are keyed by text (a line, a prompt window, a prefix and a
suffix) that grows with the document: a bound on entries alone lets a cache of windows of a
large file hold hundreds of megabytes. Each entry here has a cost (by default the length of
its key, for text keys); the oldest entries go while the total is over ``max_cost`` or the
count over ``max_entries``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def text_cost(key: object, value: object) -> int:
    """Characters of the texts in a key (a str or a tuple of them) and value, plus a little
    per entry: about what the entry costs in bytes for ASCII text."""
    return 64 + _chars(key) + _chars(value)


def _chars(item: object) -> int:
    if isinstance(item, str | bytes):
        return len(item)
    if isinstance(item, tuple):
        return sum(_chars(part) for part in item)
    return 0


class BoundedCache(Generic[K, V]):
    """LRU by total cost; thread-safe (one lock, held for dictionary work only)."""

    def __init__(
        self,
        max_cost: int,
        max_entries: int | None = None,
        cost: Callable[[K, V], int] = text_cost,
    ) -> None:
        self.max_cost = max_cost
        self.max_entries = max_entries
        self._cost = cost
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recent), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        """Keep ``value``; an entry that alone costs more than ``max_cost`` is not kept."""
        cost = self._cost(key, value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1]
            if cost > self.max_cost:
                return
            self._entries[key] = (value, cost)
            self._total += cost
            while self._total > self.max_cost or (
                self.max_entries is not None and len(self._entries) > self.max_entries
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped

    def pop(self, key: K) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    @property
    def cost(self) -> int:
        """The total cost held now."""
        return self._total

    def __len__(self) -> int:
        return len(self._entries)
