"""One real vLLM server for the whole session, started the way `loomline engine serve` does,
with two LoRA adapters beside the base model.

Skipped only where vLLM is not installed and $CI is unset; in CI a missing vLLM or model
fails loudly (see vllm_support.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loomline.server.vllm_server import VllmServer
from tests.vllm.vllm_support import make_adapters, require_vllm, start_server


@pytest.fixture(scope="session")
def lora_adapters(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]] | None:
    """Two LoRA adapters for the test model ((name, path)), or None without peft."""
    require_vllm()
    return make_adapters(tmp_path_factory.mktemp("adapters"))


@pytest.fixture(scope="session")
def vllm_server(
    tmp_path_factory: pytest.TempPathFactory, lora_adapters: list[tuple[str, str]] | None
) -> Iterator[VllmServer]:
    """The session's server: the base model as SERVED_NAME, and the adapters (one copy of the
    base weights serves them all, as in production)."""
    server = start_server(tmp=tmp_path_factory.mktemp("vllm"), loras=lora_adapters)
    yield server
    server.stop(grace_s=10)

