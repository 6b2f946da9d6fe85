"""The embedded backend: a transformers model on the CPU, in one worker thread.

Generation is a plain loop (chunked prefill, then one token at a time) so that a cancel is
seen between any two forward passes, and the KV cache of the previous prompt is reused for
the part of the next prompt that did not change, which is most of it while the user types.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    StateBroadcast,
    StateListener,
    Unsubscribe,
    wait_settled,
)
from loomline.completion.engines.lora_adapters import AdapterSet
from loomline.completion.engines.runner import Job, ModelRunner, PickedTokens
from loomline.completion.engines.threads import ThreadPolicy
from loomline.completion.model_store import ModelStore, ProgressCallback
from loomline.completion.settings import Settings

log = logging.getLogger(__name__)

# Tokens after which the model is done, whatever the template says.
STOP_TOKENS = ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|repo_name|>")
PREFILL_CHUNK = 64  # tokens per prefill step: bounds how long a cancel waits
# Documents whose KV cache is kept (0.5B model: ~12 KB per token, ~20 MB per 1.5k-token prompt).
CACHE_SLOTS = 4


# A KV cache slot: (what runs, adapter name@stamp or None for the base model; affinity key).
SlotKey = tuple[str | None, str | None]


@dataclass
class _Slot:
    cache: Any
    ids: list[int]


class _Generator:
    """Model, tokenizer and the reusable KV cache. Only ever touched by the worker thread."""

    def __init__(self, model_dir: Path, threads: ThreadPolicy, settings: Settings,
                 notify: Callable[[str], None] = lambda message: None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._threads = threads
        torch.set_num_threads(threads.at_start())
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
        model.eval()
        # LoRA adapters beside the base weights, switched per request.
        self.adapters = AdapterSet(model, settings.model.id, settings.model.cache_dir, notify)
        vocab = self.tokenizer.get_vocab()
        self.stop_ids = {vocab[t] for t in STOP_TOKENS if t in vocab}
        if self.tokenizer.eos_token_id is not None:
            self.stop_ids.add(self.tokenizer.eos_token_id)
        # KV caches of recent documents (by affinity key), most recently used last: switching
        # between a few files must not throw away each one's prefix.
        # Keyed by adapter too: a prefix computed under one adapter is wrong under another.
        self._slots: OrderedDict[SlotKey, _Slot] = OrderedDict()
        self._cache: Any = None
        self._cached_ids: list[int] = []

    @property
    def model(self) -> Any:
        """The model to run: the base model, or the peft model wrapping it (same weights)."""
        return self.adapters.model

    def warm_up(self) -> None:
        """One small forward pass: the first one pays for kernel selection, not a user."""
        with self.torch.inference_mode():
            self._reuse_cache([0, 0])
            self._forward(
                self.tokenizer.encode("def main():\n    return", add_special_tokens=False)
            )
            self._cache, self._cached_ids = None, []
            self._slots.clear()

    def _select(self, key: SlotKey) -> None:
        """Make the KV cache of ``key``'s document current (a new one for a new document)."""
        if self._slots:
            last_key = next(reversed(self._slots))
            self._slots[last_key] = _Slot(self._cache, self._cached_ids)
        slot = self._slots.pop(key, None) or _Slot(None, [])
        self._slots[key] = slot
        while len(self._slots) > CACHE_SLOTS:
            self._slots.popitem(last=False)
        self._cache, self._cached_ids = slot.cache, slot.ids

    def _reuse_cache(self, ids: list[int]) -> int:
        """Crop the KV cache to the longest prefix shared with ``ids``; returns its length."""
        common = 0
        limit = min(len(ids) - 1, len(self._cached_ids))  # keep >= 1 token to compute logits
        while common < limit and ids[common] == self._cached_ids[common]:
            common += 1
        if self._cache is None or common == 0:
            from transformers import DynamicCache

            self._cache = DynamicCache(config=self.model.config)
            self._cached_ids = []
            return 0
        dropped = len(self._cached_ids) - common
        if dropped:
            self._cache.crop(-dropped)
        self._cached_ids = self._cached_ids[:common]
        return common

    def _forward(self, ids: list[int]) -> Any:
        torch = self.torch
        input_ids = torch.tensor([ids], dtype=torch.long)
        # Only the last position's logits are needed: the vocabulary projection is costly.
        out = self.model(
            input_ids=input_ids, past_key_values=self._cache, use_cache=True, logits_to_keep=1
        )
        self._cached_ids.extend(ids)
        return out.logits[0, -1].float()

    def _pick(self, logits: Any, params: SamplingParams, rng: Any) -> int:
        torch = self.torch
        if params.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / params.temperature, dim=-1)
        if params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < params.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
        return int(torch.multinomial(probs, 1, generator=rng))

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))

    def run(self, job: Job) -> None:
        torch = self.torch
        params = job.request.params
        stats = job.stats
        started = time.perf_counter()
        threads = self._threads.between_requests()
        if threads is not None and threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        with torch.inference_mode():
            ids = self.tokenizer.encode(job.request.prompt, add_special_tokens=False)
            if not ids:
                stats.finish_reason = "stop"
                return
            running = self.adapters.select(job.request.adapter)
            log.debug("generating for %s with LoRA adapter %s (asked: %s)",
                      job.request.affinity_key, running or "none", job.request.adapter or "none")
            self._select((running, job.request.affinity_key))
            cached = self._reuse_cache(ids)
            stats.prompt_tokens = len(ids)
            stats.cached_prompt_tokens = cached
            logits = None
            for start in range(cached, len(ids), PREFILL_CHUNK):
                if job.cancel.is_set():
                    stats.finish_reason = "cancelled"
                    return
                logits = self._forward(ids[start : start + PREFILL_CHUNK])
            rng = None
            if params.temperature > 0:
                rng = torch.Generator().manual_seed(params.seed if params.seed is not None else 0)
            picked = PickedTokens(job, self._decode, started)
            while True:
                if job.cancel.is_set():
                    stats.finish_reason = "cancelled"
                    return
                token = self._pick(logits, params, rng)
                if token in self.stop_ids:
                    stats.finish_reason = "stop"
                    return
                picked.add(token)
                if len(picked.ids) >= params.max_tokens:
                    stats.finish_reason = "length"
                    return
                logits = self._forward([token])


class EmbeddedEngine:
    """Qwen2.5-Coder (or any causal LM) on the CPU; the default, with nothing to set up."""

    name = "embedded"
    # Whether the runtime applies LoRA adapters (torch with peft does; ONNX does not).
    applies_adapters = True

    def __init__(
        self,
        settings: Settings,
        progress: ProgressCallback | None = None,
        store: ModelStore | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        """``notify`` tells the user of a problem that does not stop the engine (a LoRA
        adapter it cannot serve), once; called on the event loop."""
        self._settings = settings
        self._progress = progress
        self._notify = notify or (lambda message: None)
        # ``notify`` for the worker thread (it hands the message to the event loop).
        self._notify_from_worker: Callable[[str], None] = lambda message: None
        self._told_adapters_ignored = False
        self._store = store or ModelStore(settings.model.cache_dir)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loomline-model")
        self._generator: ModelRunner | None = None
        self._state = EngineState.STARTING
        self._message = "starting"
        self._listeners = StateBroadcast()
        self._load_task: asyncio.Task[None] | None = None
        self._model_dir: Path | None = None

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def status_message(self) -> str:
        return self._message

    @property
    def tokenizer(self) -> Any | None:
        return self._generator.tokenizer if self._generator else None

    @property
    def model_dir(self) -> Path | None:
        return self._model_dir

    def subscribe(self, listener: StateListener) -> Unsubscribe:
        return self._listeners.subscribe(listener, self._state, self._message)

    def _set_state(self, state: EngineState, message: str) -> None:
        self._state = state
        self._message = message
        self._listeners.publish(state, message)

    async def start(self) -> None:
        if self._load_task is None:
            self._set_state(EngineState.LOADING, f"loading {self._settings.model.id}")
            self._load_task = asyncio.create_task(self._load())

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Start if needed and wait until loaded; ``EngineUnavailable`` if loading failed,
        ``TimeoutError`` after ``timeout`` seconds."""
        await self.start()
        if await wait_settled(self, timeout) is not EngineState.READY:
            raise EngineUnavailable(self._message)

    def _report(self, message: str, fraction: float | None) -> None:
        self._message = message
        if self._progress:
            self._progress(message, fraction)
        # After the progress callback: a listener's "ready" is the last word, not its 100 %.
        self._listeners.publish(self._state, message)

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        model = self._settings.model

        def report(message: str, fraction: float | None) -> None:
            loop.call_soon_threadsafe(self._report, message, fraction)

        def notify(message: str) -> None:
            loop.call_soon_threadsafe(self._notify, message)

        self._notify_from_worker = notify

        def load() -> ModelRunner:
            generator = self._open_model(report)
            generator.warm_up()
            return generator

        try:
            self._generator = await loop.run_in_executor(self._executor, load)
        except asyncio.CancelledError:
            # Closed while loading: whoever waits for it hears it will not be ready.
            self._set_state(EngineState.ERROR, "the engine was closed while loading")
            raise
        except Exception as error:
            log.exception("the embedded model failed to load")
            self._state = EngineState.ERROR
            self._report(f"the embedded model failed to load: {error}", None)
        else:
            self._state = EngineState.READY
            self._report(f"{model.id} ready", 1.0)

    def _open_model(self, report: ProgressCallback) -> ModelRunner:
        """Prepare and load the model (in the worker thread); sets ``_model_dir``."""
        model = self._settings.model
        directory = self._store.resolve(model.id, model.path, progress=report)
        self._model_dir = directory
        report(f"loading {model.id} from {directory}", None)
        return _Generator(directory, ThreadPolicy(model.threads), self._settings,
                          self._notify_from_worker)

    def _adapters_ignored(self, adapter: str) -> None:
        """Tell the user once that this runtime answers with the base model whatever the
        adapter (``model.runtime`` "torch" applies them)."""
        if not self._told_adapters_ignored:
            self._told_adapters_ignored = True
            message = (f"the {self.name} runtime does not apply LoRA adapters: '{adapter}' "
                       "(engine.adapters) is ignored; model.runtime 'torch' applies them")
            log.warning("%s", message)
            self._notify(message)

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        if self._state is not EngineState.READY or self._generator is None:
            raise EngineUnavailable(self._message)
        if request.adapter and not self.applies_adapters:
            self._adapters_ignored(request.adapter)
        generator = self._generator
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()

        def emit(item: str | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        job = Job(request=request, stats=stats or GenerationStats(), emit=emit)

        def work() -> None:
            try:
                if not job.cancel.is_set():
                    generator.run(job)
                else:
                    job.stats.finish_reason = "cancelled"
            except BaseException as error:  # surfaced to the consumer, not lost in the thread
                emit(error)
            finally:
                job.stats.stopped_at = time.perf_counter()
                emit(None)

        future = loop.run_in_executor(self._executor, work)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # Reached on normal end, on aclose() and on task cancellation alike.
            job.cancel.set()
        await future

    async def close(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
