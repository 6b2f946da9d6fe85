"""Next edits with the real embedded model, over stdio: renaming a function's parameter gets
a suggestion that renames its next use, through Copilot's method as its clients send it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.test_next_edit_wire import apply, inline_edit
from tests.lsp_client import Session, loomline_client, open_doc

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

SOURCE = (
    "def shipping_cost(weight, rate):\n"
    '    """The cost of shipping ``weight`` kilograms at ``rate`` per kilogram."""\n'
    "    if weight <= 0:\n"
    "        return 0.0\n"
    "    return weight * rate\n"
    "\n"
    "\n"
    "print(shipping_cost(2.5, 4.0))\n"
)


@pytest.fixture(scope="module")
def lsp_session(model_dir: Path) -> Session:
    # The model's time is not judged here: deadlines out of the way of a busy machine.
    return Session(
        options={"completion": {"deadlineMs": 120_000, "explicitDeadlineMs": 300_000},
                 "nextEdit": {"deadlineMs": 300_000}},
        root_uri="file:///tmp/loomline-nes-model",
        ready_within_s=180,
    )


client = loomline_client("lsp_session", scope="module")


def type_rename(client: LanguageClient, uri: str, line: int, column: int, old: str,
                new: str) -> int:
    """Delete ``old`` at (line, column) and type ``new`` key by key; the last version."""
    version = 2
    changes = [((column, column + len(old)), "")]
    changes += [((column + i, column + i), char) for i, char in enumerate(new)]
    for (start, end), text in changes:
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=start),
                                      end=types.Position(line=line, character=end)),
                    text=text)],
            )
        )
        version += 1
    return version - 1


async def test_renaming_a_parameter_suggests_renaming_its_next_use(client: LanguageClient):
    uri = "file:///tmp/loomline-nes-model/shipping.py"
    open_doc(client, uri, SOURCE)
    version = type_rename(client, uri, 0, 18, "weight", "mass")
    result = await inline_edit(client, uri, version, 0, 22, context={"triggerKind": 1})
    assert len(result["edits"]) == 1, result
    edit = result["edits"][0]
    renamed = SOURCE.replace("(weight,", "(mass,")
    after = apply(renamed, edit)
    # The next use (the docstring's mention or the condition) now says the new name.
    uses = [m.start() for m in re.finditer(r"\bweight\b", renamed)]
    assert len(re.findall(r"\bweight\b", after)) < len(uses), edit
    assert "mass" in after[renamed.index("weight"):], edit
    compile(after, "shipping.py", "exec")  # and the file still parses
