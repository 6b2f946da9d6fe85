"""Does ``context.editHistory`` (the user's recent hunks as a prompt piece) help ordinary
completions? Cases from the next-edit set's ``window`` cases: the first hunk is applied as the
user's edit (so the edit history holds it), the next hunk's first changed line is emptied and
the cursor put at its start; the answer is that line's new text. Exact match (whitespace-
stripped) of the completion's first line, with and without the history piece, same engine,
same run.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from loomline.completion.engines.base import Engine
from loomline.completion.factory import adopt_tokenizer
from loomline.completion.results import Completion
from loomline.completion.service import CompletionService
from loomline.completion.settings import Settings
from loomline.context.documents import DocumentStore
from tests.bench.next_edit.case import Case, load
from tests.bench.next_edit.hunks import apply_hunks, char_edit

DATA = Path(__file__).resolve().parents[1] / "next_edit" / "data"


@dataclass(frozen=True)
class HistoryCase:
    id: str
    language: str
    before: str  # the document before the user's edit (the target line already emptied)
    after: str  # and after it
    line: int  # the emptied line, in ``after``
    expected: str


def history_case(case: Case) -> HistoryCase | None:
    """The case, or None when it does not fit (target above the edit, or no new line)."""
    if case.kind != "window" or len(case.hunks) < 2:
        return None
    first, target = case.hunks[0], case.hunks[1]
    if target.start < first.end or not target.new:
        return None
    expected = target.new[0]
    if not expected.strip() or (target.old and target.old[0].strip() == expected.strip()):
        return None
    lines = case.text.split("\n")
    if target.old:
        lines[target.start] = ""
    else:
        lines.insert(target.start, "")
    before = "\n".join(lines)
    after = apply_hunks(before, [first])
    language = "python" if case.path.endswith(".py") else "plaintext"
    return HistoryCase(case.id, language, before, after,
                       target.start + len(first.new) - len(first.old), expected)


async def _complete(
    service: CompletionService, store: DocumentStore, case: HistoryCase, uri: str
) -> str:
    document = store.open(uri, case.language, 1, case.before)
    edit = char_edit(case.before, case.after)
    start = document.position_at(edit.start)
    end = document.position_at(edit.start + len(edit.removed))
    store.change(uri, 2, [(start, end, edit.inserted)])
    document = store.get(uri)
    assert document is not None and document.lf_text == case.after
    position = document.position_at(document.lines.line_start(case.line))
    result = await service.complete(document, position, explicit=True)
    store.close(uri)
    return result.text.split("\n")[0] if isinstance(result, Completion) else ""


async def edit_history_bench(engine: Engine, settings: Settings, cases: int) -> None:
    """Prints exact match with vs without the history piece over the first ``cases``."""
    path = DATA / "dev.jsonl"
    if not path.is_file():
        print(f"{path} is missing: build it with `python -m tests.bench.next_edit.build_set`")
        return
    usable = [c for c in (history_case(c) for c in load(path)) if c is not None]
    # Spread over the set (file order groups the cases by package).
    chosen = usable[:: max(1, len(usable) // max(cases, 1))][:cases]
    services: dict[str, tuple[CompletionService, DocumentStore]] = {}
    for name, enabled in (("without", False), ("with", True)):
        variant = settings.model_copy(deep=True)
        variant.context.edit_history = enabled
        store = DocumentStore()
        service = CompletionService(variant, engine, documents=store)
        adopt_tokenizer(service, engine)  # prompts counted as the model counts them
        services[name] = service, store
    hits = {name: 0 for name in services}
    seconds: dict[str, list[float]] = {name: [] for name in services}
    for number, case in enumerate(chosen):
        for name, (service, store) in services.items():
            started = time.perf_counter()
            got = await _complete(service, store, case, f"file:///bench/{number}/{case.id}")
            seconds[name].append(time.perf_counter() - started)
            hit = got.strip() == case.expected.strip()
            hits[name] += hit
            print(f"  {case.id} {name}: {'hit' if hit else 'miss'} {got.strip()[:60]!r}"
                  f" (expected {case.expected.strip()[:60]!r})", flush=True)
    print(f"\nedit history piece, {len(chosen)} cases (next-edit dev set, window kind):")
    for name in services:
        print(f"  {name:8} exact match {hits[name]}/{len(chosen)} "
              f"({hits[name] / max(len(chosen), 1):.0%}), "
              f"median {statistics.median(seconds[name] or [0]):.1f} s")
