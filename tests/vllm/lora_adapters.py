"""Two tiny LoRA adapters for the test model, made with peft without training: random A and
B matrices (peft would start B at zero, which changes nothing), so each adapter changes the
model's answers in its own way. Saved as standard PEFT adapter directories.

Run as ``python -m tests.vllm.lora_adapters MODEL_DIR OUT_DIR NAME...`` (a process of its own:
torch and transformers stay out of the test process). The model is built on the meta device
from its config: no weights are read, the adapters take seconds and a few MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

RANK = 8
TARGETS = ("q_proj", "v_proj")
B_STD = 0.05  # large enough to change greedy answers, small enough to keep them code


def make_adapter(model_dir: Path, out: Path, seed: int) -> None:
    """One PEFT adapter directory for ``model_dir``'s architecture at ``out``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    lora = LoraConfig(r=RANK, lora_alpha=2 * RANK, target_modules=list(TARGETS),
                      init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, lora)
    generator = torch.Generator().manual_seed(seed)
    weights = {
        name: torch.randn(param.shape, generator=generator)
        * (B_STD if "lora_B" in name else param.shape[1] ** -0.5)
        for name, param in peft_model.named_parameters()
        if "lora_" in name
    }
    peft_model.load_state_dict(weights, strict=False, assign=True)
    peft_model.save_pretrained(out)


def main(argv: list[str]) -> int:
    model_dir, out_dir, *names = argv
    for seed, name in enumerate(names, start=1):
        make_adapter(Path(model_dir), Path(out_dir) / name, seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
