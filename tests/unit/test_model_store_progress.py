"""Preparing a model shows it is alive: the GGUF -> safetensors conversion reports nothing of
its own (a minute for the 1.5B, behind a bar that stood at 0% under "~30 s"), so it ticks with
the seconds so far, and transformers' own bars and warnings stay out of the way."""

from __future__ import annotations

import threading

from loomline.completion.model_store import quiet_transformers, ticking


def test_a_silent_step_ticks_with_the_seconds_so_far_and_stops_with_it() -> None:
    heard: list[str] = []
    ticked_twice = threading.Event()

    def progress(message: str, fraction: float | None) -> None:
        assert fraction is None  # no fraction is invented for a step that has none
        heard.append(message)
        if len(heard) >= 3:
            ticked_twice.set()

    with ticking(progress, "converting to safetensors (once)", 0.01):
        assert ticked_twice.wait(30)
    after_the_step = len(heard)
    assert heard[0] == "converting to safetensors (once)"
    assert all(m.startswith(heard[0] + ": ") and m.endswith(" s") for m in heard[1:])
    # The ticker thread was joined on the way out: nothing more arrives after the step.
    assert not any(t.name == "loomline-progress-tick" for t in threading.enumerate())
    assert len(heard) == after_the_step


def test_the_ticker_stops_when_the_step_fails() -> None:
    heard: list[str] = []
    try:
        with ticking(lambda m, f: heard.append(m), "converting", 0.01):
            raise RuntimeError("the GGUF file is damaged")
    except RuntimeError:
        pass
    assert heard[0] == "converting"
    assert not any(t.name == "loomline-progress-tick" for t in threading.enumerate())


def test_transformers_is_quiet_during_the_conversion_and_as_before_after() -> None:
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    with quiet_transformers():
        assert hf_logging.get_verbosity() == hf_logging.ERROR
        assert not hf_logging.is_progress_bar_enabled()
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == before
