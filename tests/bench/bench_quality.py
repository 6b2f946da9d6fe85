"""Completion quality: HumanEval infilling and a repository-level set, Loomline vs a raw FIM
harness on the same model. Prints tables; not part of the test pass.

    .venv/bin/python tests/bench/bench_quality.py humaneval [--single 150] [--multi 80] [--seed 0]
    .venv/bin/python tests/bench/bench_quality.py repo [--per-package 40] [--heldout-cases 40]
    .venv/bin/python tests/bench/bench_quality.py lsp [--tasks 8]
    .venv/bin/python tests/bench/bench_quality.py all
    .venv/bin/python tests/bench/bench_quality.py history [--history-cases 30] [--runtime onnx]

Common options: --limit N (cap every set at N cases, for quick runs), --seed, --out DIR (JSONL
of every case), --variant NAME (a monkeypatched pipeline change to measure; see VARIANTS).

HumanEval (../shared/data/humaneval-infilling): (a) Loomline = CompletionService +
EmbeddedEngine + WorkspaceContext + DocumentStore wired as server/app.py wires them; the
document is prompt + "\\n" + suffix with the cursor on the empty line (column 0), multi-line
decided by the pipeline, context and post-processing on. (b) raw = template.fim(prompt, suffix)
-> greedy, same max tokens (48 single / 128 multi) -> cut at the FIM stop tokens only (and,
single-line, at the first newline). Single-line: exact match of the first line, whitespace-
stripped. Multi-line: pass@1 (greedy) of prompt + completion + suffix + test + check(), in a
subprocess with a 10 s timeout, plus the share of completions that leave the file parseable.

Repository-level (see quality/repo_set.py): in-file (context disabled), retrieval (the
package directory as workspace root, index built) and oracle (the definitions of the names
on the answer line as the context pieces), all through the same pipeline.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import difflib
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = REPO.parent / "shared" / "data" / "humaneval-infilling"
BENCH_DIR = Path(tempfile.gettempdir()) / "loomline-bench-quality"

from quality import repo_set  # noqa: E402
from quality.paired import (  # noqa: E402
    PAIRED_HEADER,
    EngineChoice,
    aligned,
    arm_name,
    engine_choices,
    outcomes_by_set,
    paired_rows,
    peak_rss_mb,
)

from loomline.completion.cursor import Cursor  # noqa: E402
from loomline.completion.engines import create_engine  # noqa: E402
from loomline.completion.engines.base import GenerationRequest, GenerationStats, SamplingParams  # noqa: E402
from loomline.completion.engines.embedded import EmbeddedEngine  # noqa: E402
from loomline.completion.prompt import PromptPiece  # noqa: E402
from loomline.completion.service import Completion, CompletionService  # noqa: E402
from loomline.completion.settings import Settings  # noqa: E402
from loomline.completion.tokens import ModelTokens  # noqa: E402
from loomline.completion.workspace_context import WorkspaceContext  # noqa: E402
from loomline.context.documents import DocumentStore, path_to_uri  # noqa: E402
from loomline.context.workspace_folders import WorkspaceFolders  # noqa: E402


# ---- small helpers ----------------------------------------------------------------------
def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(h) for h in header]] + [
        [f"{c:.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=False))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def load_jsonl(name: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def sample(rows: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    rows = sorted(rows, key=lambda r: r["task_id"])
    return random.Random(seed).sample(rows, min(n, len(rows)))


def parses(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError):
        return False


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def edit_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# ---- the systems ------------------------------------------------------------------------
@dataclass
class Pipeline:
    """The server's wiring (server/app.py), minus JSON-RPC."""

    settings: Settings
    engine: EmbeddedEngine
    documents: DocumentStore = field(default_factory=DocumentStore)
    workspace: WorkspaceContext | None = None
    service: CompletionService | None = None

    @classmethod
    def create(cls, settings: Settings, engine: EmbeddedEngine, root: str | None) -> Pipeline:
        p = cls(settings, engine)
        folders = WorkspaceFolders.of(root) if root else WorkspaceFolders()
        p.workspace = WorkspaceContext(settings, p.documents, folders)
        p.service = CompletionService(
            settings, engine, documents=p.documents, folders=folders,
            counter=ModelTokens(engine.tokenizer), workspace=p.workspace,
        )
        return p

    async def complete(
        self, path: str, text: str, offset: int, pieces: list[PromptPiece] | None = None
    ) -> tuple[str, dict[str, Any]]:
        uri = path_to_uri(path)
        document = self.documents.open(uri, "python", 1, text)
        assert self.service is not None and self.workspace is not None
        original = self.workspace.collect
        if pieces is not None:  # the oracle: these pieces instead of the retrieved ones
            self.workspace.collect = lambda document, offset: list(pieces)  # type: ignore[method-assign]
        try:
            position = document.position_at(offset)
            prompt, info = self.service.prepare(document, position)
            result = await self.service.complete(document, position)
        finally:
            self.workspace.collect = original  # type: ignore[method-assign]
            self.documents.close(uri)
        meta = {
            "multiline": info.multiline,
            "prompt_tokens": prompt.tokens,
            "pieces": [(p.piece.source, p.tokens) for p in prompt.pieces],
            "dropped": [p.source for p in prompt.dropped],
        }
        if isinstance(result, Completion):
            meta["generated"] = result.stats.generated_tokens
            meta["ms"] = result.timings_ms.get("total_ms")
            return result.text, meta
        meta["skip"] = result.reason
        return "", meta


async def raw_fim(
    engine: EmbeddedEngine,
    template: Any,
    prefix: str,
    suffix: str,
    max_tokens: int,
    single_line: bool,
) -> str:
    """The minimal harness: FIM prompt, greedy, cut at the stops (and the first newline)."""
    request = GenerationRequest(
        template.fim(prefix, suffix),
        SamplingParams(max_tokens=max_tokens, temperature=0.0, stop=template.stop),
    )
    raw = ""
    stream = engine.stream(request, GenerationStats())
    try:
        async for chunk in stream:
            raw += chunk
            if single_line and "\n" in raw:
                break  # greedy: what follows cannot change the first line
            if any(s in raw for s in template.stop if s):
                break
    finally:
        await stream.aclose()
    cut = min((i for i in (raw.find(s) for s in template.stop if s) if i >= 0), default=-1)
    if cut >= 0:
        raw = raw[:cut]
    if single_line:
        raw = raw.split("\n", 1)[0]
    return raw


THREADS = 0
T0 = time.perf_counter()


SETTINGS_HOOKS: list[Callable[[Settings], None]] = []  # what --variant changes
CHOICES: dict[str, EngineChoice] = {"default": EngineChoice()}  # engine label -> model/runtime


def make_settings(context: bool = True, choice: EngineChoice | None = None) -> Settings:
    settings = Settings()
    settings.model.threads = THREADS
    (choice or next(iter(CHOICES.values()))).apply(settings)
    # Quality, not latency: a busy machine must not cut answers short (the serving and
    # typing benches measure time).
    settings.completion.deadline_ms = 120_000
    settings.completion.explicit_deadline_ms = 300_000
    for hook in SETTINGS_HOOKS:
        hook(settings)
    settings.context.enabled = context
    return settings


async def start_engine(settings: Settings) -> EmbeddedEngine:
    started = time.perf_counter()
    engine = create_engine(settings)
    assert isinstance(engine, EmbeddedEngine)
    await engine.wait_ready()
    print(f"[engine ready in {time.perf_counter() - started:.1f} s]", flush=True)
    return engine


# ---- variants: proposed pipeline changes, measured by monkeypatching --------------------
VARIANTS: dict[str, Callable[[], None]] = {}


def variant(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        VARIANTS[name] = fn
        return fn

    return wrap


@variant("baseline")
def _baseline() -> None:
    pass


@variant("ctx-keeps-window")
def _context_keeps_window() -> None:
    """Context pieces get budget on top of the in-file window instead of out of it:
    completion.promptTokens 1024 -> 1706 (= 1024 / (1 - context.budgetShare)) when context
    is on, so the prefix/suffix window is the in-file condition's."""

    def hook(settings: Settings) -> None:
        if settings.context.enabled:
            share = settings.context.budget_share
            settings.completion.prompt_tokens = int(settings.completion.prompt_tokens / (1 - share))

    SETTINGS_HOOKS.append(hook)


@variant("refine-parse")
def _refine_parse() -> None:
    """The syntax filters (cleanup.refine), then: if the refined text leaves the (Python) file
    unparseable, take the longest line-prefix of the de-duplicated, suffix-trimmed candidate
    that makes the whole file parse (e.g. keep the `except:` clause after a `try:` body)."""
    from loomline.completion import cleanup
    from loomline.completion.cleanup.repeats import drop_repeated_lines
    from loomline.completion.cleanup.suffix_overlap import trim_suffix_overlap

    original = cleanup.refine

    def refine(candidate: str, cursor: Cursor) -> str:
        refined = original(candidate, cursor)
        prefix, suffix = cursor.before, cursor.after
        if cursor.language_id != "python" or not cursor.multiline or not refined:
            return refined
        if parses(prefix + refined + "\n" + suffix.lstrip("\n")):
            return refined
        lines = trim_suffix_overlap(drop_repeated_lines(candidate), cursor).split("\n")
        # Never leave the enclosing function: stop at the first line not deeper than its `def`.
        defs = [m.group(1) for m in re.finditer(r"(?m)^([ \t]*)(?:async[ \t]+)?def ", prefix)]
        if defs:
            floor = len(defs[-1])
            for n, line in enumerate(lines[1:], 1):
                if line.strip() and len(line) - len(line.lstrip()) <= floor:
                    lines = lines[:n]
                    break
        for k in range(len(lines), len(refined.split("\n")), -1):
            text = "\n".join(lines[:k]).rstrip()
            if parses(prefix + text + "\n" + suffix.lstrip("\n")):
                return text
        return refined

    cleanup.refine = refine


@variant("ctx-share-0.2")
def _context_share() -> None:
    """context.budgetShare 0.4 -> 0.2: a smaller slice of the same 1,024 tokens for context."""
    SETTINGS_HOOKS.append(lambda settings: setattr(settings.context, "budget_share", 0.2))


@variant("files-layout")
def _files_layout() -> None:
    """context.layout = files: repository-level file blocks before the current file, whatever
    the model preset says (the default 0.5B's preset says comments)."""
    SETTINGS_HOOKS.append(lambda settings: setattr(settings.context, "layout", "files"))


# ---- HumanEval ----------------------------------------------------------------------------
def run_tests(program: str, timeout: float = 10.0) -> bool:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(program)
    try:
        proc = subprocess.run([sys.executable, handle.name], capture_output=True, timeout=timeout)
        return proc.returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        os.unlink(handle.name)


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


@dataclass
class Arm:
    """One row of the tables: a system (``loomline`` or ``raw``) on one engine."""

    name: str
    system: str
    label: str
    pipe: Pipeline

    @property
    def engine(self) -> EmbeddedEngine:
        return self.pipe.engine


def make_arms(
    systems: list[str], engines: dict[str, EmbeddedEngine], context: bool, root: str | None
) -> list[Arm]:
    """Every system on every engine, engine by engine; one pipeline per engine."""
    arms = []
    for label, engine in engines.items():
        pipe = Pipeline.create(make_settings(context, CHOICES[label]), engine, root)
        for system in systems:
            arms.append(Arm(arm_name(system, label, len(engines) > 1), system, label, pipe))
    return arms


async def humaneval(
    args: argparse.Namespace, engines: dict[str, EmbeddedEngine], out: list[dict[str, Any]]
) -> dict[str, Any]:
    arms = make_arms(args.systems.split(","), engines, True, None)
    c = make_settings(context=True).completion
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    n_single = min(args.single, args.limit or args.single)
    n_multi = min(args.multi, args.limit or args.multi)
    singles = sample(load_jsonl("HumanEval-SingleLineInfilling.jsonl.gz"), n_single, args.seed)
    multis = sample(load_jsonl("HumanEval-MultiLineInfilling.jsonl.gz"), n_multi, args.seed)
    systems = [arm.name for arm in arms]
    summary: dict[str, Any] = {}

    def doc_path(task_id: str) -> str:
        return str(BENCH_DIR / (task_id.replace("/", "_") + ".py"))

    async def answer(
        arm: Arm, row: dict[str, Any], max_tokens: int, single_line: bool
    ) -> tuple[str, dict[str, Any]]:
        if arm.system == "loomline":
            text = row["prompt"] + "\n" + row["suffix"]
            return await arm.pipe.complete(doc_path(row["task_id"]), text, len(row["prompt"]))
        assert arm.pipe.service is not None
        template = arm.pipe.service.template
        raw = await raw_fim(
            arm.engine, template, row["prompt"], row["suffix"], max_tokens, single_line
        )
        return raw, {}

    # single-line (systems interleaved per task, so a run cut by --deadline-s stays paired)
    timing: dict[str, float] = {s: 0.0 for s in systems}
    em: dict[str, list[int]] = {s: [] for s in systems}
    done_single = 0
    for row in singles:
        if args.deadline_s and time.perf_counter() - T0 > args.deadline_s * 0.45:
            print(f"[deadline: single-line stopped after {done_single} tasks]", flush=True)
            break
        for arm in arms:
            system = arm.name
            t0 = time.perf_counter()
            text, meta = await answer(arm, row, c.single_line_max_tokens, True)
            timing[system] += time.perf_counter() - t0
            hit = int(first_line(text).strip() == row["canonical_solution"].strip())
            em[system].append(hit)
            out.append(
                {
                    "set": "he-single",
                    "system": system,
                    "task": row["task_id"],
                    "expected": row["canonical_solution"],
                    "got": text,
                    "hit": hit,
                    **meta,
                }
            )
            if args.verbose:
                print(f"  {system} {row['task_id']} {hit} {text!r}", flush=True)
        done_single += 1
    singles = singles[:done_single]
    print(
        f"[single-line: {done_single} tasks; "
        + ", ".join(f"{s} {timing[s]:.0f} s" for s in systems)
        + "]",
        flush=True,
    )
    table(
        f"HumanEval single-line infilling, exact match of the first line "
        f"(n={len(singles)}, seed {args.seed}, {', '.join(engines)}, greedy)",
        ["system", "EM %", "hits", "n", "s total", "s/task"],
        [
            [
                s,
                100 * mean(em[s]),
                sum(em[s]),
                len(em[s]),
                timing[s],
                timing[s] / max(len(singles), 1),
            ]
            for s in systems
        ],
    )
    summary["single"] = {s: 100 * mean(em[s]) for s in systems}
    if len(systems) > 1:
        table(
            "HumanEval single-line, paired (same tasks): exact match",
            PAIRED_HEADER,
            paired_rows(em, [row["task_id"] for row in singles]),
        )

    # multi-line
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    for system in systems:
        timing[f"multi-{system}"] = 0.0
    for row in multis:
        if args.deadline_s and time.perf_counter() - T0 > args.deadline_s:
            print(f"[deadline: multi-line stopped after {len(results[systems[0]])} tasks]")
            break
        for arm in arms:
            system = arm.name
            t0 = time.perf_counter()
            text, meta = await answer(arm, row, c.max_tokens, False)
            timing[f"multi-{system}"] += time.perf_counter() - t0
            body = text if text.endswith("\n") or not text else text + "\n"
            code = row["prompt"] + body + row["suffix"]
            results[system].append({"row": row, "text": text, "code": code, "meta": meta})
            if args.verbose:
                print(f"  {system} {row['task_id']} {text!r}", flush=True)
    multis = multis[: len(results[systems[0]])]
    for system in systems:
        started = time.perf_counter()
        programs = [
            r["code"] + "\n\n" + r["row"]["test"] + "\n\ncheck(" + r["row"]["entry_point"] + ")\n"
            for r in results[system]
        ]
        with ThreadPoolExecutor(2) as pool:
            passed = list(pool.map(run_tests, programs))
        test_s = time.perf_counter() - started
        for r, ok in zip(results[system], passed, strict=True):
            r["pass"] = int(ok)
            before = parses(r["row"]["prompt"] + "\n" + r["row"]["suffix"])
            r["parsed_before"] = before
            r["parses_after"] = parses(r["code"])
            out.append(
                {
                    "set": "he-multi",
                    "system": system,
                    "task": r["row"]["task_id"],
                    "expected": r["row"]["canonical_solution"],
                    "got": r["text"],
                    "pass": r["pass"],
                    "parsed_before": before,
                    "parses_after": r["parses_after"],
                    **r["meta"],
                }
            )
        print(
            f"[multi-line {system}: {len(results[system])} tasks, generation "
            f"{timing[f'multi-{system}']:.0f} s, tests {test_s:.0f} s]",
            flush=True,
        )
    rows = []
    for s in systems:
        rs = results[s]
        pb = [r for r in rs if r["parsed_before"]]
        rows.append(
            [
                s,
                100 * mean([r["pass"] for r in rs]),
                sum(r["pass"] for r in rs),
                len(rs),
                f"{sum(r['parses_after'] for r in pb)}/{len(pb)}",
                100 * mean([r["parses_after"] for r in pb]) if pb else float("nan"),
                100 * mean([r["parses_after"] for r in rs]),
                timing[f"multi-{s}"],
                timing[f"multi-{s}"] / max(len(rs), 1),
            ]
        )
    table(
        f"HumanEval multi-line infilling, pass@1 greedy (n={len(multis)}, seed {args.seed})",
        [
            "system",
            "pass@1 %",
            "passed",
            "n",
            "parseable (parsed before)",
            "% of those",
            "parseable % all",
            "gen s",
            "s/task",
        ],
        rows,
    )
    summary["multi"] = {s: 100 * mean([r["pass"] for r in results[s]]) for s in systems}
    if len(systems) > 1:
        passes = {s: [r["pass"] for r in results[s]] for s in systems}
        table(
            "HumanEval multi-line, paired (same tasks): pass@1",
            PAIRED_HEADER,
            paired_rows(passes, [row["task_id"] for row in multis]),
        )
    for arm in arms:
        if arm.system != "loomline":
            continue
        ml = [r["meta"].get("multiline") for r in results[arm.name]]
        sl = [
            o.get("multiline") for o in out if o["set"] == "he-single" and o["system"] == arm.name
        ]
        print(
            f"  {arm.name}: pipeline chose multi-line: {sum(bool(x) for x in ml)}/{len(ml)} of "
            f"the multi-line tasks, {sum(bool(x) for x in sl)}/{len(sl)} of the single-line tasks"
        )
    return summary


# ---- repository-level -------------------------------------------------------------------
def oracle_pieces(case: repo_set.Case, limit_chars: int = 1600) -> list[PromptPiece]:
    pieces = []
    seen = set()
    for path, text in case.oracle:
        if text in seen:
            continue
        seen.add(text)
        if len(text) > limit_chars:  # a long class: its head, which fits the context budget
            text = text[:limit_chars].rsplit("\n", 1)[0] + "\n    ..."
        pieces.append(
            PromptPiece(
                source=os.path.relpath(path, case.root),
                text=text,
                reason="oracle: the definition",
                kind="definition",
            )
        )
    return pieces


def score(answer: str, got: str) -> dict[str, float]:
    line = first_line(got).strip()
    answer = answer.strip()
    want = IDENT.findall(answer)
    have = IDENT.findall(line)
    return {
        "em": float(line == answer),
        "es": edit_similarity(line, answer),
        "id_em": float(want == have),
        "id_recall": (sum(1 for w in want if w in have) / len(want)) if want else 1.0,
    }


async def repo(
    args: argparse.Namespace, engines: dict[str, EmbeddedEngine], out: list[dict[str, Any]]
) -> dict[str, Any]:
    tuned = [p for p in args.packages.split(",") if p]
    held = [p for p in args.heldout.split(",") if p]
    tok = next(iter(engines.values())).tokenizer  # the cases' token counts: the first engine's
    started = time.perf_counter()
    per = min(args.per_package, args.limit or args.per_package)
    per_held = min(args.heldout_cases, args.limit or args.heldout_cases)
    cases = repo_set.build(tuned, per, args.seed, tok)
    cases += repo_set.build(held, per_held, args.seed, tok)
    # More cases that need the other file (CrossCodeEval's criterion), scored only in the
    # "cross-file" groups so that the main groups stay comparable between runs.
    extra: set[str] = set()
    if args.cross_file_cases:
        known = {c.key for c in cases}
        for case in repo_set.build(tuned + held, args.cross_file_cases, args.seed + 1, tok,
                                   cross_file=True):
            if case.key not in known:
                extra.add(case.key)
                cases.append(case)
    # Round-robin over packages, so a run cut short by --deadline-s still covers each one.
    by_package: dict[str, list[repo_set.Case]] = {}
    for case in cases:
        by_package.setdefault(case.package, []).append(case)
    cases = [c for group in zip_longest(*by_package.values()) for c in group if c is not None]
    repo_set.save(cases, repo_set.CACHE / f"repo-set-seed{args.seed}.json")
    print(
        f"[repo set: {len(cases)} cases built in {time.perf_counter() - started:.1f} s]", flush=True
    )
    # Every condition on every engine; ``kind`` maps a row name to (condition, engine label).
    kind = {
        arm_name(cond, label, len(engines) > 1): (cond, label)
        for label in engines
        for cond in args.conditions.split(",")
    }
    conditions = list(kind)
    scores: dict[tuple[str, str], list[dict[str, float]]] = {}
    timing: dict[str, float] = {}
    pipes: dict[tuple[str, str], Pipeline] = {}
    for root in sorted({c.root for c in cases}):
        for name, (cond, label) in kind.items():
            settings = make_settings(cond != "infile", CHOICES[label])
            pipe = Pipeline.create(settings, engines[label], root)
            if cond == "retrieval":
                t0 = time.perf_counter()
                assert pipe.workspace is not None
                pipe.workspace.build_index()
                timing[f"index {os.path.basename(root)}"] = time.perf_counter() - t0
            pipes[(root, name)] = pipe
    for cond in conditions:
        timing[cond] = 0.0
    paired_em: dict[str, list[int]] = {}  # the main set's cases (tuned + held-out), in order
    paired_ids = [c.key for c in cases if c.key not in extra]
    done = 0
    for case in cases:
        if args.deadline_s and time.perf_counter() - T0 > args.deadline_s:
            print(f"[deadline: repo stopped after {done} cases]", flush=True)
            break
        text = Path(case.path).read_text("utf-8")
        lines = text.split("\n")
        start = sum(len(x) + 1 for x in lines[: case.line])
        offset = start + case.column
        end = start + len(lines[case.line])
        doc = text[:offset] + text[end:]  # the rest of the line removed: the answer
        for cond in conditions:
            t0 = time.perf_counter()
            pieces = oracle_pieces(case) if kind[cond][0] == "oracle" else None
            got, meta = await pipes[(case.root, cond)].complete(case.path, doc, offset, pieces)
            timing[cond] += time.perf_counter() - t0
            s = score(case.answer, got)
            group = "held-out" if case.package in held else "tuned"
            if case.key not in extra:
                paired_em.setdefault(cond, []).append(int(s["em"]))
                scores.setdefault((group, cond), []).append(s)
                scores.setdefault((case.package, cond), []).append(s)
            if case.cross_file:
                scores.setdefault((f"{group} cross-file", cond), []).append(s)
            out.append(
                {
                    "set": "repo",
                    "condition": cond,
                    "case": case.key,
                    "package": case.package,
                    "answer": case.answer,
                    "got": got,
                    "names": case.names,
                    "cross_file": case.cross_file,
                    **s,
                    **meta,
                }
            )
            if args.verbose:
                print(
                    f"  {cond} {case.key} {s['em']:.0f} {case.answer!r} <- {got!r} "
                    f"{meta.get('pieces')}",
                    flush=True,
                )
        done += 1
    print(
        f"[repo: {done} cases; " + ", ".join(f"{c} {timing[c]:.0f} s" for c in conditions) + "]",
        flush=True,
    )
    rows = []
    groups = ["tuned", *tuned, "tuned cross-file", "held-out", *held, "held-out cross-file"]
    for g in groups:
        for cond in conditions:
            ss = scores.get((g, cond), [])
            if not ss:
                continue
            rows.append(
                [
                    g,
                    cond,
                    len(ss),
                    100 * mean([s["em"] for s in ss]),
                    100 * mean([s["es"] for s in ss]),
                    100 * mean([s["id_em"] for s in ss]),
                    100 * mean([s["id_recall"] for s in ss]),
                ]
            )
    table(
        "Repository-level completion (rest of the line after an imported name; first line "
        "of the completion)",
        ["group", "condition", "n", "EM %", "ES %", "ID-EM %", "ID recall %"],
        rows,
    )
    if len(engines) > 1:
        table(
            "Repository-level, paired (same cases, tuned + held-out): exact match",
            PAIRED_HEADER,
            paired_rows(paired_em, paired_ids),
        )
    summary = {}
    for g in ("tuned", "held-out", "tuned cross-file", "held-out cross-file"):
        if not scores.get((g, conditions[0])):
            continue
        em = {c: 100 * mean([s["em"] for s in scores.get((g, c), [])]) for c in conditions}
        summary[g] = em
        if {"infile", "retrieval", "oracle"} <= set(conditions):
            ratio = em["retrieval"] / em["infile"] if em["infile"] else float("inf")
            share = em["retrieval"] / em["oracle"] if em["oracle"] else float("nan")
            print(
                f"  {g}: retrieval/in-file EM = {ratio:.2f}x (target >= 1.8), "
                f"retrieval/oracle = {100 * share:.0f}% (target >= 70%)"
            )
    ms = [o["ms"] for o in out if o.get("set") == "repo" and o.get("ms")]
    pt = {
        c: [o["prompt_tokens"] for o in out if o.get("set") == "repo" and o["condition"] == c]
        for c in conditions
    }
    table(
        "Repository-level timing",
        ["part", "value"],
        [[k, f"{v:.1f} s"] for k, v in timing.items()]
        + [[f"prompt tokens median ({c})", median(v)] for c, v in pt.items()]
        + [["completion ms median (all)", median(ms)]],
    )
    return summary


# ---- the same through a real server ----------------------------------------------------
async def lsp_sanity(args: argparse.Namespace, engine: EmbeddedEngine | None) -> None:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    from loomline.server.methods import SHOW_CONTEXT_COMMAND, STATUS_NOTIFICATION

    rows = sample(load_jsonl("HumanEval-SingleLineInfilling.jsonl.gz"), args.tasks, args.seed + 1)
    rows += sample(
        load_jsonl("HumanEval-MultiLineInfilling.jsonl.gz"), args.tasks // 2, args.seed + 1
    )
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    client = LanguageClient("bench-quality", "1")
    statuses: list[Any] = []
    client.feature(STATUS_NOTIFICATION)(lambda params: statuses.append(params))
    log = BENCH_DIR / "server.log"
    python = REPO / ".venv" / "bin" / "python"
    started = time.perf_counter()
    await client.start_io("sh", "-c", f"exec {python} -m loomline.server.cli lsp 2>{log}")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    while not any(getattr(s, "state", None) == "ready" for s in statuses):
        await asyncio.sleep(0.1)
    print(f"[server ready in {time.perf_counter() - started:.1f} s]", flush=True)
    server_out: list[tuple[str, str]] = []
    for row in rows:
        path = BENCH_DIR / (row["task_id"].replace("/", "_") + ".py")
        uri = path_to_uri(str(path))
        text = row["prompt"] + "\n" + row["suffix"]
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        line = row["prompt"].count("\n")
        shown = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=SHOW_CONTEXT_COMMAND,
                arguments=[
                    {"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}}
                ],
            )
        )
        result = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=0),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            )
        )
        items = result.items if result else []
        server_out.append((shown["prompt"] if shown else "", items[0].insert_text if items else ""))
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    lsp_s = time.perf_counter() - started
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    if engine is None:
        engine = await start_engine(make_settings())
    pipe = Pipeline.create(make_settings(), engine, None)
    same_prompt = same_text = 0
    for row, (prompt, text) in zip(rows, server_out, strict=False):
        path = str(BENCH_DIR / (row["task_id"].replace("/", "_") + ".py"))
        doc = row["prompt"] + "\n" + row["suffix"]
        assert pipe.service is not None
        document = pipe.documents.open(path_to_uri(path), "python", 1, doc)
        local_prompt, _ = pipe.service.prepare(document, document.position_at(len(row["prompt"])))
        pipe.documents.close(path_to_uri(path))
        local, _ = await pipe.complete(path, doc, len(row["prompt"]))
        same_prompt += local_prompt.text == prompt
        same_text += local == (text if isinstance(text, str) else text.value)
        if local != text and args.verbose:
            print(f"  differs {row['task_id']}: lsp {text!r} in-process {local!r}")
    table(
        "LSP sanity: the same tasks through `loomline lsp` (stdio) and in-process",
        ["check", "equal", "n"],
        [
            ["prompt (loomline.showContext vs prepare)", same_prompt, len(rows)],
            ["completion text", same_text, len(rows)],
            ["server run incl. start, s", f"{lsp_s:.0f}", ""],
        ],
    )


def compare_runs(paths: list[Path]) -> None:
    """Paired tables over several runs' --out files (greedy decoding is deterministic, so
    a new build can be paired with an earlier run's engines on the same cases)."""
    runs = {p.stem: [json.loads(line) for line in p.read_text().splitlines()] for p in paths}
    for name, by_arm in outcomes_by_set(runs).items():
        outcomes, ids = aligned(by_arm)
        table(
            f"{name}: per arm on the {len(ids)} cases every arm answered",
            ["arm", "hits", "n", "%"],
            [[a, sum(v), len(v), 100 * mean(v)] for a, v in outcomes.items()],
        )
        table(f"{name}, paired", PAIRED_HEADER, paired_rows(outcomes, ids))


# ---- main ----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what", choices=["humaneval", "repo", "lsp", "all", "history", "compare"]
    )
    parser.add_argument(
        "--runs", nargs="+", type=Path, default=[],
        help="compare: --out files of earlier runs; prints each set's arms paired by case",
    )
    parser.add_argument("--history-cases", type=int, default=30,
                        help="history: cases of quality/edit_history_set.py")
    parser.add_argument("--single", type=int, default=150)
    parser.add_argument("--multi", type=int, default=80)
    parser.add_argument("--systems", default="loomline,raw")
    parser.add_argument("--packages", default="rich,httpx,click")
    parser.add_argument("--heldout", default="requests")
    parser.add_argument("--per-package", type=int, default=40)
    parser.add_argument("--heldout-cases", type=int, default=40)
    parser.add_argument("--cross-file-cases", type=int, default=20,
                        help="per package: extra cases that need the other file (CrossCodeEval)")
    parser.add_argument("--conditions", default="infile,retrieval,oracle")
    parser.add_argument(
        "--tasks", type=int, default=6, help="lsp: single-line tasks (+ half as many multi)"
    )
    parser.add_argument("--limit", type=int, default=0, help="cap every set at N cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", default="baseline", choices=sorted(VARIANTS))
    parser.add_argument("--out", type=Path, default=None, help="write every case as JSONL here")
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=0,
        help="stop starting new cases after this many seconds (paired results)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--model",
        help="model id, e.g. Qwen/Qwen2.5-Coder-1.5B-Instruct (`loomline model pull` it first), "
        "or several, comma-separated: each runs on the same cases, interleaved, compared "
        "pairwise; ID@FOLDER: that model's preset with the weights or ONNX model in FOLDER; "
        "default: Loomline's default model",
    )
    parser.add_argument(
        "--runtime",
        help="what runs the embedded model (model.runtime): torch, onnx or both (torch,onnx; "
        "every model with every runtime); default: Loomline's default",
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()

    global THREADS, T0
    THREADS = args.threads
    if args.what == "compare":
        compare_runs(args.runs)
        return
    try:
        choices = engine_choices(args.model, args.runtime)
    except ValueError as error:
        parser.error(str(error))
    if len(choices) > 1 and args.what in ("lsp", "history"):
        parser.error(f"{args.what} runs one engine: give one --model and one --runtime")
    CHOICES.clear()
    CHOICES.update({choice.label: choice for choice in choices})

    async def run() -> None:
        global T0
        VARIANTS[args.variant]()
        print(f"variant: {args.variant}; seed {args.seed}; limit {args.limit or 'none'}")
        total = time.perf_counter()
        out: list[dict[str, Any]] = []
        engine = None
        engines: dict[str, EmbeddedEngine] = {}
        if args.what in ("humaneval", "repo", "all"):
            for label, choice in CHOICES.items():  # loaded side by side: cases interleave
                print(f"[{label}]", end=" ", flush=True)
                engines[label] = await start_engine(make_settings(choice=choice))
            engine = next(iter(engines.values()))
        if args.what == "history":
            from loomline.completion.engines.base import EngineState, wait_settled
            from tests.bench.quality.edit_history_set import edit_history_bench

            settings = make_settings(context=False)  # --runtime reaches it as a settings hook
            engine = create_engine(settings)
            await engine.start()
            if await wait_settled(engine, 900) is not EngineState.READY:
                sys.exit(f"the engine is not ready: {engine.status_message}")
            await edit_history_bench(engine, settings, args.history_cases)
        if args.what in ("humaneval", "all"):
            t = T0 = time.perf_counter()
            await humaneval(args, engines, out)
            print(f"[humaneval part: {time.perf_counter() - t:.0f} s]")
        if args.what in ("repo", "all"):
            t = T0 = time.perf_counter()
            await repo(args, engines, out)
            print(f"[repo part: {time.perf_counter() - t:.0f} s]")
        if args.what in ("lsp", "all"):
            t = time.perf_counter()
            await lsp_sanity(args, engine)
            print(f"[lsp part: {time.perf_counter() - t:.0f} s]")
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("w") as handle:
                for record in out:
                    handle.write(json.dumps(record, default=str) + "\n")
        print(f"\n[total {time.perf_counter() - total:.0f} s; peak RSS {peak_rss_mb():,.0f} MB]")
        for running in {id(e): e for e in [*engines.values(), engine] if e is not None}.values():
            await running.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
