"""Build the next-edit set from consecutive releases of pure-Python packages on PyPI.

For every (package, old version, new version) pair in ``manifest.json`` both wheels are
downloaded (``pip download --no-deps --only-binary :all:``, cached in
``~/.cache/loomline-bench/dl``), every ``.py`` file present in both is diffed, and each file
whose change is small makes at most one case (``hunks.select``). The cases go to
``data/dev.jsonl`` and ``data/heldout.jsonl`` (the held-out packages, never looked at while
tuning), and their sha256 is checked against the manifest's.

    .venv/bin/python -m tests.bench.next_edit.build_set              # rebuild, verify
    .venv/bin/python -m tests.bench.next_edit.build_set --discover   # choose new pairs
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import subprocess
import sys
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from tests.bench.next_edit.case import Case
from tests.bench.next_edit.hunks import Limits, select, window_lines
from tests.bench.quality.repo_set import CACHE

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
DATA = HERE / "data"
DOWNLOADS = CACHE / "dl"
# Pure-Python packages with wheels; HELD_OUT ones make the held-out split.
PACKAGES = (
    "attrs", "click", "rich", "httpx", "httpcore", "packaging", "pluggy", "idna", "tomli",
    "jinja2", "werkzeug", "flask", "pyparsing", "platformdirs", "filelock", "anyio", "h11",
    "pathspec", "more-itertools", "cachetools", "itsdangerous", "urllib3", "isort",
    "requests", "tomlkit", "structlog", "tenacity", "sqlparse", "markdown", "marshmallow",
)
HELD_OUT = ("requests", "tomlkit", "structlog", "tenacity", "sqlparse", "markdown",
            "marshmallow")
PAIRS_PER_PACKAGE = 4
MAX_EDIT_CASES_PER_PAIR = 6
MAX_FILE_CHARS = 200_000
SEED = 17


def _wheel_stem(package: str) -> str:
    return re.sub(r"[-_.]+", "_", package).lower()


def wheel(package: str, version: str) -> Path | None:
    """The pure-Python wheel of ``package==version`` (downloaded once); None if it has none."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)

    def cached() -> Path | None:
        for path in sorted(DOWNLOADS.glob("*.whl")):
            name, found_version, *_ = path.name.split("-")
            if name.lower() == _wheel_stem(package) and found_version == version:
                return path if path.name.endswith("-none-any.whl") else None
        return None

    if (path := cached()) is not None:
        return path
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "--disable-pip-version-check", "-q", f"{package}=={version}", "-d", str(DOWNLOADS)],
        capture_output=True, check=False,
    )
    return cached()


def python_files(path: Path) -> dict[str, str]:
    """The ``.py`` files of a wheel (not its metadata) that a case can use: UTF-8, "\\n"
    line breaks only, at most MAX_FILE_CHARS."""
    files: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".py") or ".dist-info/" in name:
                continue
            try:
                text = archive.read(name).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if "\r" not in text and len(text) <= MAX_FILE_CHARS:
                files[name] = text
    return files


def cases_of_pair(package: str, old: str, new: str, limits: Limits) -> list[Case]:
    """The cases one release pair makes: at most MAX_EDIT_CASES_PER_PAIR edit cases and half
    as many ``none`` cases (at least one), picked by a seeded shuffle of the files."""
    old_wheel, new_wheel = wheel(package, old), wheel(package, new)
    if old_wheel is None or new_wheel is None:
        raise RuntimeError(f"no pure-Python wheel for {package} {old} or {new}")
    before, after = python_files(old_wheel), python_files(new_wheel)
    found: list[Case] = []
    for path in sorted(before.keys() & after.keys()):
        if before[path] == after[path]:
            continue
        chosen = select(before[path], after[path], limits)
        if chosen is None:
            continue
        kind, hunks = chosen
        found.append(Case(
            id=f"{package}-{old}..{new}:{path}", package=package, old_version=old,
            new_version=new, path=path, split="heldout" if package in HELD_OUT else "dev",
            kind=kind, text=before[path], hunks=tuple(hunks), window=window_lines(hunks[0]),
        ))
    random.Random(f"{SEED}:{package}:{old}").shuffle(found)
    edits = [c for c in found if c.kind != "none"][:MAX_EDIT_CASES_PER_PAIR]
    nones = [c for c in found if c.kind == "none"][: max(1, len(edits) // 2)]
    return edits + nones


def _content_key(case: Case) -> str:
    return json.dumps([h.to_json() for h in case.hunks[:2]], sort_keys=True)


def build(pairs: list[tuple[str, str, str]], limits: Limits) -> dict[str, list[Case]]:
    """Cases of every pair, split into dev and held-out, duplicates (same first two hunks,
    e.g. vendored copies) dropped, each split in a seeded random order."""
    with ThreadPoolExecutor(4) as pool:  # pip downloads wait on the network, not the CPU
        results = list(tqdm(pool.map(lambda p: cases_of_pair(p[0], p[1], p[2], limits), pairs),
                            total=len(pairs), desc="release pairs", unit="pair"))
    seen: set[str] = set()
    splits: dict[str, list[Case]] = {"dev": [], "heldout": []}
    for cases in results:
        for case in cases:
            if (key := _content_key(case)) not in seen:
                seen.add(key)
                splits[case.split].append(case)
    for name, cases in splits.items():
        cases.sort(key=lambda c: c.id)
        random.Random(f"{SEED}:{name}").shuffle(cases)
    return splits


def discover(packages: tuple[str, ...], per_package: int) -> list[tuple[str, str, str]]:
    """The newest ``per_package`` pairs of consecutive releases with pure-Python wheels."""
    pairs: list[tuple[str, str, str]] = []
    for package in tqdm(packages, desc="choosing releases", unit="package"):
        listing = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", package,
             "--disable-pip-version-check"], capture_output=True, text=True, check=False,
        ).stdout
        match = re.search(r"Available versions: (.*)", listing)
        versions = match.group(1).split(", ") if match else []
        with_wheels: list[str] = []
        for version in versions:
            if len(with_wheels) > per_package:
                break
            if wheel(package, version) is not None:
                with_wheels.append(version)
        pairs += [(package, old, new) for new, old in itertools.pairwise(with_wheels)]
    return pairs


def digest(cases: list[Case]) -> str:
    return hashlib.sha256("".join(c.to_json() + "\n" for c in cases).encode()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--discover", action="store_true",
                        help="choose the newest release pairs again and rewrite the manifest")
    parser.add_argument("--update", action="store_true",
                        help="record the built set's checksums in the manifest")
    args = parser.parse_args()
    limits = Limits()
    if args.discover:
        pairs = discover(PACKAGES, PAIRS_PER_PACKAGE)
    else:
        manifest = json.loads(MANIFEST.read_text())
        pairs = [(p["package"], p["old"], p["new"]) for p in manifest["pairs"]]
    splits = build(pairs, limits)
    DATA.mkdir(exist_ok=True)
    checksums = {}
    for name, cases in splits.items():
        (DATA / f"{name}.jsonl").write_text("".join(c.to_json() + "\n" for c in cases))
        checksums[name] = digest(cases)
        kinds = Counter(c.kind for c in cases)
        print(f"{name}: {len(cases)} cases ({dict(sorted(kinds.items()))}) from "
              f"{len({c.package for c in cases})} packages -> {DATA / (name + '.jsonl')}")
    if args.discover or args.update:
        MANIFEST.write_text(json.dumps({
            "about": "release pairs of the next-edit set; build with build_set.py",
            "heldout_packages": sorted(HELD_OUT),
            "limits": vars(limits),
            "pairs": [{"package": p, "old": o, "new": n} for p, o, n in pairs],
            "sha256": checksums,
        }, indent=1) + "\n")
        print(f"manifest written: {MANIFEST}")
        return 0
    expected = json.loads(MANIFEST.read_text())["sha256"]
    if expected != checksums:
        print(f"the built set differs from the manifest's: {checksums} != {expected} "
              "(a re-uploaded wheel, or a change to the selection: --update records it)")
        return 1
    print("checksums match the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
