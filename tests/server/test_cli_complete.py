"""``loomline complete`` and the language server build the same completion stack."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from loomline.completion import factory
from loomline.completion.service import CompletionService
from loomline.server import cli
from loomline.server.app import LoomlineServer
from tests.unit.test_factory import SAMPLE, word_tokenizer_dir
from tests.waiting import eventually


def test_loomline_complete_and_the_server_count_tokens_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = word_tokenizer_dir(tmp_path / "model")
    source = tmp_path / "work" / "add.py"
    source.parent.mkdir()
    source.write_text("def add(a, b):\n    \n")
    built: list[factory.CompletionStack] = []
    real = factory.build_completion_stack

    def spy(*args: Any, **kwargs: Any) -> factory.CompletionStack:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(factory, "build_completion_stack", spy)
    monkeypatch.setattr(cli, "_setup_logging", lambda *args: None)  # keep pytest's logging
    monkeypatch.chdir(source.parent)
    status = cli.main(["complete", f"{source}:2:5", "--backend", "fake", "--model-path",
                       str(model)])
    assert status == 0
    assert capsys.readouterr().out == "return 42\n"
    (from_cli,) = built

    async def from_server() -> CompletionService:
        server = LoomlineServer()
        server.apply_settings({"backend": "fake", "model": {"path": str(model)}})
        await server.start_engine()
        assert server.service is not None and server.engine is not None
        service = server.service
        # The server reads the tokenizer file on a thread once the engine is ready.
        await eventually(lambda: service.counter.name, lambda name: name == "model",
                         what="the server's tokenizer")
        await server.engine.close()
        return service

    served = asyncio.run(from_server())
    assert from_cli.service.counter.name == served.counter.name == "model"
    assert from_cli.service.counter.count(SAMPLE) == served.counter.count(SAMPLE) == 7
    # The editor's workspace context, for the directory the command ran in.
    assert from_cli.service.workspace is from_cli.workspace
    assert from_cli.workspace.folders.root == str(source.parent)
    assert from_cli.workspace.index is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--settings", '{"backend": "fake"'], "not valid JSON"),
        (["--settings", "[1]"], "must be a JSON object"),
    ],
)
def test_bad_settings_json_is_a_clear_message(tmp_path, capsys, args, message):
    from loomline.server.cli import main

    source = tmp_path / "a.py"
    source.write_text("def f():\n    \n")
    assert main(["complete", f"{source}:2:5", *args]) == 2
    assert message in capsys.readouterr().err


def test_positions_count_from_one(tmp_path):
    from loomline.server.cli import main

    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    with pytest.raises(SystemExit, match="count from 1"):
        main(["complete", f"{source}:0:0", "--backend", "fake"])
