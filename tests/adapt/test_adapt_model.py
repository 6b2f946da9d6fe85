"""``loomline adapt`` with the real model on the fixture repository: a few steps lower the
held-out loss, write a PEFT adapter and its manifest, and change what the embedded engine
completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.completion.engines.base import GenerationRequest, SamplingParams
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.settings import DEFAULT_MODEL_ID, Settings
from tests.adapt.conftest import Trained

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="session")]

# A new function in the repository's style; the house style says what comes next.
PROMPT = (
    "<|fim_prefix|>from ledger.audit import audit\nfrom ledger.receipt import Receipt\n\n\n"
    "def refund_account(account_id: int, amount: int = 0) -> Receipt:\n"
    '    """Refund the account."""\n    <|fim_suffix|>\n<|fim_middle|>'
)


def test_a_few_steps_lower_the_held_out_loss(trained: Trained) -> None:
    assert trained.exit_status == 0
    manifest = trained.manifest
    metrics = manifest["metrics"]
    assert isinstance(metrics, dict)
    before, after = metrics["before"], metrics["after"]
    assert after["heldout_loss"] < 0.9 * before["heldout_loss"], metrics
    assert manifest["base_model"] == DEFAULT_MODEL_ID
    assert len(str(manifest["data_hash"])) == 64 and manifest["heldout_files"]
    training = manifest["training"]
    assert isinstance(training, dict) and training["steps_done"] == 8
    directory = trained.cache / "adapters" / "ledger"
    for name in ("adapter_config.json", "adapter_model.safetensors", "manifest.json",
                 "checkpoint/trainer_state.pt"):
        assert (directory / name).is_file(), name


async def test_the_embedded_engine_completes_differently_with_it(
    trained: Trained, model_dir: Path
) -> None:
    settings = Settings.model_validate(
        {"model": {"path": str(model_dir), "cacheDir": str(trained.cache)}}
    )
    engine = EmbeddedEngine(settings)
    await engine.wait_ready(timeout=300)
    try:
        answers = []
        for adapter in (None, "ledger", None):
            request = GenerationRequest(PROMPT, SamplingParams(max_tokens=16),
                                        affinity_key="file:///w/refund.py", adapter=adapter)
            answers.append("".join([c async for c in engine.stream(request)]))
    finally:
        await engine.close()
    base, adapted, base_again = answers
    print(answers)
    assert adapted != base and base_again == base
