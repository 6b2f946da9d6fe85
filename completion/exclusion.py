"""Files the user excluded: nothing of them is sent to a model (``context.exclude``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

EXCLUDED = "the file matches an exclusion pattern; nothing is sent"


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    """Whether ``path`` matches one of the glob ``patterns`` (``**/x`` also matches ``x`` and
    any file named ``x``)."""
    return any(
        fnmatch.fnmatch(path, pattern)
        or fnmatch.fnmatch(path, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
        for pattern in patterns
    )
