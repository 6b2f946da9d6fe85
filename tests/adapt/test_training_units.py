"""The training loop's checkpoints and resume, the manifest, the store's names and the command's
checks, on a tiny random model (seconds, no real model)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from loomline.completion.adapt import command  # noqa: E402
from loomline.completion.adapt.evaluation import normalized  # noqa: E402
from loomline.completion.adapt.samples import FimSample  # noqa: E402
from loomline.completion.adapt.store import (  # noqa: E402
    Manifest,
    adapter_dir,
    adapter_name_for,
    read_manifest,
    valid_adapter_name,
)
from loomline.completion.adapt.training import (  # noqa: E402
    Encoded,
    LoraTrainer,
    ResumeMismatch,
    TrainOptions,
    encode,
    sample_order,
    with_lora,
)
from loomline.completion.settings import Settings  # noqa: E402
from tests.adapt.tiny_model import tiny_model  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> object:
    """A tiny model's kernels gain nothing from threads, which only wait on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SAMPLES = [Encoded(ids=[(7 * i + j) % 64 for j in range(12)], answer_from=8) for i in range(6)]
OPTIONS = TrainOptions(steps=4, rank=2, alpha=4, learning_rate=1e-2, batch_size=2,
                       checkpoint_every=2, dropout=0.1)


def lora_weights(model: object) -> dict[str, object]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()  # type: ignore[attr-defined]
            if "lora_" in k}


def test_a_resumed_run_ends_where_an_unbroken_one_does(tmp_path: Path) -> None:
    straight = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    torch.manual_seed(1)
    result = straight.train(SAMPLES, tmp_path / "a")
    assert result.steps_done == 4 and result.stopped_by == "steps" and len(result.losses) == 4

    half = TrainOptions(**{**OPTIONS.as_dict(), "steps": 2})
    first = LoraTrainer(with_lora(tiny_model(), half), half, "cpu", "hash")
    torch.manual_seed(1)
    first.extra["before"] = {"heldout_loss": 3.0}
    first.train(SAMPLES, tmp_path / "b")
    second = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    assert second.resume(tmp_path / "b")
    assert second.step == 2 and second.extra == {"before": {"heldout_loss": 3.0}}
    resumed = second.train(SAMPLES, tmp_path / "b")
    assert resumed.resumed_from == 2 and resumed.steps_done == 4 and len(resumed.losses) == 2
    a, b = lora_weights(straight.model), lora_weights(second.model)
    assert a.keys() == b.keys() and a
    assert all(torch.equal(a[k], b[k]) for k in a)  # type: ignore[arg-type]


def test_resume_refuses_other_data_or_options(tmp_path: Path) -> None:
    LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash").train(SAMPLES, tmp_path)
    other_data = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "other")
    with pytest.raises(ResumeMismatch, match="other samples"):
        other_data.resume(tmp_path)
    ranked = TrainOptions(**{**OPTIONS.as_dict(), "learning_rate": 1e-3})
    with pytest.raises(ResumeMismatch, match="learning_rate"):
        LoraTrainer(with_lora(tiny_model(), OPTIONS), ranked, "cpu", "hash").resume(tmp_path)
    more_steps = TrainOptions(**{**OPTIONS.as_dict(), "steps": 9})
    assert LoraTrainer(with_lora(tiny_model(), OPTIONS), more_steps, "cpu", "hash").resume(tmp_path)
    assert not LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash").resume(
        tmp_path / "nothing-here")


def test_a_time_budget_stops_training_and_leaves_a_checkpoint(tmp_path: Path) -> None:
    options = TrainOptions(**{**OPTIONS.as_dict(), "steps": 1000, "time_budget_s": 1e-9})
    result = LoraTrainer(with_lora(tiny_model(), options), options, "cpu", "h").train(
        SAMPLES, tmp_path)
    assert result.stopped_by == "time budget" and result.steps_done == 0
    assert (tmp_path / "checkpoint" / "trainer_state.pt").is_file()
    assert (tmp_path / "checkpoint" / "adapter_model.safetensors").is_file()


def test_loss_is_on_the_answer_only() -> None:
    class Tokens:
        def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
            return [ord(c) for c in text]

    sample = FimSample("a.py", 0, "<p>", "xy", False)
    encoded = encode(Tokens(), sample, end_id=0, max_seq_len=64)
    assert encoded == Encoded([60, 112, 62, 120, 121, 0], 3)
    assert encode(Tokens(), sample, end_id=0, max_seq_len=5) is None


def test_sample_order_covers_every_sample_each_epoch() -> None:
    picked = [i for step in range(3) for i in sample_order(6, step, 2, seed=0)]
    assert sorted(picked) == list(range(6))
    assert sample_order(6, 1, 2, seed=0) == sample_order(6, 1, 2, seed=0)


def test_exact_match_compares_first_lines_of_one_line_answers() -> None:
    assert normalized("return x\n    y = 2", multiline=False) == "return x"
    assert normalized("if a:\n    b()  \n\n", multiline=True) == "if a:\n    b()"


# ---- the store and the manifest ----------------------------------------------------------
def test_adapter_names_resolve_under_the_cache(tmp_path: Path) -> None:
    assert adapter_dir("team-a", tmp_path) == tmp_path / "adapters" / "team-a"
    for bad in ("../x", "a/b", "", ".", "..", "-x", "a b"):
        assert not valid_adapter_name(bad)
        with pytest.raises(ValueError, match="invalid adapter name"):
            adapter_dir(bad, tmp_path)
    assert adapter_name_for(tmp_path / "My Repo!") == "My-Repo"
    assert valid_adapter_name(adapter_name_for(tmp_path / "..."))


def test_manifest_round_trip(tmp_path: Path) -> None:
    manifest = Manifest(
        base_model="Qwen/Qwen2.5-Coder-0.5B-Instruct", base_model_dir="/m", workspace="/w",
        data_hash="abc", train_samples=3, heldout_samples=1, heldout_files=["x.py"],
        settings=OPTIONS.as_dict(),
        metrics={"before": {"heldout_loss": 2.0, "exact_match": 0.0}},
    )
    manifest.write(tmp_path / "out")
    data = read_manifest(tmp_path / "out")
    assert data is not None and data["base_model"] == manifest.base_model
    assert data["settings"]["rank"] == 2 and data["metrics"]["before"]["heldout_loss"] == 2.0
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("[1,")
    assert read_manifest(tmp_path / "broken") is None
    assert read_manifest(tmp_path / "absent") is None


# ---- the command's checks ------------------------------------------------------------------
def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(("argv", "message"), [
    (["--steps", "0"], "--steps must be at least 1"),
    (["--lr", "-1"], "--lr must be positive"),
    (["--max-seq-len", "10"], "--max-seq-len must be at least 64"),
    (["--heldout-share", "1.5"], "--heldout-share"),
    (["--settings", "[1"], "--settings is not valid JSON"),
    (["--settings", "[1]"], "--settings must be a JSON object"),
    (["--name", "../up"], "invalid adapter name"),
])
def test_bad_options_get_a_clear_message(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command.run(parse(str(tmp_path), *argv)) == 2
    assert message in capsys.readouterr().err


def test_a_missing_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert command.run(parse(str(tmp_path / "nope"))) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_printed_setting_is_json_for_any_folder_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    folder = tmp_path / 'odd "repo" \\ name'
    manifest = Manifest(base_model="m", base_model_dir="", workspace=str(folder), data_hash="",
                        train_samples=1, heldout_samples=0, heldout_files=[], settings={},
                        training={"steps_done": 1, "stopped_by": "steps", "train_seconds": 1,
                                  "peak_memory_mb": 1})
    command._report("odd", folder, tmp_path / "out", manifest)
    line = next(x for x in capsys.readouterr().err.splitlines() if "use it with" in x)
    setting = json.loads(line.split("use it with the settings ", 1)[1])
    assert setting == {"engine": {"adapters": {str(folder): "odd"}}}


def test_prompt_budget_fits_the_sequence_length() -> None:
    settings = command.prompt_settings(Settings(), 512, 96)
    share = settings.context.budget_share
    total = settings.completion.prompt_tokens / (1 - share)
    assert total + 96 <= 512 and settings.completion.prompt_tokens >= 64
    assert Settings().completion.prompt_tokens == 1024  # the user's settings stay as they are


def test_greedy_answer_is_what_generate_gives(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from loomline.completion.adapt.evaluation import EXTRA_TOKENS, greedy_answer
    from tests.adapt.tiny_model import write_model

    write_model(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    sample = FimSample("a.py", 0, "def main ( ) : x =", "1 + y if a", multiline=True)
    got = greedy_answer(model, tokenizer, sample, {0}, "cpu")
    prompt = torch.tensor([tokenizer.encode(sample.prompt, add_special_tokens=False)])
    out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                         max_new_tokens=len(tokenizer.encode(sample.middle)) + EXTRA_TOKENS,
                         do_sample=False, eos_token_id=0, pad_token_id=0)
    new = out[0, prompt.shape[1]:].tolist()
    new = new[: new.index(0)] if 0 in new else new
    assert got == tokenizer.decode(new) and got


def test_ctrl_c_in_the_optimizer_update_waits_for_the_step_to_finish(tmp_path: Path) -> None:
    import signal

    from loomline.completion.adapt.training import TrainingStopped

    trainer = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    update = trainer.optimizer.step

    def interrupted_update() -> None:  # SIGINT while the optimizer changes the weights
        signal.raise_signal(signal.SIGINT)
        update()

    trainer.optimizer.step = interrupted_update  # type: ignore[method-assign]
    with pytest.raises(TrainingStopped) as stopped:
        trainer.train(SAMPLES, tmp_path)
    # The update ran whole and counts as step 1: the checkpoint's weights, schedule and step
    # agree, so a resumed run takes up step 2.
    assert stopped.value.step == 1 and stopped.value.steps == OPTIONS.steps
    state = torch.load(tmp_path / "checkpoint" / "trainer_state.pt", weights_only=False)
    assert state["step"] == 1 and state["scheduler"]["last_epoch"] == 1
    resumed = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    assert resumed.resume(tmp_path) and resumed.train(SAMPLES, tmp_path).resumed_from == 1


def test_ctrl_c_from_the_step_hook_saves_the_finished_step(tmp_path: Path) -> None:
    from loomline.completion.adapt.training import TrainingStopped

    def hook(step: int, _loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    trainer = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    with pytest.raises(TrainingStopped, match="stopped at step 3/4"):
        trainer.train(SAMPLES, tmp_path, hook)
    resumed = LoraTrainer(with_lora(tiny_model(), OPTIONS), OPTIONS, "cpu", "hash")
    assert resumed.resume(tmp_path) and resumed.step == 3
    result = resumed.train(SAMPLES, tmp_path)
    assert result.resumed_from == 3 and result.steps_done == 4 and len(result.losses) == 1
