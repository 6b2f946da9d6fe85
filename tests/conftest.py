"""Shared fixtures. The real-model tests share one prepared model (prepared once per machine)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
LOOMLINE = [sys.executable, "-m", "loomline.server.cli"]


def server_command(*extra: str) -> list[str]:
    log_file = os.environ.get("LOOMLINE_TEST_LOG_FILE")
    logging = ["--log-file", log_file] if log_file else []
    return [*LOOMLINE, "--log-level", os.environ.get("LOOMLINE_TEST_LOG", "info"), *logging, *extra]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The prepared embedded model; prepared here if missing (minutes, once per machine)."""
    from loomline.completion.model_store import ModelStore
    from loomline.completion.settings import DEFAULT_MODEL_ID

    return ModelStore().resolve(DEFAULT_MODEL_ID)
