"""Several sampled completions of one prompt, with their log probabilities, for ranking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loomline.completion.engines.base import GenerationStats
from loomline.completion.engines.wire import token_logprobs


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of ``n`` sampled completions, for ranking."""

    text: str
    # Sum of the sampled tokens' log probabilities (None if the server gave none).
    logprob: float | None
    finish_reason: str | None
    tokens: int

    @property
    def mean_logprob(self) -> float | None:
        return None if self.logprob is None or not self.tokens else self.logprob / self.tokens


@dataclass(slots=True)
class LogprobStats(GenerationStats):
    """Stats that also collect the streamed tokens' log probabilities.

    Passing one to an engine's ``stream`` asks the server for ``logprobs``.
    """

    cumulative_logprob: float = 0.0
    token_logprobs: list[float] = field(default_factory=list)

    def add(self, choice: dict[str, Any]) -> None:
        """Count the log probabilities of one streamed choice."""
        values = token_logprobs(choice)
        self.token_logprobs.extend(values)
        self.cumulative_logprob += sum(values)


class CandidateCollector:
    """Assembles ``n`` candidates from the streamed choices of one request (by ``index``)."""

    def __init__(self, n: int) -> None:
        self._texts: dict[int, list[str]] = {i: [] for i in range(n)}
        self._logprobs: dict[int, float | None] = dict.fromkeys(range(n))
        self._tokens: dict[int, int] = dict.fromkeys(range(n), 0)
        self._finish: dict[int, str | None] = dict.fromkeys(range(n))

    def add(self, choice: dict[str, Any]) -> None:
        """One streamed choice; indices beyond ``n`` are ignored."""
        index = int(choice.get("index", 0))
        if index not in self._texts:
            return
        self._texts[index].append(choice.get("text") or "")
        values = token_logprobs(choice)
        if values or "logprobs" in choice:
            self._logprobs[index] = (self._logprobs[index] or 0.0) + sum(values)
        self._tokens[index] += len(values) if values else (1 if choice.get("text") else 0)
        if choice.get("finish_reason"):
            self._finish[index] = choice["finish_reason"]

    def candidates(self, cut: Callable[[str], tuple[str, bool]]) -> list[Candidate]:
        """The candidates in index order; ``cut(text) -> (text, stopped)`` applies the stop
        strings the server did not (a cut candidate finished with "stop")."""
        result = []
        for i, parts in self._texts.items():
            text, stopped = cut("".join(parts))
            finish = "stop" if stopped else self._finish[i]
            result.append(Candidate(text, self._logprobs[i], finish, self._tokens[i]))
        return result
