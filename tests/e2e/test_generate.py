"""``loomline.generate`` over stdio: edits streamed through applyEdit, progress, cancellation.

The client here keeps its own copy of each document, applies the server's edits to it and
sends didChange like an editor; "consistent" means that copy equals the server's view.
"""

from __future__ import annotations

import ast
import asyncio
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from loomline.context.positions import LineIndex, Position
from tests.conftest import server_command
from tests.waiting import eventually

FENCED = "```python\ndef add(a, b):\n    total = a + b\n    return total\n```\nThis adds."
ROOT = "file:///tmp/loomline-generate"


class EditorDocs:
    """The client's side of the documents: applies workspace edits, reports changes."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.first_edit = asyncio.Event()
        self.refuse = False

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.texts[uri], self.versions[uri] = text, 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.edits.append(params)
        self.first_edit.set()
        if self.refuse:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="refused")
        for uri, edits in (params.edit.changes or {}).items():
            text = self.texts[uri]
            changes = []
            for edit in sorted(
                edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
            ):
                index = LineIndex(text)
                start = index.offset(Position(edit.range.start.line, edit.range.start.character))
                end = index.offset(Position(edit.range.end.line, edit.range.end.character))
                text = text[:start] + edit.new_text + text[end:]
                changes.append(
                    types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                )
            self.texts[uri] = text
            self.versions[uri] += 1
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(
                        uri=uri, version=self.versions[uri]
                    ),
                    content_changes=changes,
                )
            )
        return types.ApplyWorkspaceEditResult(applied=True)


def _capabilities(apply_edit: bool = True, experimental: Any = None) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(apply_edit=apply_edit),
        experimental=experimental,
    )


async def _start(
    lsp_client: LanguageClient,
    options: dict[str, Any],
    apply_edit: bool = True,
    experimental: Any = None,
) -> None:
    lsp_client.docs = EditorDocs(lsp_client)  # type: ignore[attr-defined]
    lsp_client.statuses = []  # type: ignore[attr-defined]

    @lsp_client.feature("loomline/status")
    def on_status(params: Any) -> None:
        lsp_client.statuses.append(params)  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return lsp_client.docs.apply(params)  # type: ignore[attr-defined]

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=_capabilities(apply_edit, experimental),
            initialization_options=options,
            root_uri=ROOT,
        )
    )


async def _ready(client: LanguageClient, timeout: float = 180.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        statuses = client.statuses  # type: ignore[attr-defined]
        if any(getattr(s, "state", None) == "ready" for s in statuses):
            return
        if any(getattr(s, "state", None) == "error" for s in statuses):
            raise AssertionError(f"engine failed: {statuses[-1]}")
        await asyncio.sleep(0.1)
    raise AssertionError("the engine did not get ready")


async def _reconfigure(client: LanguageClient, settings: dict[str, Any]) -> None:
    """Sends ``settings`` and waits for the engine's restart with them: loading, then ready
    again (the next request would otherwise meet the old engine or a loading one)."""
    since = len(client.statuses)  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"loomline": settings})
    )

    def states() -> list[str | None]:
        return [getattr(s, "state", None) for s in client.statuses[since:]]  # type: ignore[attr-defined]

    await eventually(
        states,
        lambda seen: "loading" in seen and "ready" in seen[seen.index("loading") :],
        what="the engine's restart",
    )


def _fake(response: str, delay_ms: int = 5) -> dict[str, Any]:
    return {"backend": "fake", "fake": {"response": response, "chunkDelayMs": delay_ms}}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def client(lsp_client: LanguageClient):
    await _start(lsp_client, _fake(FENCED))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def asking_client(lsp_client: LanguageClient):
    """A client that asks the user for instructions itself (like the VS Code extension)."""
    await _start(lsp_client, _fake(FENCED), experimental={"loomline": {"inputBox": True}})
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def plain_client(lsp_client: LanguageClient):
    """A client without workspace/applyEdit."""
    await _start(lsp_client, _fake(FENCED), apply_edit=False)
    yield
    await lsp_client.shutdown_session()


def _args(
    uri: str,
    instruction: str,
    line: int | None = None,
    character: int = 0,
    selection: tuple[int, int, int, int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    arg: dict[str, Any] = {"textDocument": {"uri": uri}, "instruction": instruction, **extra}
    if selection is not None:
        arg["range"] = {
            "start": {"line": selection[0], "character": selection[1]},
            "end": {"line": selection[2], "character": selection[3]},
        }
    else:
        arg["position"] = {"line": line, "character": character}
    return arg


async def _generate(client: LanguageClient, arg: dict[str, Any], **params: Any) -> Any:
    return await _command(client, "loomline.generate", [arg], **params)


async def _command(
    client: LanguageClient, command: str, arguments: list[Any], **params: Any
) -> Any:
    """A command's result (commands answer with JSON objects: Any, never None here)."""
    result: Any = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=arguments, **params)
    )
    assert result is not None
    return result


async def _server_view(client: LanguageClient, uri: str) -> str:
    """The server's copy of the document, read back through the transparency command."""
    text = client.docs.texts[uri]  # type: ignore[attr-defined]
    lines = text.split("\n")
    shown = await _command(
        client,
        "loomline.showContext",
        [
            {
                "textDocument": {"uri": uri},
                "position": {"line": len(lines) - 1, "character": len(lines[-1])},
            }
        ],
    )
    return str(shown["prompt"])


async def _consistent(client: LanguageClient, uri: str) -> None:
    text = client.docs.texts[uri]  # type: ignore[attr-defined]
    for _ in range(40):  # the last didChange may still be on its way
        if text + "<|fim_suffix|>" in await _server_view(client, uri):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server and client disagree:\n{await _server_view(client, uri)}")


# ---- the scripted engine ---------------------------------------------------------------------
async def test_generate_streams_lines_into_the_document(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/a.py"
    client.docs.open(uri, "import os\n\n\nprint(add(1, 2))\n")  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, "add two numbers", line=1))
    expected = "def add(a, b):\n    total = a + b\n    return total"
    assert result["applied"] is True and result["text"] == expected
    docs = client.docs  # type: ignore[attr-defined]
    assert docs.texts[uri] == f"import os\n{expected}\n\nprint(add(1, 2))\n"
    assert len(docs.edits) >= 2  # streamed, not one edit at the end
    ast.parse(docs.texts[uri])
    await _consistent(client, uri)
    # Cancellable progress from begin to end.
    reports: list[Any] = [r for rs in client.progress_reports.values() for r in rs]
    begins = [r for r in reports if isinstance(r, types.WorkDoneProgressBegin)]
    assert begins and begins[-1].cancellable
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


async def test_generated_code_takes_the_indentation_of_its_place(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/b.py"
    text = "class A:\n    # TODO: an add method\n    pass\n"
    client.docs.open(uri, text)  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, "TODO: an add method", line=1, character=25))
    assert result["applied"]
    body = client.docs.texts[uri]  # type: ignore[attr-defined]
    assert body == (
        "class A:\n    # TODO: an add method\n    def add(a, b):\n        total = a + b\n"
        "        return total\n    pass\n"
    )
    ast.parse(body)
    await _consistent(client, uri)


async def test_client_work_done_token_is_used(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/c.py"
    client.docs.open(uri, "\n")  # type: ignore[attr-defined]
    client.progress_reports["mine-1"] = []  # the client's own token
    result = await _generate(client, _args(uri, "add", line=0), work_done_token="mine-1")
    assert result["applied"]
    kinds = [type(r).__name__ for r in client.progress_reports.get("mine-1", [])]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"


async def test_rewrite_replaces_the_selection(client: LanguageClient):
    await _ready(client)
    await _reconfigure(client, _fake("```python\ndef twice(x):\n    return 2 * x\n```"))
    uri = f"{ROOT}/d.py"
    text = "import os\n\n\ndef twice(x):\n    return x+x\n\n\nprint(twice(2))\n"
    client.docs.open(uri, text)  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, "make it clearer", selection=(3, 0, 5, 0)))
    assert result["applied"]
    assert client.docs.texts[uri] == text.replace("x+x", "2 * x")  # type: ignore[attr-defined]
    await _consistent(client, uri)


async def test_without_apply_edit_the_result_carries_the_edit(plain_client: LanguageClient):
    client = plain_client
    await _ready(client)
    uri = f"{ROOT}/e.py"
    client.docs.open(uri, "x = 1\n\n")  # type: ignore[attr-defined]
    result = await _generate(client, _args(uri, "add", line=1))
    assert result["applied"] is False
    assert result["text"].startswith("def add(a, b):")
    edit = result["edit"]["changes"][uri][0]
    assert edit["range"] == {
        "start": {"line": 1, "character": 0},
        "end": {"line": 1, "character": 0},
    }
    assert edit["newText"] == result["text"]
    assert client.docs.texts[uri] == "x = 1\n\n"  # type: ignore[attr-defined]


async def test_bad_inputs_answer_with_an_error_not_a_crash(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/f.py"
    client.docs.open(uri, "x = 1\n")  # type: ignore[attr-defined]
    missing = await _generate(client, _args(f"{ROOT}/missing.py", "add", line=0))
    assert missing["applied"] is False and "not open" in missing["error"]
    empty = await _generate(client, _args(uri, "   ", line=0))
    assert empty["applied"] is False and "instruction" in empty["error"]
    nothing = await _command(client, "loomline.generate", [])
    assert nothing["applied"] is False
    junk = await _command(client, "loomline.generate", ["junk"])
    assert junk["applied"] is False
    client.docs.refuse = True  # type: ignore[attr-defined]
    refused = await _generate(client, _args(uri, "add", line=1))
    assert refused["applied"] is False and "refused" in refused["error"]
    client.docs.refuse = False  # type: ignore[attr-defined]
    assert client.docs.texts[uri] == "x = 1\n"  # type: ignore[attr-defined]
    good = await _generate(client, _args(uri, "add", line=1))
    assert good["applied"]


ACTIONS_SOURCE = """import os

# TODO: read the config file into a dict


def parse(line: str) -> dict:
    \"\"\"Split a header line into fields.\"\"\"


def done():
    return 1
"""


async def _code_actions(client: LanguageClient, uri: str, rng: types.Range) -> list[Any]:
    """Raw code actions: lsprotocol reads any object with a "command" key as a Command."""
    msg_id = f"actions-{rng.start.line}-{rng.end.line}-{id(rng)}"
    future = client.protocol.send_request(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=[]),
        ),
        msg_id=msg_id,
    )
    client.protocol._result_types[msg_id] = None
    return list(await asyncio.wrap_future(future) or [])


def _range(line: int, character: int, end_line: int | None = None, end: int | None = None):
    return types.Range(
        start=types.Position(line=line, character=character),
        end=types.Position(
            line=line if end_line is None else end_line, character=character if end is None else end
        ),
    )


async def test_code_actions_and_running_one(client: LanguageClient):
    await _ready(client)
    uri = f"{ROOT}/actions.py"
    client.docs.open(uri, ACTIONS_SOURCE)  # type: ignore[attr-defined]
    comment = await _code_actions(client, uri, _range(2, 3))
    assert [a["title"] for a in comment] == ["Loomline: Generate code from this comment"]
    assert comment[0]["kind"] == "refactor.rewrite"
    assert comment[0]["command"]["arguments"] == [
        {
            "textDocument": {"uri": uri},
            "position": {"line": 2, "character": 40},
            "instruction": "read the config file into a dict",
        }
    ]
    stub = await _code_actions(client, uri, _range(5, 0))
    assert [a["title"] for a in stub] == ["Loomline: Implement this function"]
    assert stub[0]["command"]["arguments"][0]["position"] == {"line": 6, "character": 42}
    selected = await _code_actions(client, uri, _range(9, 0, 11, 0))
    assert [a["title"] for a in selected] == ["Loomline: Rewrite selection…"]
    rewrite = selected[0]["command"]
    assert rewrite["command"] == "loomline.rewriteSelection"
    assert rewrite["arguments"][0]["instruction"] == "Improve this code"
    assert await _code_actions(client, uri, _range(0, 0)) == []  # nothing to offer
    # Run the comment's action as an editor would.
    result = await _command(
        client, comment[0]["command"]["command"], comment[0]["command"]["arguments"]
    )
    assert result["applied"]
    text = client.docs.texts[uri]  # type: ignore[attr-defined]
    assert "# TODO: read the config file into a dict\ndef add(a, b):\n" in text
    ast.parse(text)


async def test_rewrite_action_leaves_the_instruction_to_a_client_that_asks(
    asking_client: LanguageClient,
):
    client = asking_client
    await _ready(client)
    uri = f"{ROOT}/asking.py"
    client.docs.open(uri, ACTIONS_SOURCE)  # type: ignore[attr-defined]
    selected = await _code_actions(client, uri, _range(9, 0, 11, 0))
    argument = selected[0]["command"]["arguments"][0]
    assert "instruction" not in argument and argument["range"]["end"] == {
        "line": 11,
        "character": 0,
    }
    # Run without one, it uses the default instruction.
    result = await _command(client, "loomline.rewriteSelection", [argument])
    assert result["applied"]


def _slow_script(lines: int = 60, delay_ms: int = 25) -> dict[str, Any]:
    body = "\n".join(f"    v{i} = {i}" for i in range(lines))
    return _fake(f"```python\ndef many():\n{body}\n    return v0\n```", delay_ms)


async def test_progress_cancel_stops_and_keeps_the_document_consistent(client: LanguageClient):
    await _ready(client)
    await _reconfigure(client, _slow_script())
    uri = f"{ROOT}/g.py"
    client.docs.open(uri, "import os\n\nprint(1)\n")  # type: ignore[attr-defined]
    client.progress_reports["gen-cancel"] = []
    task = asyncio.ensure_future(
        _generate(client, _args(uri, "many", line=1), work_done_token="gen-cancel")
    )
    await asyncio.wait_for(client.docs.first_edit.wait(), 10)  # type: ignore[attr-defined]
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token="gen-cancel"))
    result = await asyncio.wait_for(task, 10)
    assert result["cancelled"] is True
    text = client.docs.texts[uri]  # type: ignore[attr-defined]
    assert result["text"] and text == "import os\n" + result["text"] + "\nprint(1)\n"
    assert "return v0" not in text  # it stopped early
    await _consistent(client, uri)
    ends: list[Any] = [
        r for r in client.progress_reports["gen-cancel"] if isinstance(r, types.WorkDoneProgressEnd)
    ]
    assert ends and "stopped" in (ends[-1].message or "")
    assert any("stopped" in m.message for m in client.messages)


async def test_cancel_request_stops_generation_and_says_so(client: LanguageClient):
    await _ready(client)
    await _reconfigure(client, _slow_script())
    uri = f"{ROOT}/h.py"
    client.docs.open(uri, "import os\n\nprint(1)\n")  # type: ignore[attr-defined]
    future = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="loomline.generate", arguments=[_args(uri, "many", line=1)]
            ),
            msg_id="generate-to-cancel",
        )
    )
    await asyncio.wait_for(client.docs.first_edit.wait(), 10)  # type: ignore[attr-defined]
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="generate-to-cancel"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(future, 10)
    # The final message comes after the last edit: the writer has ended once it is here.
    await eventually(lambda: any("stopped" in m.message for m in client.messages),
                     what="the final message")
    assert any("stopped" in m.message for m in client.messages)
    edits = len(client.docs.edits)  # type: ignore[attr-defined]
    # A round trip: whatever the server sent before its answer has arrived by now.
    await _server_view(client, uri)
    assert len(client.docs.edits) == edits  # type: ignore[attr-defined]  # no edit after
    assert "return v0" not in client.docs.texts[uri]  # type: ignore[attr-defined]
    await _consistent(client, uri)


# ---- the real model ----------------------------------------------------------------------
@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def model_client(lsp_client: LanguageClient, model_dir):
    await _start(lsp_client, {"completion": {"maxTokens": 64}})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.model
@pytest.mark.timeout(240)
async def test_real_model_generates_code_that_parses(model_client: LanguageClient):
    client = model_client
    await _ready(client)
    uri = f"{ROOT}/model_a.py"
    text = 'import math\n\n\ndef is_even(n: int) -> bool:\n    """Return True when n is even."""\n'
    client.docs.open(uri, text)  # type: ignore[attr-defined]
    result = await _generate(
        client,
        _args(
            uri, "Implement this function", line=4, character=len(text.split("\n")[4]), maxTokens=48
        ),
    )
    assert result["applied"], result
    body = client.docs.texts[uri]  # type: ignore[attr-defined]
    assert body.startswith(text.rstrip("\n")) and len(body) > len(text)
    ast.parse(body)
    namespace: dict[str, Any] = {}
    exec(compile(body, "model_a.py", "exec"), namespace)
    assert namespace["is_even"](4) is True and namespace["is_even"](3) is False
    assert len(client.docs.edits) >= 1  # type: ignore[attr-defined]
    await _consistent(client, uri)


@pytest.mark.model
@pytest.mark.timeout(240)
async def test_real_model_cancel_leaves_a_consistent_document(model_client: LanguageClient):
    client = model_client
    await _ready(client)
    uri = f"{ROOT}/model_b.py"
    text = "import os\n\n# A class Stack with push, pop, peek, size and is_empty methods\n"
    client.docs.open(uri, text)  # type: ignore[attr-defined]
    client.progress_reports["model-cancel"] = []
    task = asyncio.ensure_future(
        _generate(
            client,
            _args(
                uri,
                "A class Stack with push, pop, peek, size and is_empty methods",
                line=2,
                character=len(text.split("\n")[2]),
                maxTokens=200,
            ),
            work_done_token="model-cancel",
        )
    )
    await asyncio.wait_for(client.docs.first_edit.wait(), 120)  # type: ignore[attr-defined]
    client.window_work_done_progress_cancel(
        types.WorkDoneProgressCancelParams(token="model-cancel")
    )
    result = await asyncio.wait_for(task, 30)
    assert result["cancelled"] is True
    body = client.docs.texts[uri]  # type: ignore[attr-defined]
    assert body == text[:-1] + result["text"] + "\n"
    await _consistent(client, uri)
    stats = await _command(client, "loomline.stats", [])
    assert stats["state"] == "ready"
