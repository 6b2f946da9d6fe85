"""The folder's LoRA adapter reaches every request (inline completion, instructions), its
routing key, and the joining of running generations; invalid ``engine.adapters`` keys are
reported once."""

from __future__ import annotations

import asyncio

import pytest

from loomline.completion.engines.base import affinity_key
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.instruct import Instruction, start_instruction
from loomline.completion.instruct_targets import edit_target
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import Completion, CompletionService
from loomline.completion.settings import FakeSettings, Settings, SettingsStore, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from loomline.context.workspace_folders import WorkspaceFolders

ALPHA, BETA = "file:///work/alpha", "file:///work/beta"
TEXT = "def f(x):\n    \n"
CURSOR = Position(1, 4)


def _settings(adapters: dict[str, str], response: str = "return x") -> SettingsStore:
    settings, problems = parse_settings({
        "backend": "fake",
        "fake": {"response": response, "chunkDelayMs": 0},
        "engine": {"adapters": adapters},
        "completion": {"adaptiveDebounce": False},
    })
    assert problems == []
    return SettingsStore(settings)


async def _service(store: SettingsStore, chunk_delay_ms: int = 0) -> CompletionService:
    engine = FakeEngine(store.current.fake.model_copy(update={"chunk_delay_ms": chunk_delay_ms}))
    await engine.start()
    folders = WorkspaceFolders.of(ALPHA, BETA)
    return CompletionService(store, engine, documents=DocumentStore(), folders=folders)


def _engine(service: CompletionService) -> FakeEngine:
    engine = service.engine
    assert isinstance(engine, FakeEngine)
    return engine


async def test_two_folders_of_one_session_get_their_own_adapter() -> None:
    store = _settings({"alpha": "alpha-lora", f"{BETA}": "beta-lora", "*": "all-lora"})
    service = await _service(store)
    assert service.documents is not None
    uris = [f"{ALPHA}/a.py", f"{BETA}/pkg/b.py", "untitled:Untitled-1"]
    for uri in uris:
        document = service.documents.open(uri, "python", 1, TEXT)
        assert isinstance(await service.complete(document, CURSOR, explicit=True), Completion)
    requests = _engine(service).requests
    assert [r.adapter for r in requests] == ["alpha-lora", "beta-lora", "all-lora"]
    # The routing key (replica choice, the embedded engine's KV-cache slot) is per adapter.
    assert [r.affinity_key for r in requests] == [
        f"{ALPHA}/a.py#lora=alpha-lora", f"{BETA}/pkg/b.py#lora=beta-lora",
        "untitled:Untitled-1#lora=all-lora",
    ]


async def test_without_adapters_requests_go_to_the_base_model() -> None:
    service = await _service(_settings({}))
    assert service.documents is not None
    document = service.documents.open(f"{ALPHA}/a.py", "python", 1, TEXT)
    await service.complete(document, CURSOR, explicit=True)
    (request,) = _engine(service).requests
    assert request.adapter is None and request.affinity_key == f"{ALPHA}/a.py"


async def test_a_running_answer_of_another_adapter_is_not_joined() -> None:
    """The user types into a running generation while ``engine.adapters`` changes: the next
    request asks afresh under the new adapter instead of taking the old adapter's answer."""
    store = _settings({"alpha": "old-lora"}, response="return x + 1")
    service = await _service(store, chunk_delay_ms=20)
    assert service.documents is not None
    document = service.documents.open(f"{ALPHA}/a.py", "python", 1, TEXT)
    first = asyncio.ensure_future(service.complete(document, CURSOR, explicit=True))
    while not _engine(service).requests:  # the engine has the first request
        await asyncio.sleep(0)
    running = service.pool.current(document.uri)
    assert running is not None and running.adapter == "old-lora"
    # Same text, same cursor: without the adapter check this request would join it.
    assert service.pool.joinable(document.uri, running.before, running.after, "old-lora")
    store.apply({"engine": {"adapters": {"alpha": "new-lora"}}})
    second = await service.complete(document, CURSOR, explicit=True)
    assert isinstance(second, Completion)
    assert [r.adapter for r in _engine(service).requests] == ["old-lora", "new-lora"]
    with pytest.raises(asyncio.CancelledError):  # the newer request superseded it
        await first


async def test_an_instruction_runs_under_its_folders_adapter() -> None:
    engine = FakeEngine(FakeSettings(response="```python\nreturn x\n```", chunk_delay_ms=0))
    await engine.start()
    store = DocumentStore()
    document = store.open(f"{BETA}/m.py", "python", 1, TEXT)
    folders = WorkspaceFolders.of(ALPHA, BETA)
    adapters = {"beta": "beta-lora"}
    instruction = Instruction(
        "return x", document, edit_target(document, CURSOR, None), "m.py",
        adapter=folders.adapter_for(document.uri, adapters),
    )
    stream = start_instruction(engine, instruction, Settings(backend="fake"))
    assert not isinstance(stream, str) and hasattr(stream, "generation")
    assert stream.generation.adapter == "beta-lora"
    assert stream.generation.affinity_key == affinity_key(document.uri, "beta-lora")


async def test_a_next_edit_runs_under_its_folders_adapter() -> None:
    service = await _service(_settings({"beta": "beta-lora"}))
    documents = service.documents
    assert documents is not None
    next_edit = NextEditService(service, documents.history)
    uri = f"{BETA}/b.py"
    documents.open(uri, "python", 1, "def f(x):\n    return x\n")
    documents.change(uri, 2, [(Position(0, 4), Position(0, 5), "g")])  # an edit to follow
    document = documents.get(uri)
    assert document is not None
    await next_edit.suggest(document, Position(1, 4), explicit=True)
    (request,) = _engine(service).requests
    assert request.adapter == "beta-lora"
    assert request.affinity_key == affinity_key(uri, "beta-lora")


def test_each_invalid_adapter_key_is_reported_once_and_dropped_alone() -> None:
    """A bad key drops its own entry, never the whole map (the good ones still apply); the
    message quotes no key (a folder's path may be private)."""
    base, _ = parse_settings({"engine": {"adapters": {"*": "team"}}})
    raw = {"engine": {"adapters": {"/ok": "a", "src/app": "b", "https://x/y": "c", "*": 5}}}
    settings, problems = parse_settings(raw, base)
    assert settings.engine.adapters == {"/ok": "a"}
    assert problems == [
        "setting 'engine.adapters': an entry was dropped: a relative path is ambiguous (keys "
        "are '*', an absolute folder path ('~' for home), a file: URI or a workspace folder's "
        "name (its directory's name))",
        "setting 'engine.adapters': an entry was dropped: only file: URIs name folders (keys "
        "are '*', an absolute folder path ('~' for home), a file: URI or a workspace folder's "
        "name (its directory's name))",
        "setting 'engine.adapters': an entry was dropped: its value: should be a valid string",
    ]
    assert all("src/app" not in p and "https" not in p for p in problems)
    assert raw["engine"]["adapters"] == {  # the client's object is left as it came
        "/ok": "a", "src/app": "b", "https://x/y": "c", "*": 5}
    valid, problems = parse_settings(
        {"engine": {"adapters": {"/abs": "a", "~/x": "b", "file:///c": "c", "name": ""}}}
    )
    assert problems == [] and len(valid.engine.adapters) == 4
