"""How often the embedded model's next edit renames the next use of a just-renamed parameter.

Each case is a small function whose parameter the user renames in the header, typed as an
editor sends it (the old name deleted, the new one typed key by key), then a next edit is
asked at the end of the new name. Per prompt variant, prints how often the model's own
suggestion (not the rename heuristic) renamed the next use, renamed every use in the window
exactly, was dropped (and why), and the latency p50 / p90; and how often the service's
answer (model, else the heuristic) renamed the next use.

    .venv/bin/python tests/bench/bench_next_edit_renames.py [--variants qwen-chat,terse]
        [--cases N] [--deadline-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from loomline.completion.engines import create_engine
from loomline.completion.engines.base import Engine, EngineState, wait_settled
from loomline.completion.factory import adopt_tokenizer
from loomline.completion.next_edit import formats as formats_module
from loomline.completion.next_edit.formats import NextEditFormat
from loomline.completion.next_edit.service import NextEdit, NextEditService
from loomline.completion.service import CompletionService
from loomline.completion.settings import Settings
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position


@dataclass(frozen=True)
class Case:
    name: str
    language: str
    text: str  # before the rename; the header is line 0 unless ``line`` says otherwise
    old: str
    new: str
    line: int = 0


CASES = [
    Case("area", "python", "def area(r):\n    return 3.14 * r * r\n\n\nprint(area(2))\n",
         "r", "radius"),
    Case("greet", "python",
         'def greet(name):\n    message = f"Hello, {name}!"\n    print(message)\n'
         "    return len(name)\n", "name", "user"),
    Case("total", "python",
         "def total(items):\n    s = 0\n    for item in items:\n        s += item.price\n"
         "    return s\n", "items", "orders"),
    Case("clamp", "python",
         "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return min(x, hi)\n",
         "x", "value"),
    Case("scale", "python",
         "class Box:\n    def scale(self, f):\n        self.w *= f\n        self.h *= f\n",
         "f", "factor", line=1),
    Case("parse", "python",
         'def parse(line):\n    parts = line.split(",")\n    return [p.strip() for p in parts]\n',
         "line", "text"),
    Case("sum", "javascript",
         "function sum(arr) {\n  let total = 0;\n  for (const x of arr) {\n    total += x;\n"
         "  }\n  return total;\n}\n", "arr", "values"),
    Case("double", "go",
         "package main\n\nfunc double(n int) int {\n\treturn n * 2\n}\n", "n", "count",
         line=2),
]


def header_column(case: Case) -> int:
    line = case.text.split("\n")[case.line]
    found = re.search(rf"\b{re.escape(case.old)}\b", line)
    assert found is not None, case.name
    return found.start()


def next_use(case: Case) -> tuple[int, int]:
    """Where the next use of the old name is, after the header's."""
    lines = case.text.split("\n")
    start = header_column(case) + len(case.old)
    pattern = re.compile(rf"\b{re.escape(case.old)}\b")
    for number in range(case.line, len(lines)):
        found = pattern.search(lines[number], start if number == case.line else 0)
        if found is not None:
            return number, found.start()
    raise AssertionError(case.name)


def rename(store: DocumentStore, uri: str, case: Case) -> Position:
    """Delete the old name in the header, type the new one key by key; the cursor after."""
    column = header_column(case)
    document = store.get(uri)
    assert document is not None
    store.change(uri, document.version + 1, [
        (Position(case.line, column), Position(case.line, column + len(case.old)), "")])
    for offset, char in enumerate(case.new):
        at = Position(case.line, column + offset)
        store.change(uri, document.version + 1, [(at, at, char)])
    return Position(case.line, column + len(case.new))


def applied(document: Document, edit: NextEdit) -> str:
    """The document's text with ``edit`` made (its LSP positions read by the document)."""
    text = document.text
    return text[: document.offset_at(edit.start)] + edit.text + text[document.offset_at(edit.end):]


def variants() -> dict[str, NextEditFormat]:
    """The shipped zero-shot prompt and variants of it (tried here, not shipped)."""
    base = formats_module.formats()["qwen-chat"]
    terse = replace(base, name="terse", prompt=(
        "<|im_start|>system\nYou are a code editor. Apply the user's next edit.<|im_end|>\n"
        "<|im_start|>user\n{edits}\nContinue this edit in the code below: rename the same "
        "name everywhere it is used. Output only the code.\n```{fence}\n{window}\n```"
        "<|im_end|>\n<|im_start|>assistant\n```{fence}\n"))
    no_markers = replace(base, name="plain-window", prompt=base.prompt.replace(
        "{before}<|region_start|>\n{window}\n<|region_end|>\n{after}", "{window}\n").replace(
        "Rewrite the lines between <|region_start|> and <|region_end|> with the next edit "
        "made, without the markers.", "Rewrite this code with the next edit made."))
    # The shipped prompt names the rename the last edit made; this one does not.
    unnoted = replace(base, name="no-rename-note", prompt=base.prompt.replace(
        "{rename_note}", ""))
    return {"qwen-chat": base, "no-rename-note": unnoted, "terse": terse,
            "plain-window": no_markers}


async def run_variant(
    fmt: NextEditFormat, engine: Engine, settings: Settings, cases: int
) -> dict[str, Any]:
    table = dict(formats_module.formats())
    table[fmt.name] = fmt
    formats_module.formats.cache_clear()
    original = formats_module.formats
    formats_module.formats = lambda: table  # type: ignore[assignment]
    try:
        chosen = settings.model_copy(deep=True)
        chosen.next_edit.format = fmt.name
        store = DocumentStore()
        service = CompletionService(chosen, engine, documents=store)
        adopt_tokenizer(service, engine)
        next_edit = NextEditService(service, store.history)
        tally: Counter[str] = Counter()
        latencies: list[float] = []
        for case in CASES[:cases]:
            uri = f"file:///bench/{case.name}.{case.language[:2]}"
            store.open(uri, case.language, 1, case.text)
            cursor = rename(store, uri, case)
            document = store.get(uri)
            assert document is not None
            use_line, use_column = next_use(case)
            started = time.perf_counter()
            result = await next_edit.suggest(document, cursor, explicit=True)
            latencies.append(time.perf_counter() - started)
            if not isinstance(result, NextEdit):
                tally[f"no suggestion: {result.reason}"] += 1
                print(f"  {case.name}: none ({result.reason})")
                continue
            after = applied(document, result)
            line = after.split("\n")[use_line]
            hit = line[use_column:use_column + len(case.new)] == case.new
            everywhere = after == re.sub(rf"\b{re.escape(case.old)}\b", case.new, case.text)
            tally[f"{result.source}: next use renamed" if hit else f"{result.source}: other"] += 1
            if result.source == "model" and everywhere:
                tally["model: every use renamed exactly"] += 1
            print(f"  {case.name}: {result.source} {'hit' if hit else 'miss'} "
                  f"{result.text!r} at {result.start.line}:{result.start.character}")
        counters = next_edit.counters
        return {"tally": tally, "latencies": latencies,
                "tokens": (counters.generated_tokens, counters.window_tokens,
                           counters.stopped_at_window_end)}
    finally:
        formats_module.formats = original  # type: ignore[assignment]


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings.model_validate({"backend": "embedded", "nextEdit": {
        "deadlineMs": args.deadline_ms}, **json.loads(args.settings)})
    engine = create_engine(settings)
    await engine.start()
    if await wait_settled(engine, 900) is not EngineState.READY:
        sys.exit(f"the engine is not ready: {engine.status_message}")
    chosen = variants()
    for name in args.variants.split(","):
        print(f"variant {name}:")
        result = await run_variant(chosen[name], engine, settings, args.cases)
        tally, latencies = result["tally"], sorted(result["latencies"])
        p90 = latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))]
        print(f"variant {name}: {min(args.cases, len(CASES))} cases; " + "; ".join(
            f"{key} {count}" for key, count in sorted(tally.items())))
        print(f"  latency p50 {statistics.median(latencies):.1f} s, p90 {p90:.1f} s")
        generated, window, stopped = result["tokens"]
        print(f"  tokens generated {generated} vs window tokens {window} "
              f"({generated / max(window, 1):.2f}x); stopped at the window's end {stopped}")
    await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="qwen-chat,no-rename-note,terse,plain-window")
    parser.add_argument("--settings", default="{}",
                        help='JSON merged into the settings, e.g. \'{"model":{"runtime":"onnx"}}\'')
    parser.add_argument("--cases", type=int, default=len(CASES), help="the first N cases")
    parser.add_argument("--deadline-ms", type=int, default=300_000,
                        help="a request's deadline (a busy 2-core machine needs minutes)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
