"""server/code_actions.py: which generate actions a range offers, and what they carry."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from loomline.server.code_actions import (
    KIND,
    TITLE_COMMENT,
    TITLE_IMPLEMENT,
    TITLE_REWRITE,
    _client_asks,
    _wanted,
    actions_for,
)

URI = "file:///t/a.py"
LINES = [
    "import os",  # 0
    "",  # 1
    "# TODO: parse the header of the file",  # 2
    "def size(path: str) -> int:",  # 3
    '    """The size of the file at ``path``, in bytes."""',  # 4
    "",  # 5
    "x = 1  # 😀 done",  # 6
]


def _range(line: int, character: int, end_line: int | None = None, end: int | None = None):
    return types.Range(
        start=types.Position(line, character),
        end=types.Position(line if end_line is None else end_line,
                           character if end is None else end),
    )


def _generate(title: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(title=title, command=command, arguments=[argument]),
    )


def test_a_comment_that_says_something_generates_below_it():
    assert actions_for(URI, "python", LINES, _range(2, 3)) == [
        _generate(
            TITLE_COMMENT,
            "loomline.generate",
            {
                "textDocument": {"uri": URI},
                "position": {"line": 2, "character": len(LINES[2])},
                "instruction": "parse the header of the file",
            },
        )
    ]


@pytest.mark.parametrize("line", [3, 4])
def test_a_python_stub_is_implemented_after_its_docstring(line: int):
    assert actions_for(URI, "python", LINES, _range(line, 0)) == [
        _generate(
            TITLE_IMPLEMENT,
            "loomline.generate",
            {
                "textDocument": {"uri": URI},
                "position": {"line": 4, "character": len(LINES[4])},
                "instruction": "Implement the function `size`.",
            },
        )
    ]


def test_stubs_are_python_only():
    assert actions_for(URI, "rust", LINES, _range(3, 0)) == []


def test_a_selection_is_rewritten_with_the_default_instruction():
    actions = actions_for(URI, "python", LINES, _range(0, 0, 1, 0))
    assert actions == [
        _generate(
            TITLE_REWRITE,
            "loomline.rewriteSelection",
            {
                "textDocument": {"uri": URI},
                "range": {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": 1, "character": 0},
                },
                "instruction": "Improve this code",
            },
        )
    ]


def test_a_client_that_asks_the_user_gets_no_instruction():
    (action,) = actions_for(URI, "python", LINES, _range(0, 0, 1, 0), client_asks=True)
    assert action.command is not None and action.command.arguments is not None
    assert "instruction" not in action.command.arguments[0]
    assert action.command.arguments[0]["range"]["end"] == {"line": 1, "character": 0}


def test_a_selection_on_a_comment_offers_both_rewrite_then_generate():
    actions = actions_for(URI, "python", LINES, _range(2, 0, 2, 10))
    assert [a.title for a in actions] == [TITLE_REWRITE, TITLE_COMMENT]


def test_end_of_line_is_in_utf16_code_units():
    line = "# explain this 😀 emoji"
    assert len(line) == 22  # code points; the emoji is two UTF-16 code units
    (action,) = actions_for(URI, "python", [line], _range(0, 0))
    assert action.command is not None and action.command.arguments is not None
    assert action.command.arguments[0]["position"] == {"line": 0, "character": 23}
    assert action.command.arguments[0]["instruction"] == "explain this 😀 emoji"


@pytest.mark.parametrize("line", [len(LINES), 99])
def test_a_range_outside_the_document_offers_nothing(line: int):
    assert actions_for(URI, "python", LINES, _range(line, 0)) == []


@pytest.mark.parametrize("line", [0, 1, 5, 6])
def test_ordinary_lines_offer_nothing(line: int):
    assert actions_for(URI, "python", LINES, _range(line, 0)) == []


@pytest.mark.parametrize(
    ("only", "wanted"),
    [
        # As the wire gives them: plain strings.
        (None, True),
        ([], True),
        (["refactor.rewrite"], True),
        (["refactor"], True),  # a parent kind asks for its children
        (["refactor.rewrite.loomline"], False),  # a child kind does not ask for its parent
        (["quickfix"], False),
        (["quickfix", "refactor"], True),
        (["refactorx"], False),  # a prefix of the name is not a parent kind
    ],
)
def test_wanted_kinds(only: list[str] | None, wanted: bool):
    assert _wanted(only) is wanted


class _Client:
    def __init__(self, experimental: Any) -> None:
        self.client_capabilities = types.ClientCapabilities(experimental=experimental)


@pytest.mark.parametrize(
    ("experimental", "asks"),
    [
        (None, False),
        ({}, False),
        ({"loomline": {"inputBox": True}}, True),
        ({"loomline": {"inputBox": "yes"}}, False),  # only a real true
        ({"loomline": True}, False),
        (["loomline"], False),
    ],
)
def test_client_asks(experimental: Any, asks: bool):
    assert _client_asks(_Client(experimental)) is asks  # type: ignore[arg-type]


def test_a_server_without_capabilities_yet_does_not_ask():
    class Uninitialized:
        @property
        def client_capabilities(self) -> types.ClientCapabilities:
            raise RuntimeError("not initialized")

    assert _client_asks(Uninitialized()) is False
