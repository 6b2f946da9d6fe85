"""Completion backends behind one interface; each imported only when chosen."""

from __future__ import annotations

import logging
from collections.abc import Callable

from loomline.completion.engines.base import Engine
from loomline.completion.model_store import ProgressCallback
from loomline.completion.settings import Settings, embedded_runtime

log = logging.getLogger(__name__)


def create_engine(
    settings: Settings,
    progress: ProgressCallback | None = None,
    notify: Callable[[str], None] | None = None,
) -> Engine:
    """The engine for ``settings.backend``; not started. ``progress`` hears model preparation;
    ``notify`` gets messages for the user (the embedded engine's LoRA adapters)."""
    if settings.backend == "fake":
        from loomline.completion.engines.fake import FakeEngine
        from loomline.completion.tokens import local_tokenizer_dir

        # With an explicit model.path, prompts are counted as that model would count them.
        model_dir = local_tokenizer_dir(settings.model) if settings.model.path else None
        return FakeEngine(settings.fake, model_dir=model_dir)
    if settings.backend == "vllm":
        from loomline.completion.engines import openai

        return openai.create(settings)
    runtime, why = embedded_runtime(settings)
    log.info("embedded model: %s", why)
    if runtime == "onnx":
        from loomline.completion.engines.onnx import OnnxEngine

        return OnnxEngine(settings, progress=progress, notify=notify)
    from loomline.completion.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings, progress=progress, notify=notify)
