"""Completion backends behind one interface; each imported only when chosen."""

from __future__ import annotations

from loomline.completion.engines.base import Engine
from loomline.completion.model_store import ProgressCallback
from loomline.completion.settings import Settings


def create_engine(settings: Settings, progress: ProgressCallback | None = None) -> Engine:
    if settings.backend == "fake":
        from loomline.completion.engines.fake import FakeEngine

        return FakeEngine(settings.fake)
    if settings.backend == "vllm":
        from loomline.completion.engines import openai

        return openai.create(settings)
    from loomline.completion.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings, progress=progress)
