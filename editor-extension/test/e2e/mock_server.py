"""A stand-in for `loomline lsp` that follows the server contract with scripted answers.

For developing and smoke-testing the extension without the real server or a model:
  python mock_server.py   (stdio; needs pygls 2.x)
The real end-to-end test runs the real server; this one only backs `LOOMLINE_E2E_SERVER=mock`.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("loomline-mock", "0.0.1")
ids = itertools.count(1)
settings: dict = {}


def status(ls: LanguageServer, state: str, message: str = "", progress: int | None = None) -> None:
    params = {"state": state, "message": message, "model": settings.get("model", {}).get("id", "mock-model"),
              "backend": settings.get("backend", "fake")}
    if progress is not None:
        params["progress"] = progress
    ls.protocol.notify("loomline/status", params)


@server.feature(types.INITIALIZE)
def initialize(ls: LanguageServer, params: types.InitializeParams) -> None:
    settings.update(params.initialization_options or {})


@server.feature(types.INITIALIZED)
async def initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
    for pct in (0, 50, 100):
        status(ls, "loading", "loading the mock model", pct)
        await asyncio.sleep(0.2)
    status(ls, "ready", "ready")


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: LanguageServer, params: types.DidChangeConfigurationParams) -> None:
    settings.update((params.settings or {}).get("loomline", {}))
    status(ls, "ready", "settings updated")


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: LanguageServer, params: types.InlineCompletionParams):
    print(f"inlineCompletion at {params.position}", file=sys.stderr, flush=True)
    status(ls, "thinking")
    try:
        await asyncio.sleep(0.1)
    finally:  # also when the client cancels the request
        status(ls, "ready")
    cid = f"mock-{next(ids)}"
    return types.InlineCompletionList(items=[types.InlineCompletionItem(
        insert_text="return 42  # loomline-mock",
        range=types.Range(start=params.position, end=params.position),
        command=types.Command(title="accept", command="loomline.accept", arguments=[cid]),
    )])


@server.feature("loomline/event")
def on_event(ls: LanguageServer, params) -> None:
    print(f"event: {params}", file=sys.stderr, flush=True)


@server.command("loomline.generate")
async def generate(ls: LanguageServer, arg: dict):
    uri = arg["textDocument"]["uri"] if isinstance(arg, dict) else arg.textDocument.uri
    pos = arg["position"] if isinstance(arg, dict) else arg.position
    line, ch = (pos["line"], pos["character"]) if isinstance(pos, dict) else (pos.line, pos.character)
    text = "def is_even(n):\n    return n % 2 == 0\n"
    for chunk in text.splitlines(keepends=True):
        at = types.Position(line=line, character=ch)
        edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(range=types.Range(start=at, end=at), new_text=chunk)]})
        await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit))
        line, ch = line + 1, 0
        await asyncio.sleep(0.1)
    return {"applied": True, "text": text}


@server.command("loomline.showContext")
def show_context(ls: LanguageServer, arg: dict):
    return {"prompt": "<|fim_prefix|>...<|fim_suffix|>...<|fim_middle|>", "template": "qwen", "promptTokens": 12,
            "pieces": [{"source": "util.py", "reason": "mock", "kind": "definition", "text": "def f(): pass", "tokens": 5}]}


if __name__ == "__main__":
    server.start_io()
