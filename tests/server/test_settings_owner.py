"""The server's settings have one owner: the service and the workspace context read it."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from loomline.server.app import LoomlineServer


@pytest.fixture(autouse=True)
def keep_log_level():
    # apply_settings sets the package's log level (logLevel).
    logger = logging.getLogger("loomline")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture
def shown() -> list[str]:
    return []


@pytest.fixture
async def server(shown: list[str]):
    ls = LoomlineServer()
    ls.status.problem = lambda message, *args: shown.append(message)  # type: ignore[method-assign]
    yield ls
    if ls.engine is not None:
        await ls.engine.close()


async def test_service_and_context_read_the_servers_settings(
    server: LoomlineServer, shown: list[str]
):
    assert server.apply_settings({"backend": "fake", "completion": {"maxTokens": 0}})
    assert shown == [
        "settings: setting 'completion.maxTokens': must be between 1 and 4096 (got 0); kept 128"
    ]
    await server.start_engine()
    assert server.engine is not None and server.engine.name == "fake"
    assert server.service is not None
    # A change that needs no new engine reaches everyone at once: nobody holds a copy.
    assert not server.apply_settings(
        {"completion": {"maxDebounceMs": 100, "maxTokens": 64}, "context": {"enabled": False}}
    )
    assert server.service.settings is server.settings
    assert server.workspace_context.settings is server.settings
    assert server.settings.completion.max_tokens == 64
    # Derived values follow: the longest debounce wait comes from the current settings.
    assert server.service.rhythm.max_s == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("raw", "restart"),
    [
        ({"backend": "fake"}, True),
        ({"model": {"template": "starcoder"}}, True),
        ({"engine": {"candidates": 2}}, True),
        ({"fake": {"response": "x"}}, True),
        ({"completion": {"maxTokens": 64}}, False),
        ({"context": {"layout": "comments"}, "logLevel": "debug"}, False),
        ({"backend": "embedded"}, False),  # no change
        ({"model": {"template": "nope"}}, False),  # refused: nothing changed
    ],
)
def test_engine_restarts_only_for_engine_settings(
    server: LoomlineServer, raw: dict[str, Any], restart: bool
):
    assert server.apply_settings(raw) is restart
