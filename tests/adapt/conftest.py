"""Adapters trained with the real model for the ``model`` tests: once per session, a few
steps each on the fixture repositories (see fixture_repo.py)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.adapt.fixture_repo import SHOP_FILES, write_repository

# Small enough for seconds a step on two CPU cores, enough to move the held-out loss.
QUICK = ["--steps", "8", "--rank", "4", "--batch-size", "1", "--max-seq-len", "160",
         "--lr", "3e-3", "--max-samples", "64", "--checkpoint-every", "4"]


@dataclass(frozen=True)
class Trained:
    cache: Path  # model.cacheDir: the adapters are in cache/adapters/<name>
    ledger_repo: Path
    shop_repo: Path
    exit_status: int
    manifest: dict[str, object]


def adapt(folder: Path, cache: Path, model_dir: Path, name: str, *extra: str) -> int:
    from loomline.completion.adapt import command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    settings = {"model": {"path": str(model_dir), "cacheDir": str(cache)}}
    args = parser.parse_args([str(folder), "--name", name, "--settings", json.dumps(settings),
                              *QUICK, *extra])
    return command.run(args)


@pytest.fixture(scope="session")
def trained(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("adapt")
    cache = root / "cache"
    ledger = write_repository(root / "ledger-repo")
    shop = write_repository(root / "shop-repo", SHOP_FILES)
    status = adapt(ledger, cache, model_dir, "ledger", "--heldout-samples", "4")
    # The second adapter is only served: no held-out measurement.
    assert adapt(shop, cache, model_dir, "shop", "--heldout-samples", "0") == 0
    manifest = json.loads((cache / "adapters" / "ledger" / "manifest.json").read_text())
    return Trained(cache, ledger, shop, status, manifest)
