"""``loomline.generate`` with the fake backend's default answer, as the VS Code end-to-end run
uses it: the answer is dropped where it repeats the line before the cursor (the model
restating the code it continues), and written where it is new (a file's first line)."""

from __future__ import annotations

import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from loomline.completion.settings import FakeSettings
from tests.conftest import server_command
from tests.e2e.test_generate import ROOT, _args, _generate, _ready, _start

ANSWER = FakeSettings().response  # what the fake writes for every request ("return 42")
INSTRUCTION = "Write a Python function is_even(n) that returns True when n is even."
# The VS Code run's file once the fake's completion was accepted as the function's body.
ACCEPTED = f'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    {ANSWER}\n\n'


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def client(lsp_client: LanguageClient):
    await _start(lsp_client, {"backend": "fake"})
    yield
    await lsp_client.shutdown_session()


async def test_an_answer_repeating_the_line_before_is_not_written(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/repeat.py"
    client.docs.open(uri, ACCEPTED)  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, INSTRUCTION, line=4))
    assert result == {"applied": False, "text": ""}
    assert client.docs.edits == []  # type: ignore[attr-defined]
    assert client.docs.texts[uri] == ACCEPTED  # type: ignore[attr-defined]


async def test_the_same_answer_on_a_new_first_line_is_written(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/first_line.py"
    client.docs.open(uri, "\n" + ACCEPTED)  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, INSTRUCTION, line=0))
    assert result == {"applied": True, "text": ANSWER}
    assert client.docs.texts[uri] == ANSWER + "\n" + ACCEPTED  # type: ignore[attr-defined]
