"""Next-edit bench: predict the user's next change after replaying a real edit over LSP.

Cases come from consecutive releases of pure-Python packages (``next_edit/build_set.py``):
the first hunk of a file's change is typed into ``loomline lsp`` over stdio, then each
predictor suggests the next edit. Predictors, side by side in one run:

* ``baseline``: repeats the user's last change at the next occurrence of the replaced text in
  the editable window (in process, on the text the server holds after the replay);
* ``model``: the server's ``textDocument/copilotInlineEdit`` (``--backend embedded``);
* ``standin``: the same request answered by ``next_edit/standin_server.py`` (the baseline
  behind LSP; it replaces ``loomline lsp`` as the server, to check the bench's LSP path).

Prints per predictor: exact match on window / jump cases, partial steps, location hits, how
often a shown suggestion is wrong, precision of "nothing", suggestions that undo the user's
typing (target 0), latency p50 / p90.

    .venv/bin/python tests/bench/bench_next_edit.py [--split dev|heldout] [--limit N]
        [--predictors baseline,model] [--typing chars|whole] [--out FILE.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tqdm import tqdm

from loomline.context.positions import LineIndex, Position
from loomline.server.methods import COPILOT_INLINE_EDIT_REQUEST
from tests.bench.next_edit.baseline import OffsetEdit, repeat_last_change
from tests.bench.next_edit.build_set import DATA
from tests.bench.next_edit.case import Case, load
from tests.bench.next_edit.scoring import Outcome, judge, summary
from tests.bench.next_edit.session import Opened, Session

WORK = Path("/tmp/loomline-bench-next-edit")
Predict = Callable[[Opened], Awaitable[Outcome]]


def baseline(opened: Opened) -> Outcome:
    case = opened.case
    started = time.perf_counter()
    edits = repeat_last_change(case.text, case.edited, case.user_edit)
    return judge(case, edits, time.perf_counter() - started)


def edits_of(result: Any, opened: Opened) -> list[OffsetEdit]:
    """A ``copilotInlineEdit`` result's edits of this document as offsets of its text;
    ValueError for a malformed one."""
    if result is None:
        return []
    raw = result.get("edits") if isinstance(result, dict) else getattr(result, "edits", None)
    if not isinstance(raw, list):
        raise ValueError(f"no 'edits' list in the result: {result!r:.200}")
    lines = LineIndex(opened.case.edited)

    def get(value: Any, name: str) -> Any:
        return value[name] if isinstance(value, dict) else getattr(value, name)

    edits = []
    for edit in raw:
        document = get(edit, "textDocument")
        if document is not None and get(document, "uri") != opened.uri:
            raise ValueError("an edit of another document")
        start, end = get(get(edit, "range"), "start"), get(get(edit, "range"), "end")
        edits.append(OffsetEdit(
            lines.offset(Position(get(start, "line"), get(start, "character"))),
            lines.offset(Position(get(end, "line"), get(end, "character"))),
            get(edit, "text")))
    return edits


def over_lsp(session: Session, timeout_s: float, trigger_kind: int = 1) -> Predict:
    """Asks ``copilotInlineEdit`` at the cursor; ``trigger_kind`` 1: the user asked (the
    server does not wait for a pause, so the latency is the prediction's), 2: automatic."""

    async def predict(opened: Opened) -> Outcome:
        params = {"textDocument": {"uri": opened.uri, "version": opened.version},
                  "position": {"line": opened.cursor.line,
                               "character": opened.cursor.character},
                  "context": {"triggerKind": trigger_kind}}
        started = time.perf_counter()
        try:
            result = await session.request(COPILOT_INLINE_EDIT_REQUEST, params, timeout_s)
            latency = time.perf_counter() - started
            return judge(opened.case, edits_of(result, opened), latency)
        except Exception as failed:  # a timeout, a JSON-RPC error, a malformed answer
            return judge(opened.case, None, None, f"{type(failed).__name__}: {failed}")

    return predict


def server_for(args: argparse.Namespace) -> tuple[list[str], dict[str, Any], float | None]:
    """The server command, its initializationOptions and how long to wait for its engine."""
    if "standin" in args.predictors:
        return [sys.executable, "-m", "tests.bench.next_edit.standin_server"], {}, None
    log = WORK / "server.log"
    command = [sys.executable, "-m", "loomline.server.cli", "--log-file", str(log), "lsp"]
    options: dict[str, Any] = {"backend": args.backend, **json.loads(args.settings)}
    return command, options, (args.ready_within_s if args.backend != "fake" else None)


async def run(args: argparse.Namespace, cases: list[Case]) -> dict[str, list[Outcome]]:
    WORK.mkdir(parents=True, exist_ok=True)
    command, options, ready_within_s = server_for(args)
    session = Session(command, options)
    await session.start(ready_within_s)
    predictors: dict[str, Predict] = {}
    for name in args.predictors:
        if name == "baseline":
            predictors[name] = lambda opened: asyncio.sleep(0, baseline(opened))
        else:
            predictors[name] = over_lsp(session, args.request_timeout_s,
                                        1 if args.trigger == "invoked" else 2)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in predictors}
    replay_failures = 0
    out = args.out.open("w") if args.out else None
    started = time.monotonic()
    try:
        for index, case in enumerate(tqdm(cases, desc="cases", unit="case")):
            if args.deadline_s is not None and time.monotonic() - started > args.deadline_s:
                tqdm.write(f"--deadline-s reached: {len(cases) - index} case(s) not started")
                break
            uri = (WORK / "docs" / str(index) / case.path).as_uri()
            try:
                opened = await session.open(case, uri, args.typing)
            except RuntimeError as failed:
                replay_failures += 1
                tqdm.write(f"skipped {case.id}: {failed}")
                session.close(uri)
                continue
            for name, predict in predictors.items():
                outcome = await predict(opened)
                outcomes[name].append(outcome)
                if out is not None:  # as it comes, so that a stopped run keeps its cases
                    out.write(json.dumps({"predictor": name, **asdict(outcome)}) + "\n")
                    out.flush()
                if args.verbose:
                    tqdm.write(f"{name:9} {case.kind:6} right={outcome.right!s:5} "
                               f"shown={outcome.shown!s:5} {case.id}"
                               + (f" error={outcome.error}" if outcome.error else ""))
            session.close(uri)
    finally:
        if out is not None:
            out.close()
        await session.stop()
    if replay_failures:
        print(f"{replay_failures} case(s) skipped: the server's copy differed after the replay")
    return outcomes


def print_table(outcomes: dict[str, list[Outcome]], title: str) -> None:
    figures = {name: summary(rows) for name, rows in outcomes.items()}
    names = list(figures)
    rows = list(next(iter(figures.values())))
    width = max(len(r) for r in rows)
    print(f"\n{title}")
    print(" " * width + "  " + "  ".join(f"{n:>24}" for n in names))
    for row in rows:
        print(f"{row:<{width}}  " + "  ".join(f"{figures[n][row]:>24}" for n in names))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--limit", type=int, default=None, help="the first N cases")
    parser.add_argument("--predictors", default="baseline",
                        help="comma-separated: baseline, model, standin")
    parser.add_argument("--backend", choices=["fake", "embedded", "vllm"], default=None,
                        help="loomline's backend (default: embedded with model, else fake)")
    parser.add_argument("--settings", default="{}",
                        help="more initializationOptions for loomline lsp, as JSON")
    parser.add_argument("--typing", choices=["chars", "whole"], default="chars")
    parser.add_argument("--trigger", choices=["invoked", "automatic"], default="invoked",
                        help="copilotInlineEdit's context.triggerKind (automatic: the server "
                        "may wait for a pause first)")
    parser.add_argument("--request-timeout-s", type=float, default=120.0)
    parser.add_argument("--ready-within-s", type=float, default=600.0)
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="start no case after this many seconds (the table covers the "
                        "cases done; every predictor saw the same ones)")
    parser.add_argument("--out", type=Path, default=None, help="every outcome as JSONL")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    args.predictors = [p.strip() for p in args.predictors.split(",") if p.strip()]
    unknown = set(args.predictors) - {"baseline", "model", "standin"}
    if unknown or not args.predictors or {"model", "standin"} <= set(args.predictors):
        parser.error("--predictors: baseline, model or standin (model and standin not both)")
    if args.backend is None:
        args.backend = "embedded" if "model" in args.predictors else "fake"
    path = DATA / f"{args.split}.jsonl"
    if not path.is_file():
        print(f"{path} is missing: build the set with "
              "`.venv/bin/python -m tests.bench.next_edit.build_set` (downloads from PyPI)")
        return 1
    cases = load(path, args.limit)
    started = time.perf_counter()
    outcomes = asyncio.run(run(args, cases))
    done = len(next(iter(outcomes.values())))
    kinds = {k: sum(o.kind == k for o in next(iter(outcomes.values())))
             for k in ("window", "jump", "none")}
    print_table(outcomes, f"next edit, {args.split} split: {done} of {len(cases)} cases "
                f"{kinds}, typing={args.typing}, backend={args.backend}, "
                f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
