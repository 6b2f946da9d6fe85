"""Code actions that start ``loomline.generate``: from a comment, for a stub, on a selection.

All are ``refactor.rewrite`` actions carrying a command (nothing is computed until chosen):
- on a line comment that says something (``# TODO: parse the header``): generate code from
  it, inserted below the comment;
- on a Python function with only a signature and docstring: implement it (the code goes
  after the docstring);
- on a non-empty selection: rewrite it (``loomline.rewriteSelection``). LSP has no input box,
  so the command carries the instruction "Improve this code", unless the client advertised
  ``experimental: {loomline: {inputBox: true}}``: then it carries none, and the client asks
  the user and sets ``arguments[0].instruction`` before running it (the VS Code extension).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from loomline.completion.instruct_targets import comment_instruction, find_python_stub
from loomline.context.positions import utf16_length
from loomline.server.app import LoomlineServer, server
from loomline.server.generate import DEFAULT_REWRITE_INSTRUCTION
from loomline.server.methods import GENERATE_COMMAND, REWRITE_SELECTION_COMMAND

KIND = types.CodeActionKind.RefactorRewrite
TITLE_COMMENT = "Loomline: Generate code from this comment"
TITLE_IMPLEMENT = "Loomline: Implement this function"
TITLE_REWRITE = "Loomline: Rewrite selection…"


def _wanted(only: Sequence[str] | None) -> bool:
    """Whether the client asked for our kind (``only`` filters by prefix)."""
    if not only:
        return True
    return any(kind == KIND or KIND.startswith(f"{kind}.") for kind in only)


def _generate(title: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(title=title, command=command, arguments=[argument]),
    )


def _end_of_line(uri: str, line: int, text: str) -> dict[str, Any]:
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": utf16_length(text)},
    }


def actions_for(
    uri: str,
    language: str,
    lines: list[str],
    selection: types.Range,
    client_asks: bool = False,
) -> list[types.CodeAction]:
    """The actions for a range of a document (as lines); pure, for tests.

    ``client_asks``: the client asks the user for a rewrite's instruction itself (it
    advertised ``experimental.loomline.inputBox``), so the command carries none.
    """
    actions: list[types.CodeAction] = []
    line = selection.start.line
    if not 0 <= line < len(lines):
        return actions
    if selection.start != selection.end:
        actions.append(
            _generate(
                TITLE_REWRITE,
                REWRITE_SELECTION_COMMAND,
                {
                    "textDocument": {"uri": uri},
                    "range": {
                        "start": {
                            "line": selection.start.line,
                            "character": selection.start.character,
                        },
                        "end": {"line": selection.end.line, "character": selection.end.character},
                    },
                    **({} if client_asks else {"instruction": DEFAULT_REWRITE_INSTRUCTION}),
                },
            )
        )
    instruction = comment_instruction(lines[line], language)
    if instruction is not None:
        argument = _end_of_line(uri, line, lines[line])
        argument["instruction"] = instruction
        actions.append(_generate(TITLE_COMMENT, GENERATE_COMMAND, argument))
    if language in ("python", "py"):
        stub = find_python_stub(lines, line)
        if stub is not None:
            argument = _end_of_line(uri, stub.end_line, lines[stub.end_line])
            argument["instruction"] = f"Implement the function `{stub.name}`."
            actions.append(_generate(TITLE_IMPLEMENT, GENERATE_COMMAND, argument))
    return actions


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[KIND], resolve_provider=False),
)
def code_action(
    ls: LoomlineServer, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command] | None:
    document = ls.documents.get(params.text_document.uri)
    if document is None or not _wanted(params.context.only):
        return []
    lines = [ln.rstrip("\r") for ln in document.text.split("\n")]
    return list(
        actions_for(document.uri, document.language_id, lines, params.range, _client_asks(ls))
    )


def _client_asks(ls: LoomlineServer) -> bool:
    """Whether the client advertised ``experimental: {loomline: {inputBox: true}}``."""
    try:
        experimental = ls.client_capabilities.experimental
    except Exception:
        return False
    loomline = experimental.get("loomline") if isinstance(experimental, dict) else None
    return isinstance(loomline, dict) and loomline.get("inputBox") is True
