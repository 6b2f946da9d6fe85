"""Several engines (model x runtime) in one quality run, and their paired comparison.

``--model A,B --runtime torch,onnx`` gives four engines, loaded side by side and run on the
same cases, interleaved per case, so a run cut short by ``--deadline-s`` still compares like
with like. A model may be ``ID@FOLDER``: that model's preset, the weights or ONNX model in
FOLDER (another build of the same model). Two engines are compared on the cases both
answered: the cases where exactly one of them is right (the discordant pairs) and a two-sided
exact sign test on those.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

RUNTIMES = ("torch", "onnx")


@dataclass(frozen=True)
class EngineChoice:
    """One engine of the run; ``None`` keeps Loomline's default for that setting."""

    model: str | None = None
    runtime: str | None = None
    path: str | None = None  # model.path: a folder with this model's weights or ONNX model

    @classmethod
    def of(cls, model: str | None, runtime: str | None) -> EngineChoice:
        """From ``ID`` or ``ID@FOLDER`` and a runtime."""
        model_id, _, path = (model or "").partition("@")
        return cls(model_id or None, runtime, path or None)

    @property
    def label(self) -> str:
        """A short name for tables: ``0.5B torch``, ``1.5B onnx``, ``0.5B onnx int4-k``,
        ``default``."""
        parts = []
        if self.model:
            size = re.search(r"(\d+(?:\.\d+)?B)\b", self.model)
            parts.append(size.group(1) if size else self.model.rstrip("/").split("/")[-1])
        if self.runtime:
            parts.append(self.runtime)
        if self.path:
            parts.append(self.path.rstrip("/").split("/")[-1])
        return " ".join(parts) or "default"

    def apply(self, settings: Any) -> None:
        """Set ``model.id`` / ``.runtime`` / ``.path`` on a ``Settings`` where this choice
        names them."""
        if self.model:
            settings.model.id = self.model
        if self.runtime:
            settings.model.runtime = self.runtime
        if self.path:
            settings.model.path = self.path


def split_list(text: str | None) -> list[str | None]:
    """``"a, b"`` -> ``["a", "b"]``; nothing -> ``[None]`` (the default)."""
    items = [item.strip() for item in (text or "").split(",") if item.strip()]
    return list(dict.fromkeys(items)) or [None]


def engine_choices(models: str | None, runtimes: str | None) -> list[EngineChoice]:
    """Every model with every runtime, model by model. Raises ``ValueError`` naming an
    unknown runtime."""
    runtime_list = split_list(runtimes)
    unknown = [r for r in runtime_list if r is not None and r not in RUNTIMES]
    if unknown:
        raise ValueError(f"unknown runtime {', '.join(map(str, unknown))} (known: torch, onnx)")
    return [EngineChoice.of(m, r) for m in split_list(models) for r in runtime_list]


def arm_name(system: str, label: str, several_engines: bool) -> str:
    """The row name of ``system`` on an engine: the bare system name when there is one engine
    (so single-engine runs print as they always did)."""
    return f"{system} {label}" if several_engines else system


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven among
    ``wins + losses`` discordant pairs if either side were equally likely to win each; 1.0
    when there are none."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(0, min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_rows(
    outcomes: dict[str, Sequence[int]], ids: Sequence[str] | None = None
) -> list[list[Any]]:
    """For every two arms: paired cases, each one's hits, the cases only one got right
    (``a only`` / ``b only``), the sign test's p and the differing case ids (first five).

    ``outcomes`` maps an arm to its 0/1 results in case order; arms may have answered
    different numbers of cases (a deadline): only the common prefix is compared.
    """
    rows: list[list[Any]] = []
    for a, b in combinations(outcomes, 2):
        n = min(len(outcomes[a]), len(outcomes[b]))
        pairs = list(zip(outcomes[a][:n], outcomes[b][:n], strict=True))
        only_a = [i for i, (x, y) in enumerate(pairs) if x and not y]
        only_b = [i for i, (x, y) in enumerate(pairs) if y and not x]
        differing = [ids[i] for i in sorted(only_a + only_b)] if ids else []
        rows.append([
            f"{a} vs {b}", n, sum(x for x, _ in pairs), sum(y for _, y in pairs),
            len(only_a), len(only_b), f"{sign_test(len(only_a), len(only_b)):.3f}",
            " ".join(_short(i) for i in differing[:5]) + (" ..." if len(differing) > 5 else ""),
        ])  # fmt: skip
    return rows


PAIRED_HEADER = ["pair (a vs b)", "n", "a hits", "b hits", "a only", "b only", "sign p",
                 "differing"]  # fmt: skip


def _short(case_id: str) -> str:
    """``SingleLineInfilling/HumanEval/75/L6`` -> ``75/L6``."""
    return re.sub(r"^.*HumanEval/", "", case_id)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def labels(choices: Iterable[EngineChoice]) -> str:
    return ", ".join(c.label for c in choices)


# ---- comparing saved runs (--out FILE.jsonl of several runs) -----------------------------
# Each set's per-case outcome field in the --out records, and the field naming the arm.
OUTCOMES = {"he-single": ("hit", "system"), "he-multi": ("pass", "system"),
            "repo": ("em", "condition")}  # fmt: skip


def outcomes_by_set(
    runs: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, dict[str, int]]]:
    """``{run name: records}`` -> set -> arm -> case id -> 0/1. An arm's name gets its run's
    name added when two runs have an arm of that name."""
    seen: dict[tuple[str, str], int] = {}
    for records in runs.values():
        for key in {(r["set"], r[OUTCOMES[r["set"]][1]]) for r in records if r["set"] in OUTCOMES}:
            seen[key] = seen.get(key, 0) + 1
    found: dict[str, dict[str, dict[str, int]]] = {}
    for run, records in runs.items():
        for r in records:
            if r["set"] not in OUTCOMES:
                continue
            field, arm_field = OUTCOMES[r["set"]]
            arm = r[arm_field]
            if seen[(r["set"], arm)] > 1:
                arm = f"{arm} ({run})"
            case = r.get("task") or r.get("case") or ""
            found.setdefault(r["set"], {}).setdefault(arm, {})[case] = int(r[field])
    return found


def aligned(by_id: dict[str, dict[str, int]]) -> tuple[dict[str, list[int]], list[str]]:
    """The cases every arm answered, in the first arm's order, as lists for ``paired_rows``."""
    arms = list(by_id)
    ids = [i for i in by_id[arms[0]] if all(i in by_id[a] for a in arms[1:])] if arms else []
    return {a: [by_id[a][i] for i in ids] for a in arms}, ids
