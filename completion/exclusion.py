"""Files the user excluded: nothing of them is sent to a model (``context.exclude``)."""

from __future__ import annotations

from collections.abc import Iterable

from loomline.context.privacy import matches_glob

EXCLUDED = "the file matches an exclusion pattern; nothing is sent"


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    """Whether ``path`` matches one of the glob ``patterns``, with ``.gitignore`` semantics
    (``x`` and ``**/x`` name a file anywhere; see ``context.privacy``, which also reads the
    ``.gitignore`` files when it knows the workspace folders)."""
    return matches_glob(path, patterns)
