r"""Over stdio: a CRLF document and its LF twin send the same prompt and get the answer in their
own line ending; an answer the user typed into while the model worked lands at the new cursor."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, inline, loomline_client, open_doc, progress_capabilities
from tests.waiting import eventually

ANSWER = "total = a + b\n    return total"


@pytest.fixture
def session(tmp_path: Path) -> Session:
    options = {"backend": "fake",
               "fake": {"response": ANSWER, "chunkDelayMs": 0,
                        "recordPrompts": str(tmp_path / "prompts.jsonl")}}
    return Session(options=options, root_uri=tmp_path.as_uri(),
                   capabilities=progress_capabilities())


client = loomline_client("session")


async def test_crlf_and_lf_twins_same_prompt_answer_in_own_ending(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = "def add(a, b):\n    \n"
    answers = {}
    for name, ending in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        uri = (tmp_path / "same.py").as_uri() + f"?{name}"
        open_doc(client, uri, text.replace("\n", ending))
        result = await inline(client, uri, 1, 4)
        assert result is not None and result.items, name
        answers[name] = result.items[0].insert_text
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    assert answers == {"lf": ANSWER, "crlf": ANSWER.replace("\n", "\r\n"),
                       "cr": ANSWER.replace("\n", "\r")}
    prompts = [json.loads(line)["prompt"]
               for line in (tmp_path / "prompts.jsonl").read_text().splitlines()]
    assert len(prompts) == 3 and "\r" not in "".join(prompts)
    assert prompts[0] == prompts[1] == prompts[2]


@pytest.fixture
def slow_session(tmp_path: Path) -> Session:
    options = {"backend": "fake", "fake": {"response": "return a + b", "chunkDelayMs": 150}}
    return Session(options=options, root_uri=tmp_path.as_uri(),
                   capabilities=progress_capabilities())


slow_client = loomline_client("slow_session")


async def test_typed_during_generation_lands_at_the_new_cursor(
    slow_client: LanguageClient, tmp_path: Path
) -> None:
    """``re`` typed while the model works: ``turn a + b`` after it, not ``return a + b`` at
    the old cursor (``return a + bre`` in clients that do not check versions)."""
    uri = (tmp_path / "typed.py").as_uri()
    open_doc(slow_client, uri, "def add(a, b):\n    \n")
    since = len(slow_client.statuses)  # type: ignore[attr-defined]
    request = asyncio.ensure_future(inline(slow_client, uri, 1, 4))
    # "thinking": the server took the request's text and started the model (in one go, so a
    # change sent from here on lands while the model works).
    await eventually(lambda: slow_client.states()[since:],  # type: ignore[attr-defined]
                     lambda states: "thinking" in states, what="the request's start")
    slow_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=1, character=4),
                                  end=types.Position(line=1, character=4)),
                text="re",
            )],
        )
    )
    result = await request
    assert result is not None and result.items
    item = result.items[0]
    assert item.insert_text == "turn a + b"
    assert item.range is not None and item.range.start == types.Position(line=1, character=6)
