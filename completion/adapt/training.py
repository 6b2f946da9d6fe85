"""LoRA training of a causal code model on FIM samples (torch, transformers, peft).

The loss is on the answer only (the middle and the end-of-text token that ends it, so the
adapter also learns where to stop); the prompt is context. One optimizer step takes
``batch_size`` samples, each its own forward and backward pass (no padding: on a CPU padded
tokens cost as much as real ones). Which samples a step takes depends only on the step number
and the seed, so a resumed run goes on exactly where the checkpoint left off.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loomline.completion.adapt.store import ADAPTER_WEIGHTS

if TYPE_CHECKING:  # (the samples module loads the completion service: only when cutting)
    from loomline.completion.adapt.samples import FimSample

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE = "trainer_state.pt"
# Options a resumed run must share with its checkpoint (steps and the time budget may change).
RESUME_KEYS = ("rank", "alpha", "dropout", "learning_rate", "batch_size", "max_seq_len", "seed")


class ResumeMismatch(Exception):
    """The checkpoint was made from other data or with other options, or is past ``steps``."""


class TrainingStopped(Exception):
    """The run was interrupted (Ctrl-C); the checkpoint of step ``step`` (the last finished
    one) of ``steps`` was saved, so ``--resume`` goes on from there."""

    def __init__(self, step: int, steps: int) -> None:
        super().__init__(f"stopped at step {step}/{steps}")
        self.step = step
        self.steps = steps


@dataclass(frozen=True, slots=True)
class TrainOptions:
    steps: int = 100
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    learning_rate: float = 3e-4
    batch_size: int = 4
    max_seq_len: int = 512  # tokens of prompt + answer; longer samples are left out
    time_budget_s: float | None = None  # the training loop stops after this long
    checkpoint_every: int = 25  # steps
    seed: int = 0
    device: str = "auto"  # "auto" (a GPU when there is one), "cpu", "cuda", "cuda:1", ...

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A sample as token ids: the prompt's, then the answer's from ``answer_from`` on."""

    ids: list[int]
    answer_from: int


@dataclass(slots=True)
class TrainResult:
    steps_done: int
    seconds: float  # in the training loop, this run only
    stopped_by: str  # "steps" or "time budget"
    resumed_from: int = 0
    losses: list[float] = field(default_factory=list)  # mean training loss per step, this run


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} asked for, but torch sees no GPU")
    return requested


def end_token_id(tokenizer: Any, stops: Sequence[str]) -> int:
    """The token that ends an answer: the template's first stop token the vocabulary has."""
    vocab = tokenizer.get_vocab()
    for token in stops:
        if token in vocab:
            return int(vocab[token])
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has none of the template's stop tokens and no EOS")
    return int(tokenizer.eos_token_id)


def encode(tokenizer: Any, sample: FimSample, end_id: int, max_seq_len: int) -> Encoded | None:
    """Token ids of ``sample`` (answer + end token); None when it is longer than allowed."""
    prompt = tokenizer.encode(sample.prompt, add_special_tokens=False)
    answer = [*tokenizer.encode(sample.middle, add_special_tokens=False), end_id]
    if len(prompt) + len(answer) > max_seq_len or not prompt:
        return None
    return Encoded(prompt + answer, len(prompt))


def load_model(model_dir: Path, device: str) -> tuple[Any, Any]:
    """The tokenizer and the base model (bf16) on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    return tokenizer, model.to(device)


def with_lora(model: Any, options: TrainOptions) -> Any:
    """``model`` wrapped with a fresh LoRA adapter on every linear layer (the output head
    excepted); the adapter's weights are float32 whatever the base's dtype."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def answer_loss(model: Any, sample: Encoded, device: str) -> Any:
    """Mean cross-entropy (nats) over the answer's tokens, as a tensor with its graph."""
    import torch

    ids = torch.tensor([sample.ids], dtype=torch.long, device=device)
    labels = ids.clone()
    labels[0, : sample.answer_from] = -100
    return model(input_ids=ids, labels=labels).loss


def sample_order(count: int, step: int, batch_size: int, seed: int) -> list[int]:
    """The indices of the samples step ``step`` trains on: epochs of a seeded shuffle."""
    picked = []
    orders: dict[int, list[int]] = {}
    for slot in range(step * batch_size, (step + 1) * batch_size):
        epoch, position = divmod(slot, count)
        if epoch not in orders:
            orders[epoch] = list(range(count))
            random.Random(f"{seed}:{epoch}").shuffle(orders[epoch])
        picked.append(orders[epoch][position])
    return picked


class LoraTrainer:
    """Trains the LoRA adapter of ``model`` (a peft model) on encoded samples."""

    def __init__(self, model: Any, options: TrainOptions, device: str, data_hash: str) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.options = options
        self.device = device
        self.data_hash = data_hash
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=0.0)
        warmup = max(1, min(10, options.steps // 10))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: min(1.0, (step + 1) / warmup)
        )
        self.step = 0
        self.extra: dict[str, Any] = {}  # kept in the checkpoint (e.g. metrics before training)

    # ---- checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, output: Path) -> None:
        directory = output / CHECKPOINT_DIR
        self.model.save_pretrained(directory)
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self.torch.get_rng_state(),
            "data_hash": self.data_hash,
            "options": self.options.as_dict(),
            "extra": self.extra,
        }
        partial = directory / (TRAINER_STATE + ".partial")
        self.torch.save(state, partial)
        partial.replace(directory / TRAINER_STATE)  # a run killed mid-write keeps the last one

    def resume(self, output: Path) -> bool:
        """Load the checkpoint under ``output`` if there is one; False when there is none.
        ``ResumeMismatch`` when it was made from other data or with other options."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        directory = output / CHECKPOINT_DIR
        if not (directory / TRAINER_STATE).is_file():
            return False
        state = self.torch.load(directory / TRAINER_STATE, weights_only=False)
        if int(state["step"]) > self.options.steps:
            # Training 0 steps would only overwrite the adapter's manifest without a loss.
            raise ResumeMismatch(f"the checkpoint is at step {state['step']}, already past "
                                 f"--steps {self.options.steps}; ask for more steps or train "
                                 "afresh without --resume")
        if state["data_hash"] != self.data_hash:
            raise ResumeMismatch("the checkpoint was trained on other samples (the workspace "
                                 "or the sample options changed); train afresh without --resume")
        mine = self.options.as_dict()
        differ = [k for k in RESUME_KEYS if state["options"].get(k) != mine[k]]
        if differ:
            raise ResumeMismatch(f"the checkpoint has other {', '.join(differ)}; use the same "
                                 "options or train afresh without --resume")
        weights = load_file(str(directory / ADAPTER_WEIGHTS), device=self.device)
        set_peft_model_state_dict(self.model, weights)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.torch.set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.extra = dict(state.get("extra", {}))
        return True

    # ---- the loop ---------------------------------------------------------------------
    def train(self, samples: list[Encoded], output: Path,
              on_step: Callable[[int, float], None] | None = None) -> TrainResult:
        """Train up to ``options.steps`` steps (from the resumed step), checkpointing every
        ``options.checkpoint_every`` steps and at the end. ``on_step(step, loss)`` after each.
        ``TrainingStopped`` on Ctrl-C, after saving the checkpoint of the last finished step."""
        if not samples:
            raise ValueError("no training samples")
        options = self.options
        result = TrainResult(self.step, 0.0, "steps", resumed_from=self.step)
        started = time.perf_counter()
        self.model.train()
        try:
            while self.step < options.steps:
                elapsed = time.perf_counter() - started
                if options.time_budget_s is not None and elapsed >= options.time_budget_s:
                    result.stopped_by = "time budget"
                    break
                loss = self._gradients(samples)
                with _interrupt_deferred():  # weights, schedule and count change together
                    self.optimizer.step()
                    self.scheduler.step()
                    self.step += 1
                result.losses.append(loss)
                if on_step is not None:
                    on_step(self.step, loss)
                if self.step % options.checkpoint_every == 0 and self.step < options.steps:
                    self.save_checkpoint(output)
        except KeyboardInterrupt:
            self.model.eval()
            self.save_checkpoint(output)
            raise TrainingStopped(self.step, options.steps) from None
        self.model.eval()
        result.steps_done = self.step
        result.seconds = time.perf_counter() - started
        self.save_checkpoint(output)
        return result

    def _gradients(self, samples: list[Encoded]) -> float:
        """The gradients of one step's batch (nothing the checkpoint holds changes); its loss."""
        options = self.options
        picked = sample_order(len(samples), self.step, options.batch_size, options.seed)
        total = 0.0
        self.optimizer.zero_grad(set_to_none=True)
        for index in picked:
            loss = answer_loss(self.model, samples[index], self.device) / len(picked)
            loss.backward()
            total += float(loss.detach())
        return total


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold a SIGINT that arrives inside the block until the block ends (main thread only:
    elsewhere Python delivers no signals, so there is nothing to hold)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if caught and callable(previous):  # Python's default handler raises KeyboardInterrupt
        previous(signal.SIGINT, None)
