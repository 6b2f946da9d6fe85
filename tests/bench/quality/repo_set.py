"""A repository-level completion set built from real third-party packages (CrossCodeEval style).

Sources: the wheels of pinned PyPI releases (pure-Python, so the wheel *is* the source),
fetched with ``pip download --no-deps --only-binary :all:`` into ~/.cache/loomline-bench/dl
and unpacked into ~/.cache/loomline-bench/src/<name>-<version>/.

A case: a line of a non-import statement that uses (as a plain name, load context) a name
imported from another module of the same package whose top-level definition (def / class /
assignment) is found in that module's file. The cursor goes before the first such name on the
line; the rest of the line (right-stripped) is the answer. Kept: >= 10 lines of prefix, answers
of 3-30 model tokens, no duplicate answers (over the whole set), a fixed seed.
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"[rbuf]*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
CACHE = Path(os.environ.get("LOOMLINE_BENCH_CACHE", Path.home() / ".cache" / "loomline-bench"))
PINNED = {
    "rich": "13.9.4",
    "httpx": "0.28.1",
    "click": "8.1.8",
    "requests": "2.32.3",
}
HELD_OUT = ("requests",)


@dataclass
class Case:
    package: str
    path: str  # absolute path of the file the cursor is in
    root: str  # the package directory (workspace root)
    line: int  # zero-based
    column: int  # code points
    answer: str
    names: list[str]  # imported names used on the line, in order
    def_file: str  # file of the first name's definition
    oracle: list[tuple[str, str]]  # (path, definition text) for each name on the line
    # CrossCodeEval's criterion: the answer uses an identifier (outside string literals) that
    # the rest of the file never mentions but the imported definitions do.
    cross_file: bool = False

    @property
    def key(self) -> str:
        return f"{self.package}:{os.path.relpath(self.path, self.root)}:{self.line + 1}"


def fetch(package: str, version: str) -> Path:
    """The unpacked package directory (downloads the wheel on first use)."""
    dl = CACHE / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    wheels = sorted(dl.glob(f"{package}-{version}-*.whl"))
    if not wheels:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                f"{package}=={version}",
                "-d",
                str(dl),
            ],
            check=True,
            capture_output=True,
        )
        wheels = sorted(dl.glob(f"{package}-{version}-*.whl"))
    target = CACHE / "src" / f"{package}-{version}"
    if not (target / package).is_dir():
        with zipfile.ZipFile(wheels[0]) as archive:
            archive.extractall(target)
    return target / package


def _module_file(
    root: Path,
    package: str,
    current: Path,
    module: str | None,
    level: int,
) -> Path | None:
    if level:
        base = current.parent
        for _ in range(level - 1):
            base = base.parent
        parts = module.split(".") if module else []
    else:
        if not module or not (module == package or module.startswith(package + ".")):
            return None
        base = root
        parts = module.split(".")[1:]
    target = base.joinpath(*parts) if parts else base
    if target.with_suffix(".py").is_file() and parts:
        return target.with_suffix(".py")
    if (target / "__init__.py").is_file():
        return target / "__init__.py"
    return None


def _top_level_definitions(path: Path) -> dict[str, str]:
    text = path.read_text("utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    lines = text.split("\n")
    found: dict[str, str] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            start = node.lineno
        else:
            continue
        body = "\n".join(lines[start - 1 : node.end_lineno])
        for name in names:
            found.setdefault(name, body)
    return found


def cases_for(package: str, version: str, tokenizer) -> list[Case]:
    root = fetch(package, version)
    defs_cache: dict[Path, dict[str, str]] = {}
    out: list[Case] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text("utf-8")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.split("\n")
        imported: dict[str, tuple[Path, str]] = {}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _module_file(root, package, path, node.module, node.level)
            if source is None or source == path:
                continue
            if source not in defs_cache:
                defs_cache[source] = _top_level_definitions(source)
            for alias in node.names:
                definition = defs_cache[source].get(alias.name)
                if definition is not None:
                    imported[alias.asname or alias.name] = (source, definition)
        for node in ast.walk(tree):  # a local rebinding shadows the import
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                imported.pop(node.id, None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                imported.pop(node.name, None)
            elif isinstance(node, ast.arg):
                imported.pop(node.arg, None)
        if not imported:
            continue
        uses: dict[int, list[ast.Name]] = {}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name)
                and node.id in imported
                and isinstance(node.ctx, ast.Load)
                and node.lineno == node.end_lineno
            ):
                uses.setdefault(node.lineno, []).append(node)
        for lineno, nodes in sorted(uses.items()):
            if lineno - 1 < 10:
                continue
            nodes.sort(key=lambda n: n.col_offset)
            line = lines[lineno - 1]
            # ast columns are UTF-8 byte offsets
            column = len(line.encode("utf-8")[: nodes[0].col_offset].decode("utf-8", "replace"))
            answer = line[column:].rstrip()
            if line[:column].lstrip().startswith(("#", "import ", "from ")):
                continue
            count = len(tokenizer.encode(answer, add_special_tokens=False))
            if not 3 <= count <= 30:
                continue
            doc = "\n".join([*lines[: lineno - 1], line[:column], *lines[lineno:]])
            novel = set(_IDENT.findall(_STRING.sub("", answer))) - set(_IDENT.findall(doc))
            names = []
            for n in nodes:
                if n.id not in names:
                    names.append(n.id)
            out.append(
                Case(
                    package=package,
                    path=str(path),
                    root=str(root),
                    line=lineno - 1,
                    column=column,
                    answer=answer,
                    names=names,
                    def_file=str(imported[names[0]][0]),
                    oracle=[(str(imported[n][0]), imported[n][1]) for n in names],
                    cross_file=any(
                        name in _IDENT.findall(imported[n][1]) for name in novel for n in names
                    ),
                )
            )
    return out


def build(
    packages: list[str], per_package: int, seed: int, tokenizer, *, cross_file: bool = False
) -> list[Case]:
    """``per_package`` cases from each package, answers unique over the whole set.

    ``cross_file``: only cases that need the other file (see ``Case.cross_file``).
    """
    chosen: list[Case] = []
    seen: set[str] = set()
    for package in packages:
        candidates = [
            c for c in cases_for(package, PINNED[package], tokenizer)
            if c.cross_file or not cross_file
        ]
        rng = random.Random(f"{seed}:{package}")
        rng.shuffle(candidates)
        taken = 0
        for case in candidates:
            if case.answer.strip() in seen:
                continue
            seen.add(case.answer.strip())
            chosen.append(case)
            taken += 1
            if taken >= per_package:
                break
    return chosen


def save(cases: list[Case], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(c) for c in cases], indent=1))
