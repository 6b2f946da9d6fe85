"""One training run: the model with a fresh LoRA adapter, the encoded samples, the held-out
measurements before and after, and the training loop behind a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from loomline.completion.adapt.evaluation import exact_match, heldout_loss
from loomline.completion.adapt.samples import FimSample, SampleSet
from loomline.completion.adapt.training import (
    Encoded,
    LoraTrainer,
    TrainOptions,
    TrainResult,
    encode,
    end_token_id,
    load_model,
    pick_device,
    with_lora,
)
from loomline.completion.engines.threads import ThreadPolicy

Metrics = dict[str, dict[str, float]]


class AdaptSession:
    """Loads the base model from ``model_dir`` on the options' device and wraps it with a new
    LoRA adapter; samples longer than ``max_seq_len`` are left out. ``stops``: the FIM
    template's stop tokens (the first the vocabulary has ends each answer). ``threads``: torch's
    thread count, the engine's policy (the cores others leave free, re-measured between steps;
    ``model.threads`` > 0 fixes it)."""

    def __init__(self, model_dir: Path, options: TrainOptions, samples: SampleSet,
                 stops: Sequence[str], threads: ThreadPolicy | None = None) -> None:
        import torch

        self.options = options
        self.device = pick_device(options.device)
        self.threads = threads or ThreadPolicy()
        # On a shared machine threads beyond the free cores spin against the other jobs:
        # one step took 40 s with two threads and 6 s with one on two busy cores.
        torch.set_num_threads(self.threads.at_start())
        torch.manual_seed(options.seed)
        self.tokenizer, base = load_model(model_dir, self.device)
        end_id = end_token_id(self.tokenizer, stops)
        vocab = self.tokenizer.get_vocab()
        self.stop_ids = {end_id, *(vocab[t] for t in stops if t in vocab)}
        if self.tokenizer.eos_token_id is not None:
            self.stop_ids.add(int(self.tokenizer.eos_token_id))
        self.train = self._encoded(samples.train, end_id)
        pairs = [(s, encode(self.tokenizer, s, end_id, options.max_seq_len))
                 for s in samples.heldout]
        self.heldout_samples: list[FimSample] = [s for s, e in pairs if e is not None]
        self.heldout: list[Encoded] = [e for _s, e in pairs if e is not None]
        self.model = with_lora(base, options)
        self.trainer = LoraTrainer(self.model, options, self.device, samples.data_hash())

    def name_base_model(self, model_id: str) -> None:
        """Write ``model_id`` (``model.id``) as the base model in ``adapter_config.json``
        instead of the local model directory, so the adapter names a model another machine
        resolves (the manifest keeps the local directory)."""
        for config in self.model.peft_config.values():
            config.base_model_name_or_path = model_id

    def _encoded(self, samples: list[FimSample], end_id: int) -> list[Encoded]:
        encoded = [encode(self.tokenizer, s, end_id, self.options.max_seq_len) for s in samples]
        return [e for e in encoded if e is not None]

    def measure(self, label: str) -> dict[str, float]:
        """Held-out loss and exact match of the model as it is now (empty without samples)."""
        from tqdm import tqdm

        if not self.heldout:
            return {}
        self.model.eval()
        loss = heldout_loss(self.model, self.heldout, self.device)
        with tqdm(total=len(self.heldout_samples), desc=f"held-out {label}", unit="sample",
                  file=sys.stderr, leave=False) as bar:
            em = exact_match(self.model, self.tokenizer, self.heldout_samples, self.stop_ids,
                             self.device, progress=lambda: bar.update(1))
        return {"heldout_loss": round(loss, 4), "exact_match": round(em, 4)}

    def run(self, output: Path, resume: bool) -> tuple[TrainResult, Metrics]:
        """Train (from the checkpoint under ``output`` when ``resume``) and measure; the
        measurement before training is kept in the checkpoint, so a resumed run reports it."""
        from tqdm import tqdm

        if not self.train:
            raise ValueError("no training sample fits --max-seq-len")
        if not (resume and self.trainer.resume(output)):
            # The adapter starts as a no-op (LoRA's B is zero): this is the base model.
            self.trainer.extra["before"] = self.measure("before")
        bar = tqdm(total=self.options.steps, initial=self.trainer.step, desc="training",
                   unit="step", file=sys.stderr)

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            self.follow_free_cores()

        try:
            result = self.trainer.train(self.train, output, on_step)
        finally:
            bar.close()
        self.follow_free_cores()
        metrics: Metrics = {"before": dict(self.trainer.extra.get("before", {})),
                            "after": self.measure("after")}
        return result, {k: v for k, v in metrics.items() if v}

    def follow_free_cores(self) -> None:
        """Re-measure the free cores (cheap: two counters read) and set torch's threads when
        the figure changed; a window under a second keeps the current count."""
        import torch

        threads = self.threads.between_requests()
        if threads is not None and threads != torch.get_num_threads():
            torch.set_num_threads(threads)
