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

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.completion.instruct_targets import comment_instruction, find_python_stub
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position, utf16_length
from loomline.server.convert import position
from loomline.server.generate_args import DEFAULT_REWRITE_INSTRUCTION, GenerateArgs
from loomline.server.methods import GENERATE_COMMAND, REWRITE_SELECTION_COMMAND

KIND = types.CodeActionKind.RefactorRewrite
TITLE_COMMENT = "Loomline: Generate code from this comment"
TITLE_IMPLEMENT = "Loomline: Implement this function"
TITLE_REWRITE = "Loomline: Rewrite selection…"


def register(server: LanguageServer, documents: DocumentStore) -> None:
    """Offer the actions on ``server`` for the documents in ``documents``."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[KIND], resolve_provider=False),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
        document = documents.get(params.text_document.uri)
        if document is None or not _wanted(params.context.only):
            return []
        lines = document.lines.texts()
        asks = _client_asks(server)
        return list(actions_for(document.uri, document.language_id, lines, params.range, asks))


def _wanted(only: Sequence[str] | None) -> bool:
    """Whether the client asked for our kind (``only`` filters by prefix)."""
    if not only:
        return True
    return any(kind == KIND or KIND.startswith(f"{kind}.") for kind in only)


def _generate(title: str, command: str, argument: GenerateArgs) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(title=title, command=command, arguments=[argument.to_json()]),
    )


def _end_of_line(uri: str, line: int, text: str, instruction: str) -> GenerateArgs:
    return GenerateArgs(uri, instruction, Position(line, utf16_length(text)))


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
        asked = "" if client_asks else DEFAULT_REWRITE_INSTRUCTION
        rewrite = GenerateArgs(uri, asked, position(selection.start), position(selection.end))
        actions.append(_generate(TITLE_REWRITE, REWRITE_SELECTION_COMMAND, rewrite))
    instruction = comment_instruction(lines[line], language)
    if instruction is not None:
        argument = _end_of_line(uri, line, lines[line], instruction)
        actions.append(_generate(TITLE_COMMENT, GENERATE_COMMAND, argument))
    if language in ("python", "py"):
        stub = find_python_stub(lines, line)
        if stub is not None:
            argument = _end_of_line(
                uri,
                stub.end_line,
                lines[stub.end_line],
                f"Implement the function `{stub.name}`.",
            )
            actions.append(_generate(TITLE_IMPLEMENT, GENERATE_COMMAND, argument))
    return actions


def _client_asks(server: LanguageServer) -> bool:
    """Whether the client advertised ``experimental: {loomline: {inputBox: true}}``."""
    try:
        experimental = server.client_capabilities.experimental
    except Exception:
        return False
    loomline = experimental.get("loomline") if isinstance(experimental, dict) else None
    return isinstance(loomline, dict) and loomline.get("inputBox") is True
