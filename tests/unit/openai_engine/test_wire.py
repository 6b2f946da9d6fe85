"""The OpenAI completions wire format and the candidate collector, as pure functions."""

from __future__ import annotations

import pytest

from loomline.completion.engines.base import (
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.candidates import Candidate, CandidateCollector, LogprobStats
from loomline.completion.engines.wire import (
    DONE,
    StreamTally,
    completions_body,
    describe,
    error_text,
    parse_sse_line,
)


def test_body_sends_four_stops_and_keeps_special_tokens_for_them() -> None:
    stops = ("<|endoftext|>", "\n\n", "a", "b", "\nclass ")
    request = GenerationRequest("p", SamplingParams(max_tokens=8, stop=stops), adapter="lora")
    assert completions_body(request, "model", n=3, logprobs=1) == {
        "model": "lora", "prompt": "p", "max_tokens": 8, "temperature": 0.0, "top_p": 1.0,
        "stream": True, "stream_options": {"include_usage": True},
        "stop": ["<|endoftext|>", "\n\n", "a", "b"], "skip_special_tokens": False,
        "logprobs": 1, "n": 3,
    }


def test_body_without_stops_seed_or_logprobs() -> None:
    body = completions_body(GenerationRequest("p", SamplingParams(seed=3)), "model")
    assert body["model"] == "model"
    assert not {"stop", "skip_special_tokens", "seed", "logprobs", "n"} & body.keys()


@pytest.mark.parametrize(("line", "expected"), [
    ('data: {"choices": []}', {"choices": []}),
    ("data:[DONE]", DONE),
    ("data: ", None),
    (": keep-alive comment", None),
    ("event: message", None),
    ("data: [1, 2]", None),  # not an object
])
def test_sse_lines(line: str, expected: object) -> None:
    assert parse_sse_line(line) == expected


def test_an_unreadable_event_means_the_engine_is_unusable() -> None:
    with pytest.raises(EngineUnavailable, match="unreadable event"):
        parse_sse_line("data: {not json")


def test_tally_takes_usage_over_counted_chunks() -> None:
    stats = GenerationStats()
    tally = StreamTally(stats, started=0.0)
    choices = tally.add({"choices": [{"text": "a"}, {"text": ""}]})
    assert [c["text"] for c in choices] == ["a", ""]
    tally.add({"choices": [{"text": "b", "finish_reason": "length"}]})
    assert tally.finished and stats.finish_reason == "length"
    assert stats.first_token_s is not None
    tally.close()
    assert stats.generated_tokens == 2  # counted: no usage came
    usage = {"prompt_tokens": 9, "completion_tokens": 5,
             "prompt_tokens_details": {"cached_tokens": 4}}
    tally = StreamTally(stats := GenerationStats(), started=0.0)
    tally.add({"choices": [{"text": "a"}]})
    tally.add({"choices": [], "usage": usage})
    tally.close()
    assert (stats.prompt_tokens, stats.generated_tokens, stats.cached_prompt_tokens) == (9, 5, 4)


def test_error_text_and_describe() -> None:
    assert error_text({"error": {"message": "no such model"}}) == "no such model"
    assert error_text({"detail": "bad"}) == "bad"  # FastAPI's shape
    assert error_text({"error": "plain"}) == "plain"
    assert error_text(["x" * 400]) == str(["x" * 400])[:300]
    assert describe(ValueError("bad")) == "ValueError: bad"
    assert describe(TimeoutError()) == "TimeoutError"


def test_candidates_by_index_with_logprobs_and_local_stops() -> None:
    collector = CandidateCollector(2)
    collector.add({"index": 0, "text": "x = 1", "logprobs": {"token_logprobs": [-0.5, -0.5]}})
    collector.add({"index": 1, "text": "y", "finish_reason": "length"})
    collector.add({"index": 5, "text": "ignored"})
    collector.add({"index": 0, "text": "\nclass A", "finish_reason": "length",
                   "logprobs": {"token_logprobs": [-1.0, None]}})
    got = collector.candidates(lambda text: (text.split("\nclass")[0], "\nclass" in text))
    assert got == [Candidate("x = 1", -2.0, "stop", 3), Candidate("y", None, "length", 1)]
    assert got[1].mean_logprob is None


def test_logprob_stats_add_up() -> None:
    stats = LogprobStats()
    stats.add({"logprobs": {"token_logprobs": [-1.0, None, -0.25]}})
    stats.add({"text": "no logprobs"})
    assert stats.token_logprobs == [-1.0, -0.25] and stats.cumulative_logprob == -1.25
