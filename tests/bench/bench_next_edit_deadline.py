"""Whether the embedded model's next edit for a change that is not a rename arrives within the
deadline (``nextEdit.deadlineMs``), with the default settings (the default engine: ONNX int8).

Each case is a small file and an edit the user makes (typed as an editor sends it, a
character a change); then a next edit is asked as an editor asks after a change (not
explicit: the pause is waited for, the typed deadline applies). Prints per case the time to
the answer, where the answer came from (the model, the heuristic, none and why), what the
model wrote (the rewritten window, as reviewed) and whether it is the edit expected; then how
many model answers came in time.

    .venv/bin/python tests/bench/bench_next_edit_deadline.py [--cases N] [--settings JSON]
        [--line-ending lf|crlf|cr] [--show-answers]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from loomline.completion.engines import create_engine
from loomline.completion.engines.base import EngineState, wait_settled
from loomline.completion.factory import adopt_tokenizer
from loomline.completion.next_edit import service as service_module
from loomline.completion.next_edit.service import NextEdit, NextEditService
from loomline.completion.next_edit.window import EditWindow
from loomline.completion.service import CompletionService
from loomline.completion.settings import Settings
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position


@dataclass(frozen=True)
class Case:
    """``before`` becomes ``edited`` by the user's edit (one replaced span, typed); the next
    edit expected turns ``edited`` into ``expected``."""

    name: str
    language: str
    before: str
    edited: str
    expected: str


def _many_calls(params: str, swapped: bool) -> str:
    """``sub(params)`` and 24 calls of it, their arguments ``swapped`` or not."""
    calls = "".join(f"x{i} = sub({i + 1}, {10 + i})\n" if swapped
                    else f"x{i} = sub({10 + i}, {i + 1})\n" for i in range(24))
    return f"def sub({params}):\n    return a - b\n\n\n{calls}"


def _long_point(params: str, field: str) -> str:
    """A 50-line module with a Point class in its middle: ``params`` after ``x, y`` in the
    constructor, ``field`` after its assignments."""
    helpers = "".join(f"def helper_{i}(value):\n    return value * {i}\n\n\n" for i in range(3))
    uses = "".join(f"def use_{i}():\n    return Point({i}, {i + 1}).norm()\n\n\n"
                   for i in range(3))
    return (
        f"import math\n\n\n{helpers}class Point:\n    def __init__(self, x, y{params}):\n"
        f"        self.x = x\n        self.y = y\n{field}\n    def norm(self):\n"
        "        return math.hypot(self.x, self.y)\n\n    def scaled(self, factor):\n"
        "        return Point(self.x * factor, self.y * factor)\n\n    def __repr__(self):\n"
        f"        return f\"Point({{self.x}}, {{self.y}})\"\n\n\n{uses.rstrip()}\n"
    )


CASES = [
    # The definition's parameters swapped: the calls swap their arguments.
    Case("swap-args", "python",
         "def sub(a, b):\n    return a - b\n\n\nx = sub(2, 1)\nprint(x)\n",
         "def sub(b, a):\n    return a - b\n\n\nx = sub(2, 1)\nprint(x)\n",
         "def sub(b, a):\n    return a - b\n\n\nx = sub(1, 2)\nprint(x)\n"),
    # The same where the calls fill a whole window (20 lines, each to rewrite).
    Case("swap-args-long", "python", _many_calls("a, b", False), _many_calls("b, a", False),
         _many_calls("b, a", True)),
    # A field added to the constructor's parameters: it is stored like the others.
    Case("add-field", "python",
         "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n"
         "\n    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n",
         "class Point:\n    def __init__(self, x, y, z):\n        self.x = x\n        self.y = y\n"
         "\n    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n",
         "class Point:\n    def __init__(self, x, y, z):\n        self.x = x\n        self.y = y\n"
         "        self.z = z\n"
         "\n    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n"),
    # A parameter added to a function: its call passes an argument for it.
    Case("add-argument", "javascript",
         "function greet(name) {\n  return `Hello, ${name}`;\n}\n\nconsole.log(greet(\"Ann\"));\n",
         "function greet(name, greeting) {\n  return `Hello, ${name}`;\n}\n\n"
         "console.log(greet(\"Ann\"));\n",
         "function greet(name, greeting) {\n  return `${greeting}, ${name}`;\n}\n\n"
         "console.log(greet(\"Ann\"));\n"),
    # The same in a longer file: the window is a full one (20 lines) inside more text.
    Case("add-field-long", "python", *(_long_point(*parts) for parts in (
        ("", ""), (", z", ""), (", z", "        self.z = z\n")))),
    # A struct field added: the constructor function sets it.
    Case("go-field", "go",
         "package main\n\ntype User struct {\n\tName string\n}\n\n"
         "func NewUser(name string) User {\n\treturn User{Name: name}\n}\n",
         "package main\n\ntype User struct {\n\tName string\n\tAge  int\n}\n\n"
         "func NewUser(name string) User {\n\treturn User{Name: name}\n}\n",
         "package main\n\ntype User struct {\n\tName string\n\tAge  int\n}\n\n"
         "func NewUser(name string, age int) User {\n\treturn User{Name: name, Age: age}\n}\n"),
]


def differing(a: str, b: str) -> tuple[int, int, int]:
    """Where ``b`` differs from ``a``: the common start, and the ends of the differing spans
    of ``a`` and of ``b``."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start, len(a) - end, len(b) - end


def type_edit(store: DocumentStore, uri: str, case: Case) -> Position:
    """The user's edit as an editor sends it: the replaced text removed, the new text typed
    a character a change (a line break as one); the cursor after it."""
    start, old_end, new_end = differing(case.before, case.edited)
    document = store.get(uri)
    assert document is not None
    if old_end > start:
        store.change(uri, document.version + 1, [
            (document.position_at(start), document.position_at(old_end), "")])
    offset = start
    while offset < new_end:
        key = case.edited[offset:offset + 2] if case.edited.startswith("\r\n", offset) \
            else case.edited[offset]
        at = document.position_at(offset)
        store.change(uri, document.version + 1, [(at, at, key)])
        offset += len(key)
    return document.position_at(new_end)


EXTENSIONS = {"python": "py", "javascript": "js", "go": "go"}
LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def with_line_ending(case: Case, ending: str) -> Case:
    def convert(text: str) -> str:
        return text.replace("\n", ending)

    return replace(case, before=convert(case.before), edited=convert(case.edited),
                   expected=convert(case.expected))


def applied(document: Document, edit: NextEdit) -> str:
    text = document.text
    return text[: document.offset_at(edit.start)] + edit.text + text[document.offset_at(edit.end):]


# What the service reviewed last: the window and the model's whole answer (for the report),
# and the model's text as last read.
reviewed: list[tuple[EditWindow, Sequence[str], object]] = []
raw: list[str] = []
_review = service_module.review
_read_answer = service_module.read_answer


def _recording_read_answer(fmt: Any, text: str, finished: bool = False) -> Any:
    raw[:] = [text]
    return _read_answer(fmt, text, finished)


def _recording_review(window: EditWindow, answer: Sequence[str], **kwargs: Any) -> object:
    result = _review(window, answer, **kwargs)
    reviewed.append((window, tuple(answer), result))
    return result


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings.model_validate({"backend": "embedded", **json.loads(args.settings)})
    deadline_ms = settings.next_edit.deadline_ms
    print(f"runtime {settings.model.runtime}, precision {settings.model.onnx_precision}; "
          f"a typed next edit's deadline {deadline_ms} ms")
    engine = create_engine(settings)
    await engine.start()
    if await wait_settled(engine, 900) is not EngineState.READY:
        sys.exit(f"the engine is not ready: {engine.status_message}")
    service_module.review = _recording_review  # type: ignore[assignment]
    service_module.read_answer = _recording_read_answer
    store = DocumentStore()
    completions = CompletionService(settings, engine, documents=store)
    adopt_tokenizer(completions, engine)
    next_edit = NextEditService(completions, store.history)
    in_time, latencies = 0, []
    for case in [c for c in CASES if c.name in args.case] if args.case else CASES[:args.cases]:
        uri = f"file:///bench/{case.name}.{EXTENSIONS[case.language]}"
        case = with_line_ending(case, LINE_ENDINGS[args.line_ending])
        store.open(uri, case.language, 1, case.before)
        cursor = type_edit(store, uri, case)
        document = store.get(uri)
        assert document is not None and document.text == case.edited, case.name
        reviewed.clear()
        generated = next_edit.counters.generated_tokens
        stopped = next_edit.counters.stopped_at_window_end
        started = time.perf_counter()
        result = await next_edit.suggest(document, cursor)
        elapsed = time.perf_counter() - started
        latencies.append(elapsed)
        tokens = next_edit.counters.generated_tokens - generated
        answered = bool(reviewed)
        in_time += answered
        if isinstance(result, NextEdit):
            exact = applied(document, result) == case.expected
            what = "expected edit" if exact else "another edit"
            outcome = f"{result.source}: {what} {result.text!r}"
        else:
            outcome = f"none: {result.reason}"
        verdict = reviewed[-1][2] if answered else None
        model = "model did not answer" if not answered else \
            f"model answered ({verdict if isinstance(verdict, str) else 'an edit'})"
        cut = "; stopped at the window's end" * (next_edit.counters.stopped_at_window_end > stopped)
        print(f"  {case.name}: {elapsed:.1f} s, {tokens} tokens{cut}; {model}; {outcome}")
        if args.show_answers and answered:
            window, answer, _ = reviewed[-1]
            print("    window:", json.dumps(window.lines))
            print("    answer:", json.dumps(answer))
            print("    model's text:", json.dumps(raw[0] if raw else None))
    await engine.close()
    count = len(latencies)
    print(f"{in_time} of {count} model answers within {deadline_ms} ms; "
          f"latency p50 {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default="{}",
                        help='JSON merged into the settings: {"nextEdit": {"deadlineMs": 9000}}')
    parser.add_argument("--cases", type=int, default=len(CASES), help="the first N cases")
    parser.add_argument("--case", action="append", default=[], help="only the case NAME")
    parser.add_argument("--line-ending", choices=sorted(LINE_ENDINGS), default="lf",
                        help="the files' line breaks")
    parser.add_argument("--show-answers", action="store_true",
                        help="print each window and the model's whole answer")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
