"""The generate command's argument (read and written in one place) and how commands are run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from loomline.context.positions import Position
from loomline.server.commands import CommandProtocol, add_request_command
from loomline.server.generate_args import GenerateArgs

URI = "file:///w/a.py"


def _at(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        (
            {"textDocument": {"uri": URI}, "position": _at(2, 4), "instruction": "  add  "},
            GenerateArgs(URI, "add", Position(2, 4)),
        ),
        # A reversed range is ordered; maxTokens kept when it is a positive int.
        (
            {
                "textDocument": {"uri": URI},
                "range": {"start": _at(5, 0), "end": _at(3, 2)},
                "instruction": "shorter",
                "maxTokens": 64,
            },
            GenerateArgs(URI, "shorter", Position(3, 2), Position(5, 0), 64),
        ),
        # An empty range inserts at its start; a bad maxTokens is ignored.
        (
            {
                "textDocument": {"uri": URI},
                "range": {"start": _at(1, 1), "end": _at(1, 1)},
                "instruction": "x",
                "maxTokens": True,
            },
            GenerateArgs(URI, "x", Position(1, 1)),
        ),
    ],
)
def test_parse(argument, expected):
    assert GenerateArgs.parse([argument]) == expected


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (None, "expected one argument"),
        ([], "expected one argument"),
        (["junk"], "expected one argument"),
        ([{"position": _at(0, 0), "instruction": "x"}], "textDocument.uri is missing"),
        ([{"textDocument": {"uri": URI}, "position": _at(0, 0)}], "the instruction is empty"),
        ([{"textDocument": {"uri": URI}, "instruction": "x"}], "position or range is missing"),
        (
            [{"textDocument": {"uri": URI}, "position": _at(-1, 0), "instruction": "x"}],
            "position or range is missing",
        ),
        (
            [{"textDocument": {"uri": URI}, "range": {"start": _at(0, 0)}, "instruction": "x"}],
            "range must have start and end positions",
        ),
        # JSON true is not line 1 (bool is an int in Python).
        (
            [{"textDocument": {"uri": URI}, "position": {"line": True, "character": 0},
              "instruction": "x"}],
            "position or range is missing",
        ),
    ],
)
def test_parse_says_what_is_wrong(arguments, problem):
    parsed = GenerateArgs.parse(arguments)
    assert isinstance(parsed, str) and parsed.startswith(problem)


def test_an_empty_instruction_takes_the_default():
    argument = {"textDocument": {"uri": URI}, "range": {"start": _at(0, 0), "end": _at(2, 0)}}
    parsed = GenerateArgs.parse([argument], default_instruction="Improve this code")
    assert parsed == GenerateArgs(URI, "Improve this code", Position(0, 0), Position(2, 0))


@pytest.mark.parametrize(
    "args",
    [
        GenerateArgs(URI, "add", Position(2, 4)),
        GenerateArgs(URI, "shorter", Position(3, 2), Position(5, 0), 64),
    ],
)
def test_to_json_reads_back(args):
    assert GenerateArgs.parse([args.to_json()]) == args


def test_to_json_leaves_out_what_is_not_set():
    assert GenerateArgs(URI, "", Position(1, 2), Position(3, 0)).to_json() == {
        "textDocument": {"uri": URI},
        "range": {"start": _at(1, 2), "end": _at(3, 0)},
    }


# ---- running commands ----------------------------------------------------------------------
def _server() -> tuple[LanguageServer, CommandProtocol]:
    server = LanguageServer("t", "1", protocol_cls=CommandProtocol)
    assert isinstance(server.protocol, CommandProtocol)
    return server, server.protocol


def _execute(command: str, arguments: list[Any] | None, token: str | None = None) -> Any:
    return types.ExecuteCommandParams(command=command, arguments=arguments, work_done_token=token)


async def test_a_request_command_gets_its_params_and_is_advertised():
    server, protocol = _server()
    seen: list[types.ExecuteCommandParams] = []

    async def handler(params: types.ExecuteCommandParams) -> str:
        seen.append(params)
        return "done"

    add_request_command(server, "t.run", handler)
    assert "t.run" in protocol.fm.commands
    params = _execute("t.run", [{"a": 1}], token="tok-1")
    assert await protocol.lsp_workspace__execute_command(params) == "done"
    assert seen == [params]


async def test_cancelling_the_request_cancels_a_request_command_at_its_await():
    server, protocol = _server()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(params: types.ExecuteCommandParams) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    add_request_command(server, "t.slow", handler)
    # pygls runs an async handler as the request's own task, which $/cancelRequest cancels.
    task = asyncio.ensure_future(protocol.lsp_workspace__execute_command(_execute("t.slow", [])))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()


async def test_other_commands_run_as_pygls_runs_them():
    server, protocol = _server()

    @server.command("t.sync")
    def sync(ls: LanguageServer, *args: Any) -> list[Any]:
        return [ls is server, *args]

    @server.command("t.typed")
    async def typed(ls: LanguageServer, position: types.Position) -> int:
        return position.line  # converted from JSON by its annotation

    assert await protocol.lsp_workspace__execute_command(_execute("t.sync", [1, "x"])) == [
        True,
        1,
        "x",
    ]
    typed_params = _execute("t.typed", [{"line": 7, "character": 0}])
    assert await protocol.lsp_workspace__execute_command(typed_params) == 7
    with pytest.raises(JsonRpcInvalidParams):
        await protocol.lsp_workspace__execute_command(_execute("t.unknown", []))


async def test_under_another_protocol_a_request_command_still_runs_with_its_arguments():
    server = LanguageServer("t", "1")
    seen: list[types.ExecuteCommandParams] = []

    async def handler(params: types.ExecuteCommandParams) -> int:
        seen.append(params)
        return 3

    add_request_command(server, "t.run", handler)
    assert await server.protocol.fm.commands["t.run"](1, 2) == 3
    assert seen[0].arguments == [1, 2] and seen[0].work_done_token is None
