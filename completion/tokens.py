"""Token counting for prompt budgets: the model's own tokenizer, or an estimate if it fails."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class EstimatedTokens:
    """About 3.2 characters a token in code: used until (or unless) a tokenizer is at hand."""

    name = "estimate"

    def count(self, text: str) -> int:
        return (len(text) * 10 + 31) // 32


class ModelTokens:
    """The model's tokenizer; counts of repeated lines are cached (prompts reuse most lines)."""

    name = "model"

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._fallback = EstimatedTokens()
        self._count_cached = lru_cache(maxsize=65536)(self._count_uncached)

    def _count_uncached(self, text: str) -> int:
        try:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        except Exception as error:  # a tokenizer failure degrades, never fails a request
            log.debug("tokenizer failed (%s); estimating", error)
            return self._fallback.count(text)

    def count(self, text: str) -> int:
        return self._count_cached(text)


def load_tokenizer(model_dir: str | Path | None) -> TokenCounter:
    """The tokenizer in ``model_dir`` (tokenizer.json is enough), else the estimate."""
    if model_dir is None:
        return EstimatedTokens()
    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        return EstimatedTokens()
    try:
        from tokenizers import Tokenizer

        return ModelTokens(Tokenizer.from_file(str(path)))
    except Exception as error:
        log.warning("could not load %s (%s); estimating token counts", path, error)
        return EstimatedTokens()
