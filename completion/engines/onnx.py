"""The ``onnx`` runtime of the embedded backend: ONNX Runtime GenAI on the CPU (CUDA where
present), int4 by default, in a process of its own (``model_process.py``).

One ``og.Generator`` per recent document holds that document's KV cache, and ``rewind_to(n)``
keeps the first ``n`` tokens of the previous prompt, so a typing user's unchanged prefix is
not computed again. The ONNX model is built once from the prepared safetensors
(``completion/onnx_build.py``), in the server's process, with its progress; the child only
loads it. A cancel is seen between any two forward passes (see PREFILL_CHUNK).

The library holds the GIL through each forward pass (1.6 s for a 1,000-token prefill), which
is why the model runs in a child: in the server's process the event loop would wait for it.
The thread count follows the free cores when the model loads; ONNX Runtime fixes its thread
pool when the session is made, so unlike the torch runtime it is not changed between requests.
One candidate per request (the engine interface streams one; a batch of several per document
was not tried).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loomline.completion.engines.base import SamplingParams
from loomline.completion.engines.embedded import CACHE_SLOTS, STOP_TOKENS
from loomline.completion.engines.model_process import ProcessEngine, RunnerSpec
from loomline.completion.engines.runner import Job, PickedTokens
from loomline.completion.engines.threads import ThreadPolicy
from loomline.completion.model_store import ProgressCallback
from loomline.completion.onnx_build import execution_provider, prepare_onnx_model

log = logging.getLogger(__name__)

# Tokens per prefill step: a cancel waits for one step at most (~60 ms for 32 tokens on a
# quiet 2-core machine), at the same prefill speed as longer steps.
PREFILL_CHUNK = 32
# A generator's KV buffer is allocated for its whole length up front (fp32: ~24 KB a token
# for the 0.5B), so each is sized for its prompt and answer, rounded up to this step; a longer
# prompt in the same document gets a new, larger one.
LENGTH_STEP = 512


def _sampling_key(params: SamplingParams) -> tuple[float, float, int | None]:
    """What a generator's search options fix; another sampling needs another generator."""
    if params.temperature <= 0:
        return (0.0, 1.0, None)
    return (params.temperature, params.top_p, params.seed)


@dataclass
class _Slot:
    """One document's generator and the tokens whose KV it holds (forward passes done)."""

    generator: Any
    ids: list[int]
    max_length: int
    sampling: tuple[float, float, int | None]


class _OnnxRunner:
    """The ONNX model and its per-document generators. Only touched by the worker thread."""

    tokenizer = None  # no transformers tokenizer: prompts are counted with tokenizer.json

    def __init__(self, model_dir: Path, threads: int, provider: str) -> None:
        import onnxruntime_genai as og

        og.disable_telemetry_events()  # nothing about the user leaves the machine
        self.og = og
        config = og.Config(str(model_dir))
        session = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": session}}}))
        if provider != "cpu":
            config.clear_providers()
            config.append_provider(provider)
        self.model = og.Model(config)
        self.og_tokenizer = og.Tokenizer(self.model)
        self.stop_ids = {self.og_tokenizer.to_token_id(t) for t in STOP_TOKENS}
        self.stop_ids.update(int(t) for t in self.og_tokenizer.eos_token_ids)
        self.stop_ids.discard(-1)  # a token this vocabulary lacks
        genai_config = json.loads((model_dir / "genai_config.json").read_text())
        self.context_length = int(genai_config["model"].get("context_length", 32768))
        # Generators of recent documents (by affinity key), most recently used last.
        self._slots: OrderedDict[str | None, _Slot] = OrderedDict()

    def warm_up(self) -> None:
        """One small forward pass: the first one pays for kernel selection, not a user."""
        ids = self._encode("def main():\n    return")
        slot = self._new_slot(len(ids) + 1, SamplingParams())
        slot.generator.append_tokens(ids)
        slot.generator.generate_next_token()

    def _encode(self, text: str) -> list[int]:
        return [int(t) for t in self.og_tokenizer.encode(text)]

    def _new_slot(self, needed: int, params: SamplingParams) -> _Slot:
        og = self.og
        length = min(self.context_length, -(-(needed + 1) // LENGTH_STEP) * LENGTH_STEP)
        search: dict[str, Any] = {"max_length": length, "do_sample": params.temperature > 0}
        if params.temperature > 0:
            search.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
            search["random_seed"] = params.seed if params.seed is not None else 0
        generator_params = og.GeneratorParams(self.model)
        generator_params.set_search_options(**search)
        return _Slot(og.Generator(self.model, generator_params), [], length, _sampling_key(params))

    def _slot_for(self, key: str | None, ids: list[int], params: SamplingParams) -> _Slot:
        """``key``'s generator, made current, rewound to the longest prefix it shares with
        ``ids`` (a new one when it cannot hold this prompt and answer, or samples otherwise)."""
        needed = len(ids) + params.max_tokens
        slot = self._slots.pop(key, None)
        if slot is None or slot.max_length < needed or slot.sampling != _sampling_key(params):
            slot = self._new_slot(needed, params)
        self._slots[key] = slot
        while len(self._slots) > CACHE_SLOTS:
            self._slots.popitem(last=False)
        common = 0
        limit = min(len(ids) - 1, len(slot.ids))  # keep >= 1 token to compute logits
        while common < limit and ids[common] == slot.ids[common]:
            common += 1
        # Also drops the last picked token, which was never passed through the model.
        slot.generator.rewind_to(common)
        del slot.ids[common:]
        return slot

    def run(self, job: Job) -> None:
        params = job.request.params
        stats = job.stats
        started = time.perf_counter()
        ids = self._encode(job.request.prompt)
        if not ids:
            stats.finish_reason = "stop"
            return
        if len(ids) + 1 > self.context_length:
            raise ValueError(
                f"the prompt has {len(ids)} tokens; the model holds {self.context_length}"
            )
        key = job.request.affinity_key
        slot = self._slot_for(key, ids, params)
        stats.prompt_tokens = len(ids)
        stats.cached_prompt_tokens = len(slot.ids)
        try:
            for start in range(len(slot.ids), len(ids), PREFILL_CHUNK):
                if job.cancel.is_set():
                    stats.finish_reason = "cancelled"
                    return
                chunk = ids[start : start + PREFILL_CHUNK]
                slot.generator.append_tokens(chunk)
                slot.ids.extend(chunk)
            self._decode(job, slot, started)
        except BaseException:
            self._slots.pop(key, None)  # its KV cache may not match ``slot.ids`` any more
            raise

    def _decode(self, job: Job, slot: _Slot, started: float) -> None:
        """Pick tokens one at a time until a stop token, ``max_tokens`` or a cancel."""
        stats = job.stats
        generator = slot.generator
        limit = min(job.request.params.max_tokens, slot.max_length - len(slot.ids))
        picked = PickedTokens(job, lambda ids: str(self.og_tokenizer.decode(ids)), started)
        while True:
            if job.cancel.is_set():
                stats.finish_reason = "cancelled"
                return
            generator.generate_next_token()  # runs the model on the last pick, picks the next
            if picked.ids:
                slot.ids.append(picked.ids[-1])  # its KV is in the cache now
            token = int(generator.get_next_tokens()[0])
            if token in self.stop_ids:
                stats.finish_reason = "stop"
                return
            picked.add(token)
            if len(picked.ids) >= limit:
                stats.finish_reason = "length"
                return


def open_runner(model_dir: str, threads: int, provider: str) -> _OnnxRunner:
    """The model process's factory (``RunnerSpec.factory``): the loaded ONNX model."""
    return _OnnxRunner(Path(model_dir), threads, provider)


class OnnxEngine(ProcessEngine):
    """The embedded backend on ONNX Runtime GenAI (``model.runtime: "onnx"``), the model in
    a child process."""

    name = "onnx"
    applies_adapters = False  # (a request's LoRA adapter is reported once, then ignored)

    def _runner_spec(self, report: ProgressCallback) -> RunnerSpec:
        model = self._settings.model
        directory = prepare_onnx_model(
            self._store, model.id, model.path, model.onnx_precision, report
        )
        self._model_dir = directory
        provider = execution_provider()
        report(f"loading {model.id} ({model.onnx_precision}, {provider}) from {directory}", None)
        threads = ThreadPolicy(model.threads).at_start()
        return RunnerSpec(f"{__name__}:open_runner",
                          {"model_dir": str(directory), "threads": threads, "provider": provider})
