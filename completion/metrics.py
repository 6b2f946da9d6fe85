"""The completion service's counters, and the snapshot the status command shows."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from loomline.completion.engines.base import GenerationStats


@dataclass(slots=True)
class ServiceMetrics:
    """Counts since the service started. The request flow (``CompletionService``) writes the
    request counters, requests to cancelled; the pool (``GenerationPool``) the generation
    ones, generated_tokens to recent."""

    requests: int = 0
    completions: int = 0
    typed_through: int = 0  # answered from a finished suggestion the user typed into
    joined: int = 0  # answered by a running generation the user typed into
    debounced: int = 0  # requests held back for a pause
    skipped: int = 0
    cancelled: int = 0
    generated_tokens: int = 0
    served_tokens: int = 0  # generated tokens of generations whose answer reached a request
    wasted_generations: int = 0  # started for a typing pause, dropped before anyone saw them
    # The stats of recent generations, still updated by engines that are winding down.
    recent: deque[GenerationStats] = field(default_factory=lambda: deque(maxlen=64))

    def snapshot(self) -> dict[str, object]:
        """The counters under their camelCase names (token counts in tokens, times in ms)."""
        return {
            "requests": self.requests,
            "completions": self.completions,
            "typedThrough": self.typed_through,
            "joined": self.joined,
            "debounced": self.debounced,
            "generatedTokens": self.generated_tokens,
            "wastedTokens": self.generated_tokens - self.served_tokens,
            "wastedGenerations": self.wasted_generations,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "recentGeneratedTokens": sum(s.generated_tokens for s in self.recent),
            "recent": [
                {
                    "promptTokens": s.prompt_tokens,
                    "cachedPromptTokens": s.cached_prompt_tokens,
                    "generatedTokens": s.generated_tokens,
                    "firstTokenMs": None if s.first_token_s is None else s.first_token_s * 1000,
                    "finishReason": s.finish_reason,
                }
                for s in list(self.recent)[-8:]
            ],
        }
