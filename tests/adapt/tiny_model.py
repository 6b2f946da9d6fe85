"""A tiny random causal model with a word-level tokenizer, and LoRA adapters for it, written to
folders: the embedded engine and the training loop run on it in a fraction of a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = ["<|endoftext|>", "<unk>", "def", "main", "return", "(", ")", ":", "x", "y", "z", "=",
         "+", "1", "2", "3", "if", "else", "for", "in", "print", "a", "b", "c"]
WORDS += [f" w{i}" for i in range(len(WORDS), 64)]  # every id of the model decodes to text


def tiny_model() -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         eos_token_id=0, bos_token_id=0, pad_token_id=0)
    return Qwen2ForCausalLM(config).to(torch.bfloat16)


def write_model(directory: Path) -> Path:
    """The tiny model and its tokenizer as a model directory (safetensors)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>",
                                   eos_token="<|endoftext|>")
    fast.save_pretrained(directory)
    tiny_model().save_pretrained(directory)
    return directory


def write_adapter(directory: Path, seed: int, base_model: str | None = None) -> Path:
    """A LoRA adapter with random (non-zero) weights for the tiny model; with ``base_model``,
    a manifest that names it."""
    import torch
    from peft import LoraConfig, get_peft_model

    from loomline.completion.adapt.store import Manifest

    base = tiny_model()
    torch.manual_seed(seed)
    config = LoraConfig(r=4, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(directory)
    if base_model is not None:
        Manifest(base_model=base_model, base_model_dir="", workspace="", data_hash="",
                 train_samples=0, heldout_samples=0, heldout_files=[], settings={}).write(directory)
    return directory
