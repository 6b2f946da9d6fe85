"""Held-out metrics of a model (with or without its adapter) on FIM samples.

``heldout_loss``: mean cross-entropy per answer token (nats), over all held-out answers.
``exact_match``: share of held-out samples whose greedy answer equals the expected one: the
first line for a one-line answer (the service stops there), every line (trailing blanks
ignored) for a block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from loomline.completion.adapt.samples import FimSample
from loomline.completion.adapt.training import Encoded

EXTRA_TOKENS = 8  # generated past the expected answer's length: room to show it goes on


def heldout_loss(model: Any, samples: Sequence[Encoded], device: str) -> float:
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for sample in samples:
            ids = torch.tensor([sample.ids], dtype=torch.long, device=device)
            logits = model(input_ids=ids).logits[0, sample.answer_from - 1 : -1].float()
            target = ids[0, sample.answer_from :]
            loss = torch.nn.functional.cross_entropy(logits, target, reduction="sum")
            total += float(loss)
            count += len(target)
    return total / count if count else float("nan")


def normalized(text: str, multiline: bool) -> str:
    """An answer as exact match compares it: its first line for one-line answers, trailing
    blanks of each line and blank lines at either end removed."""
    if not multiline:
        text = text.split("\n", 1)[0]
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()


def greedy_answer(model: Any, tokenizer: Any, sample: FimSample, stop_ids: set[int],
                  device: str) -> str:
    """The model's greedy answer to the sample's prompt: up to a stop token, the expected
    answer's length and ``EXTRA_TOKENS`` more, or (one-line answers) the first line break."""
    import torch
    from transformers import DynamicCache

    prompt = tokenizer.encode(sample.prompt, add_special_tokens=False)
    wanted = len(tokenizer.encode(sample.middle, add_special_tokens=False)) + EXTRA_TOKENS
    cache = DynamicCache(config=model.config)
    ids = torch.tensor([prompt], dtype=torch.long, device=device)
    new: list[int] = []
    with torch.inference_mode():
        while len(new) < wanted:
            logits = model(input_ids=ids, past_key_values=cache, use_cache=True,
                           logits_to_keep=1).logits
            token = int(logits[0, -1].argmax())
            if token in stop_ids:
                break
            new.append(token)
            if not sample.multiline and "\n" in tokenizer.decode([token]):
                break  # exact match reads the first line only
            ids = torch.tensor([[token]], dtype=torch.long, device=device)
    return str(tokenizer.decode(new, skip_special_tokens=False))


def exact_match(model: Any, tokenizer: Any, samples: Sequence[FimSample], stop_ids: set[int],
                device: str, progress: Callable[[], None] | None = None) -> float:
    hits = 0
    for sample in samples:
        got = greedy_answer(model, tokenizer, sample, stop_ids, device)
        hits += normalized(got, sample.multiline) == normalized(sample.middle, sample.multiline)
        if progress is not None:
            progress()
    return hits / len(samples) if samples else float("nan")
