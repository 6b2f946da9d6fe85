"""Fixtures of the OpenAI-compatible engine tests: a scripted server and an engine on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from loomline.completion.engines.openai import OpenAICompletionsEngine
from tests.unit.openai_engine.fake_server import FakeOpenAI, make_engine


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def engine(server: FakeOpenAI) -> AsyncIterator[OpenAICompletionsEngine]:
    eng = make_engine(server.url)
    yield eng
    await eng.close()
