"""server/strict_params.py: the client's JSON read strictly (no coercion), errors in one line."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from loomline.server.strict_params import command_argument, describe, strict_converter

CONVERTER = strict_converter()
BASE: dict[str, Any] = {"textDocument": {"uri": "file:///w.py"},
                        "position": {"line": 1, "character": 4},
                        "context": {"triggerKind": 2}}


def read(params: dict[str, Any]) -> types.InlineCompletionParams:
    return CONVERTER.structure(params, types.InlineCompletionParams)


def test_well_typed_params_read_as_before():
    params = read({**BASE, "workDoneToken": "t1"})
    assert params.position == types.Position(1, 4)
    assert params.context.trigger_kind is types.InlineCompletionTriggerKind.Automatic
    assert params.work_done_token == "t1"
    assert read({**BASE, "workDoneToken": 7}).work_done_token == 7
    change = CONVERTER.structure({"textDocument": {"uri": "file:///w.py", "version": 3},
                                  "contentChanges": [{"text": "x"}]},
                                 types.DidChangeTextDocumentParams)
    assert change.text_document.version == 3


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"position": {"line": "3", "character": 0}},
         "position.line: expected an integer, got a string ('3')"),
        ({"position": {"line": 1, "character": 1.5}},
         "position.character: expected an integer, got a number (1.5)"),
        ({"position": {"line": False, "character": 0}},
         "position.line: expected an integer, got a boolean (False)"),
        ({"position": [1, 2]}, "position: expected an object"),
        ({"textDocument": "x"}, "textDocument: expected an object"),
        ({"textDocument": {"uri": 5}}, "textDocument.uri: expected a string, got an integer (5)"),
        ({"context": {"triggerKind": True}}, "context.triggerKind: expected one of [1, 2]"),
        ({"context": {"triggerKind": 9}}, "context.triggerKind: 9 is not one of [1, 2]"),
        ({"context": {}}, "context.triggerKind: required but missing"),
    ],
)
def test_wrong_types_are_refused_and_named(change, expected):
    with pytest.raises(Exception) as caught:
        read({**BASE, **change})
    assert describe(caught.value).startswith(expected)


def test_a_command_argument_is_read_strictly():
    where = command_argument([{"textDocument": {"uri": "file:///w.py"},
                               "position": {"line": 2, "character": 0}}],
                             types.TextDocumentPositionParams, "x.show")
    assert where.position == types.Position(2, 0)
    for arguments in ([], [None], ["file:///w.py"],
                      [{"textDocument": {"uri": "file:///w.py"},
                        "position": {"line": 2.0, "character": 0}}]):
        with pytest.raises(JsonRpcInvalidParams) as caught:
            command_argument(arguments, types.TextDocumentPositionParams, "x.show")
        assert caught.value.message.startswith("Invalid params for x.show: ")
