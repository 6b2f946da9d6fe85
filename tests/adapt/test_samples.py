"""Training samples for ``loomline adapt``: cut at statement starts, prompts as the completion
service builds them, nothing from ignored or excluded files, no secrets, held out by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.completion.adapt.samples import SampleCutter, SampleSet, is_heldout
from loomline.completion.settings import Settings
from loomline.completion.tokens import EstimatedTokens
from loomline.context.statements import statement_spans
from tests.adapt.fixture_repo import (
    EXCLUDED_MARKER,
    FILES,
    IGNORED_MARKER,
    SECRET,
    write_repository,
)


def cut(root: Path, settings: Settings | None = None, **options: object) -> SampleSet:
    cutter = SampleCutter(root, settings or Settings(), EstimatedTokens())
    kwargs: dict[str, object] = {"max_train": 1000, "max_heldout": 100, "heldout_share": 0.15}
    kwargs.update(options)
    return cutter.cut(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repository(tmp_path / "ledger-repo")


def test_every_answer_is_a_statement_start_with_the_prompt_cut_there(repo: Path) -> None:
    samples = cut(repo)
    assert len(samples.train) > 50 and samples.heldout
    for sample in [*samples.train, *samples.heldout]:
        text = (repo / sample.path).read_text()
        starts = {
            text[s.start : s.end] if sample.multiline else text[s.start :].split("\n", 1)[0]
            for s in statement_spans("python", text)
            if s.start_line == sample.line
        }
        assert sample.middle in {m.rstrip() for m in starts}, sample
        # The prompt is the FIM prompt of the line with the statement taken out: the prefix
        # ends with the line's indentation, the suffix goes on after the statement.
        line = text.split("\n")[sample.line]
        indent = line[: len(line) - len(line.lstrip())]
        head, _, tail = sample.prompt.partition("<|fim_suffix|>")
        assert head.endswith("\n" + indent) or head == "<|fim_prefix|>" + indent, sample
        assert tail.endswith("<|fim_middle|>")
        assert sample.middle not in tail


def test_prompts_carry_repository_level_context(repo: Path) -> None:
    samples = cut(repo)
    # The definition of Receipt lives in ledger/receipt.py, imported by the verb modules.
    with_context = [s for s in samples.train if "class Receipt" in s.prompt
                    and s.path != "ledger/receipt.py"]
    assert with_context


def test_nothing_from_ignored_or_excluded_files(repo: Path) -> None:
    samples = cut(repo)
    paths = {s.path for s in [*samples.train, *samples.heldout]}
    assert all(not p.startswith(("build/", "secrets/")) for p in paths), paths
    assert all(not p.endswith(".generated.py") and p != ".env" for p in paths), paths
    for sample in [*samples.train, *samples.heldout]:
        assert IGNORED_MARKER not in sample.prompt + sample.middle
        assert EXCLUDED_MARKER not in sample.prompt + sample.middle


def test_an_exclusion_glob_from_the_settings_is_obeyed(repo: Path) -> None:
    settings = Settings.model_validate(
        {"context": {"exclude": [*Settings().context.exclude, "ledger/void.py"]}}
    )
    samples = cut(repo, settings)
    assert all(s.path != "ledger/void.py" for s in [*samples.train, *samples.heldout])
    assert all("void_account" not in s.prompt for s in samples.train)
    assert any(s.path == "ledger/void.py" for s in cut(repo).train + cut(repo).heldout)


def test_a_file_gitignore_adds_later_is_left_out(repo: Path) -> None:
    (repo / ".gitignore").write_text(FILES[".gitignore"] + "ledger/lock.py\n")
    samples = cut(repo)
    assert all(s.path != "ledger/lock.py" for s in [*samples.train, *samples.heldout])


def test_secrets_never_reach_a_sample(repo: Path) -> None:
    samples = cut(repo, max_train=10_000)
    assert samples.secret_answers >= 1  # the line that holds the key is no answer
    for sample in [*samples.train, *samples.heldout]:
        assert SECRET not in sample.prompt and SECRET not in sample.middle
    # Its neighbour's prompt shows the file with the key redacted.
    neighbours = [s for s in samples.train + samples.heldout if s.path == "ledger/settings.py"]
    assert any("<redacted>" in s.prompt for s in neighbours)


def test_held_out_by_file(repo: Path) -> None:
    samples = cut(repo)
    train_files = {s.path for s in samples.train}
    heldout_files = {s.path for s in samples.heldout}
    assert heldout_files and heldout_files <= set(samples.heldout_files)
    assert not train_files & set(samples.heldout_files)
    assert is_heldout("a/b.py", 0.5, 1) == is_heldout("a/b.py", 0.5, 1)


def test_one_file_is_all_training(tmp_path: Path) -> None:
    write_repository(tmp_path, {"only.py": "x = 1\ny = x + 1\nprint(y)\n"})
    samples = cut(tmp_path, heldout_share=0.5)
    assert len(samples.train) == 3 and not samples.heldout and not samples.heldout_files


def test_an_empty_or_unknown_folder_gives_no_samples(tmp_path: Path) -> None:
    write_repository(tmp_path, {"notes.txt": "hello\n", "bad.py": "\0\0binary"})
    samples = cut(tmp_path)
    assert not samples.train and not samples.heldout


def test_data_hash_follows_the_samples(repo: Path) -> None:
    first, again = cut(repo), cut(repo)
    assert first.data_hash() == again.data_hash()
    (repo / "ledger" / "extra.py").write_text("def extra() -> int:\n    return 41 + 1\n")
    assert cut(repo).data_hash() != first.data_hash()


def test_caps_and_seed(repo: Path) -> None:
    few = cut(repo, max_train=5, max_heldout=2)
    assert len(few.train) == 5 and len(few.heldout) == 2
    # The seed fixes the choice and the order.
    assert [s.middle for s in cut(repo, max_train=5, max_heldout=2).train] == [
        s.middle for s in few.train
    ]


def test_windows_line_breaks_give_the_same_samples(repo: Path, tmp_path: Path) -> None:
    crlf = tmp_path / "crlf" / "ledger-repo"
    files = {k: v.replace("\n", "\r\n") if k.endswith(".py") else v for k, v in FILES.items()}
    write_repository(crlf, files)
    lf, windows = cut(repo), cut(crlf)
    assert [(s.path, s.middle) for s in lf.train] == [(s.path, s.middle) for s in windows.train]
    assert all("\r" not in s.prompt + s.middle for s in windows.train)
