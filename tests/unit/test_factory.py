"""completion/factory.py: the one way engine, workspace context and service are built."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from unittest.mock import patch

from tokenizers import Tokenizer, models, pre_tokenizers

from loomline.completion import factory
from loomline.completion.engines.base import EngineState, wait_settled
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.factory import (
    adopt_tokenizer,
    adopt_tokenizer_in_background,
    build_completion_stack,
)
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, ModelSettings, Settings
from loomline.completion.tokens import EstimatedTokens, ModelTokens
from loomline.context.documents import DocumentStore
from loomline.context.workspace_folders import WorkspaceFolders

# Counted by the word-level tokenizer below: def, add, (, a, ",", b, "):" -> 7; estimated 5.
SAMPLE = "def add(a, b):"


def word_tokenizer_dir(path: Path) -> Path:
    """A model directory whose tokenizer.json counts words and punctuation runs."""
    vocab = {"[UNK]": 0, "def": 1, "add": 2, "(": 3, "a": 4, ",": 5, "b": 6, "):": 7}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path / "tokenizer.json"))
    return path


def _slow_stack_with_word_tokenizer(
    tmp_path: Path, tokenizer_in_background: bool
) -> factory.CompletionStack:
    """A stack on a fake engine that takes a moment to start, with the word tokenizer's
    model directory."""
    model = word_tokenizer_dir(tmp_path / "model")
    settings = Settings(backend="fake", model=ModelSettings(path=str(model)),
                        fake=FakeSettings(load_delay_ms=20))
    return build_completion_stack(settings, DocumentStore(),
                                  tokenizer_in_background=tokenizer_in_background)


def _counter_names_at_ready(stack: factory.CompletionStack) -> list[str]:
    """The service's counter name each time the engine says "ready" (a listener subscribed
    after the factory's own)."""
    heard: list[str] = []
    stack.engine.subscribe(
        lambda state, _: heard.append(stack.service.counter.name)
        if state is EngineState.READY else None
    )
    return heard


async def test_the_service_counts_with_the_model_tokenizer_once_the_engine_is_ready(
    tmp_path: Path,
) -> None:
    stack = _slow_stack_with_word_tokenizer(tmp_path, tokenizer_in_background=True)
    assert stack.service.counter.name == "estimate"
    assert stack.service.counter.count(SAMPLE) == EstimatedTokens().count(SAMPLE) == 5
    readers: list[threading.Thread] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        readers.append(thread)
        real_start(thread)

    heard = _counter_names_at_ready(stack)
    with patch.object(threading.Thread, "start", start):
        await stack.engine.start()
        assert await wait_settled(stack.engine, timeout=2) is EngineState.READY
    assert heard  # "ready" is announced without waiting for the tokenizer file
    assert [reader.name for reader in readers] == ["loomline-tokenizer"]
    readers[0].join()
    assert stack.service.counter.name == "model"
    assert stack.service.counter.count(SAMPLE) == 7
    await stack.engine.close()


def test_the_service_follows_the_documents_open_before_and_after(tmp_path: Path) -> None:
    documents = DocumentStore()
    documents.open("file:///w/before.py", "python", 1, "x = 1\n")
    stack = build_completion_stack(
        Settings(backend="fake"), documents, folders=WorkspaceFolders.of(str(tmp_path))
    )
    assert stack.service.on_document in documents.listeners
    assert stack.workspace.folders.root == str(tmp_path)
    assert stack.service.folders is stack.workspace.folders  # one owner of the folders
    assert stack.service.folders.root == str(tmp_path)
    assert stack.service.workspace is stack.workspace
    # A kept workspace context (the server's, across engine restarts) is used as it is.
    again = build_completion_stack(Settings(backend="fake"), documents, workspace=stack.workspace)
    assert again.workspace is stack.workspace and again.engine is not stack.engine


class _LoadedEngine(FakeEngine):
    """A fake engine with a tokenizer loaded in the process, like the embedded one."""

    def __init__(self, tokenizer: Any, model_dir: Path | None = None) -> None:
        super().__init__(model_dir=model_dir)
        self._tokenizer = tokenizer

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer


class _Words:
    def encode(self, text: str, add_special_tokens: bool = True) -> list[str]:
        return text.split()


def test_adopt_tokenizer_prefers_the_loaded_one_and_loads_files_once(tmp_path: Path) -> None:
    model = word_tokenizer_dir(tmp_path / "model")
    service = CompletionService(Settings(backend="fake"), FakeEngine())
    adopt_tokenizer(service, FakeEngine(model_dir=model))
    first = service.counter
    assert first.name == "model" and first.count(SAMPLE) == 7
    adopt_tokenizer(service, FakeEngine(model_dir=model))  # a reconnection: kept, not reloaded
    assert service.counter is first
    adopt_tokenizer(service, _LoadedEngine(_Words(), model_dir=model))
    assert isinstance(service.counter, ModelTokens) and service.counter.count(SAMPLE) == 3
    service = CompletionService(Settings(backend="fake"), FakeEngine())
    adopt_tokenizer(service, FakeEngine())  # nothing to count with: the estimate stays
    assert service.counter.name == "estimate"


async def test_without_a_thread_the_counter_is_the_models_when_ready_is_heard(
    tmp_path: Path,
) -> None:
    # loomline complete's way
    stack = _slow_stack_with_word_tokenizer(tmp_path, tokenizer_in_background=False)
    # A listener subscribed after the factory already finds the model's counter at "ready".
    heard = _counter_names_at_ready(stack)
    await stack.engine.start()
    assert await wait_settled(stack.engine, timeout=2) is EngineState.READY
    assert heard == ["model"]
    assert stack.service.counter.count(SAMPLE) == 7
    await stack.engine.close()


def test_the_tokenizer_file_is_read_off_the_event_loop(tmp_path: Path) -> None:
    # A fresh tester's requests waited 1-3 s behind the first "ready": the listener parsed
    # the model's tokenizer.json on the event loop.
    model = word_tokenizer_dir(tmp_path / "model")
    service = CompletionService(Settings(backend="fake"), FakeEngine())
    release = threading.Event()
    real_load = factory.counter_for

    def slow_counter_for(tokenizer: Any, model_dir: Any) -> Any:
        release.wait()
        return real_load(tokenizer, model_dir)

    with patch.object(factory, "counter_for", slow_counter_for):
        reader = adopt_tokenizer_in_background(service, FakeEngine(model_dir=model))
        assert reader is not None and service.counter.name == "estimate"  # returned at once
        release.set()
        reader.join()
    assert service.counter.name == "model" and service.counter.count(SAMPLE) == 7
    # Loaded already, or a tokenizer in the process: nothing to read on a thread.
    assert adopt_tokenizer_in_background(service, FakeEngine(model_dir=model)) is None
    assert adopt_tokenizer_in_background(service, _LoadedEngine(_Words())) is None
    assert service.counter.count(SAMPLE) == 3
