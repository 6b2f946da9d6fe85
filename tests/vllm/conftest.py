"""One real vLLM server for the whole session, started the way `loomline engine serve` does.

Skipped only where vLLM is not installed and $CI is unset; in CI a missing vLLM or model
fails loudly (see vllm_support.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loomline.server.vllm_server import VllmServer
from tests.vllm.vllm_support import start_server


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    server = start_server(tmp=tmp_path_factory.mktemp("vllm"))
    yield server
    server.stop(grace_s=10)

