"""``loomline adapt`` sets torch's threads by the engine's ThreadPolicy (the cores other jobs
leave free, re-measured between training steps; ``model.threads`` > 0 fixes it), on a tiny
random model (seconds, no real model)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from loomline.completion.adapt import command  # noqa: E402
from loomline.completion.adapt import session as session_module  # noqa: E402
from loomline.completion.adapt.samples import FimSample, SampleSet  # noqa: E402
from loomline.completion.adapt.session import AdaptSession  # noqa: E402
from loomline.completion.adapt.training import TrainOptions  # noqa: E402
from loomline.completion.engines.threads import ThreadPolicy  # noqa: E402
from loomline.completion.settings import Settings  # noqa: E402
from tests.adapt.tiny_model import write_model  # noqa: E402


class ScriptedPolicy(ThreadPolicy):
    """A policy whose measurements are given: ``start`` at load, then ``later`` one per look
    (None: the window was too short to say)."""

    def __init__(self, start: int, later: list[int | None]) -> None:
        super().__init__()
        self.start, self.later, self.looks = start, list(later), 0

    def at_start(self) -> int:
        return self.start

    def between_requests(self) -> int | None:
        self.looks += 1
        return self.later.pop(0) if self.later else None


@pytest.fixture
def restore_threads() -> object:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def samples() -> SampleSet:
    train = [FimSample("a.py", i, "def main ( ) : x =", "1 + y", multiline=False)
             for i in range(4)]
    return SampleSet(train=train, heldout=[train[0]], heldout_files=["b.py"], files=2)


def test_training_follows_the_free_cores_between_steps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_threads: object) -> None:
    write_model(tmp_path / "model")
    set_to: list[int] = []
    real_set = torch.set_num_threads

    def recording_set(threads: int) -> None:
        set_to.append(threads)
        real_set(threads)

    monkeypatch.setattr(torch, "set_num_threads", recording_set)
    policy = ScriptedPolicy(start=1, later=[None, 2, 2, 1])
    options = TrainOptions(steps=3, rank=2, alpha=4, batch_size=2, max_seq_len=64,
                           device="cpu", checkpoint_every=10)
    session = AdaptSession(tmp_path / "model", options, samples(), ["<|endoftext|>"], policy)
    assert set_to == [1]  # before the model loads
    result, _metrics = session.run(tmp_path / "out", resume=False)
    assert result.steps_done == 3
    # A look after each step and one before the held-out measurement after training: a short
    # window keeps the count, a changed figure is applied, an unchanged one is not set again.
    assert policy.looks == 4
    assert set_to == [1, 2, 1]
    assert torch.get_num_threads() == 1


def test_the_command_hands_the_configured_threads_to_the_policy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ThreadPolicy] = []

    class Stop(Exception):
        pass

    def fake_session(*args: object) -> object:
        assert isinstance(args[-1], ThreadPolicy)
        seen.append(args[-1])
        raise Stop

    monkeypatch.setattr(session_module, "AdaptSession", fake_session)
    for configured in (0, 3):
        settings = Settings()
        settings.model.threads = configured
        with pytest.raises(Stop):
            command._train(tmp_path, "name", tmp_path / "out", tmp_path, settings,
                           TrainOptions(), samples(), False)
    assert [p.configured for p in seen] == [0, 3]
    assert seen[1].at_start() == 3
