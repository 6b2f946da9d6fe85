"""The checks ``engine serve`` makes on its ``--lora`` adapters, before vLLM starts and for
``--dry-run`` alike (names given twice and ``--max-lora-rank`` are checked with the arguments,
in ``ServeConfig.from_args``)."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.adapt.store import ADAPTER_CONFIG, adapter_rank, other_base_model
from loomline.server.vllm_server import ServeConfig


def lora_problem(config: ServeConfig, planning: bool = False) -> tuple[str | None, list[str]]:
    """(what makes ``config``'s adapters unservable, or None; notes). ``planning``: a dry run,
    perhaps for another machine, where an adapter directory absent here is a note, not an
    error; one that is here is checked in full (an adapter, its rank, its base model)."""
    notes = []
    for name, path in config.loras:
        if planning and not Path(path).exists():
            notes.append(f"--lora {name}: {path} is not on this machine (checked when the "
                         "server starts)")
            continue
        rank = adapter_rank(Path(path))
        if rank is None:
            return (f"--lora {name}={path}: no PEFT adapter there ({ADAPTER_CONFIG} with "
                    "its rank `r`); `loomline adapt` makes one"), notes
        if rank > config.lora_rank():
            return (f"--lora {name}: rank {rank} is above --max-lora-rank "
                    f"{config.lora_rank()}"), notes
        if base := other_base_model(Path(path), config.served_model_name):
            return (f"--lora {name}: the adapter was trained for {base}, not the served "
                    f"model {config.served_model_name} (--served-model-name)"), notes
    return None, notes
