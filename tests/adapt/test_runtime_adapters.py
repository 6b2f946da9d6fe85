"""A runtime that cannot apply LoRA adapters (ONNX) answers with the base model and says so
once, whichever adapters its requests name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loomline.completion.engines.base import GenerationRequest
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.settings import ModelSettings, Settings


class _Runner:
    tokenizer = None

    def warm_up(self) -> None:
        pass

    def run(self, job: Any) -> None:
        job.emit("base answer")
        job.stats.finish_reason = "stop"


def test_the_onnx_engine_says_it_applies_no_adapters() -> None:
    pytest.importorskip("onnxruntime_genai")
    from loomline.completion.engines.onnx import OnnxEngine

    assert OnnxEngine.applies_adapters is False and EmbeddedEngine.applies_adapters is True


async def test_adapters_ignored_are_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoAdapters(EmbeddedEngine):
        name = "onnx"
        applies_adapters = False

        def _open_model(self, report: Any) -> Any:
            return _Runner()

    messages: list[str] = []
    engine = NoAdapters(Settings(model=ModelSettings(path=str(tmp_path))), notify=messages.append)
    await engine.wait_ready(timeout=10)
    answers = []
    for adapter in ("team-a", "team-b", None, "team-a"):
        request = GenerationRequest("x", adapter=adapter)
        answers.append("".join([c async for c in engine.stream(request)]))
    await engine.close()
    assert answers == ["base answer"] * 4
    assert messages == ["the onnx runtime does not apply LoRA adapters: 'team-a' "
                        "(engine.adapters) is ignored; model.runtime 'torch' applies them"]
