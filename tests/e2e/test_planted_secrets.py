"""No planted secret ever reaches an engine: the real server over stdio, a workspace full of
secrets (tests/e2e/planted_workspace.py), and a fake engine that records every prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_lsp import LanguageClient

from tests.e2e.planted_workspace import PlantedDocument, leaks, plant
from tests.lsp_client import Session, inline, loomline_client, open_doc, show_context
from tests.waiting import eventually


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, list[PlantedDocument], Path]:
    root = tmp_path / "project"
    return root, plant(root), tmp_path / "prompts.jsonl"


@pytest.fixture
def planted_session(workspace: tuple[Path, list[PlantedDocument], Path]) -> Session:
    root, _, record = workspace
    options = {"backend": "fake",
               "fake": {"response": "return None", "chunkDelayMs": 0,
                        "recordPrompts": str(record)}}
    return Session(options=options, root_uri=root.as_uri())


client = loomline_client("planted_session")


def _positions(text: str) -> list[tuple[int, int]]:
    """Each line's start, middle and end (the cursor inside every secret somewhere)."""
    lines = text.split("\n")
    return sorted({(n, c) for n, line in enumerate(lines)
                   for c in (0, len(line) // 2, len(line))})


def _recorded(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["prompt"] for line in record.read_text().splitlines()]


def _sources(shown: Any) -> set[str]:
    return {p["source"] for p in shown["pieces"]}


async def test_no_planted_secret_reaches_a_prompt(
    client: LanguageClient, workspace: tuple[Path, list[PlantedDocument], Path]
) -> None:
    _, documents, record = workspace
    for document in documents:
        open_doc(client, document.uri, document.text, document.language)
    by_name = {d.uri.rsplit("/", 1)[-1]: d for d in documents}
    client_py, db_py = by_name["client.py"], by_name["db.py"]
    # Cross-file context does flow (the index has the imported module): so the prompts below
    # are clean because of redaction and exclusion, not for want of context.
    shown = await eventually(
        lambda: show_context(client, client_py.uri, 11, 4),
        lambda shown: "app/secrets.py" in _sources(shown), what="definitions from secrets.py",
    )
    assert not leaks(shown["prompt"])
    # The ignored file holds the same helper as db.py; only db.py's other self may be used.
    shown = await show_context(client, db_py.uri, 13, 4)
    assert "app/local_settings.py" not in _sources(shown) and not leaks(shown["prompt"])

    asked = 0
    for document in documents:
        for line, character in _positions(document.text):
            result = await inline(client, document.uri, line, character)
            if document.excluded:
                assert result is not None and len(result.items) == 0
                continue
            shown = await show_context(client, document.uri, line, character)
            assert shown["skip"] is None
            assert not leaks(shown["prompt"]), (document.uri, line, character)
            assert not any(leaks(p["text"]) for p in shown["pieces"])
            assert not leaks(shown["nextEdit"]["prompt"]), (document.uri, line, character)
            asked += 1
    prompts = _recorded(record)
    assert len(prompts) >= asked // 2 > 0  # most positions were sent (some are refused, e.g.
    # in comments); every one was checked through showContext above
    assert [leaks(p) for p in prompts if leaks(p)] == []
    assert any("<redacted>" in p for p in prompts)
    assert any("from app/secrets.py" in p and "def sign_release" in p for p in prompts)


async def test_an_ignored_document_gets_no_completion_and_one_notice(
    client: LanguageClient, workspace: tuple[Path, list[PlantedDocument], Path]
) -> None:
    _, documents, record = workspace
    excluded = [d for d in documents if d.excluded]
    assert {d.uri.rsplit("/", 1)[-1] for d in excluded} == {"local_settings.py", ".env"}
    for document in excluded:
        open_doc(client, document.uri, document.text, document.language)
        for _ in range(3):
            result = await inline(client, document.uri, 1, 5)
            assert result is not None and len(result.items) == 0
        shown = await show_context(client, document.uri, 1, 5)
        assert "exclusion" in shown["skip"]
        assert shown["pieces"] == [] and not leaks(shown["prompt"])  # not even on show
        assert shown["nextEdit"]["prompt"] == "" and "exclusion" in shown["nextEdit"]["skip"]
    notices = await eventually(
        lambda: [m.message for m in client.messages if "is ignored by" in m.message],
        lambda found: len(found) >= 2, what="the notices",
    )
    assert sorted(notices) == [
        "Loomline: .env is ignored by .gitignore or context.exclude: it gets no completions "
        "and nothing of it is sent",
        "Loomline: app/local_settings.py is ignored by .gitignore or context.exclude: it gets "
        "no completions and nothing of it is sent",
    ]
    assert _recorded(record) == []
