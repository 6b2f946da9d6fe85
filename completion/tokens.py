"""Token counting for prompt budgets: the model's own tokenizer, or an estimate if it fails."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from loomline.completion.model_store import ModelStore
from loomline.completion.settings import ModelSettings
from loomline.context.bounded_cache import BoundedCache

log = logging.getLogger(__name__)

# Counts of texts (lines, and prompt windows of thousands of characters each) kept: bounded by
# their characters, since a typing session counts a new window at every keystroke.
MAX_COUNTED_CHARS = 4_000_000
MAX_COUNTED_TEXTS = 65_536


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class EstimatedTokens:
    """About 3.2 characters a token in code: used until (or unless) a tokenizer is at hand."""

    name = "estimate"

    def count(self, text: str) -> int:
        return (len(text) * 10 + 31) // 32


class ModelTokens:
    """The model's tokenizer; counts of repeated texts are cached (prompts reuse most lines),
    up to ``MAX_COUNTED_CHARS`` characters of them."""

    name = "model"

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._fallback = EstimatedTokens()
        self._counts: BoundedCache[str, int] = BoundedCache(MAX_COUNTED_CHARS,
                                                            MAX_COUNTED_TEXTS)

    def _count_uncached(self, text: str) -> int:
        try:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        except Exception as error:  # a tokenizer failure degrades, never fails a request
            log.debug("tokenizer failed (%s); estimating", error)
            return self._fallback.count(text)

    def count(self, text: str) -> int:
        found = self._counts.get(text)
        if found is None:
            found = self._count_uncached(text)
            self._counts.put(text, found)
        return found


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


def counter_for(tokenizer: Any | None, model_dir: str | Path | None) -> TokenCounter:
    """The one choice of counter for prompt budgets: the engine's loaded ``tokenizer``, else
    the ``tokenizer.json`` in ``model_dir``, else the estimate."""
    if tokenizer is not None:
        return ModelTokens(tokenizer)
    return load_tokenizer(model_dir)


def local_tokenizer_dir(model: ModelSettings) -> Path | None:
    """A local directory with ``model``'s ``tokenizer.json`` (``model.path``, else the prepared
    copy in the model cache), or None: lets a remote engine's prompts be budgeted exactly."""
    try:
        candidates = [Path(model.path).expanduser()] if model.path else []
        candidates.append(ModelStore(model.cache_dir).prepared_dir(model.id))
    except (OSError, ValueError, RuntimeError):
        return None
    return next((c for c in candidates if (c / "tokenizer.json").is_file()), None)
