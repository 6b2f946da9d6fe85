"""HumanEval through ``loomline.generate``: implement a function from its signature and docstring.

For a fixed set of HumanEval problems (0-9 by default), the file holds the problem's prompt
(imports, helpers, the signature and docstring, no body). Over LSP, exactly as an editor
does it, the bench asks for code actions on the ``def`` line, runs "Loomline: Implement this
function", applies the streamed edits to its copy of the file, then runs the problem's tests
on the result in a subprocess with a timeout and prints the pass rate.

    .venv/bin/python tests/bench/bench_generate_humaneval.py [--tasks 0,1,2] [--settings JSON]

The data: ../shared/data/humaneval-infilling (official HumanEval infilling sets, MIT); the
single-line set's ``prompt`` of each task's first entry is cut after the docstring.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[2]
DATA = (
    REPO.parent
    / "shared"
    / "data"
    / "humaneval-infilling"
    / "HumanEval-SingleLineInfilling.jsonl.gz"
)
DEFAULT_TASKS = list(range(10))
IMPLEMENT = "Loomline: Implement this function"


@dataclass
class Problem:
    task: str
    entry_point: str
    stub: str  # imports, helpers, signature and docstring
    test: str


def load_problems(path: Path, numbers: list[int]) -> list[Problem]:
    wanted = {f"HumanEval/{n}" for n in numbers}
    seen: dict[str, Problem] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for raw in handle:
            row = json.loads(raw)
            task = row["task_id"].split("/", 1)[1].rsplit("/", 1)[0]  # HumanEval/N
            if task in wanted and task not in seen:
                seen[task] = Problem(
                    task,
                    row["entry_point"],
                    stub_of(row["prompt"], row["entry_point"]),
                    row["test"],
                )
    return [seen[f"HumanEval/{n}"] for n in numbers if f"HumanEval/{n}" in seen]


def stub_of(prompt: str, entry_point: str) -> str:
    """The prompt up to the end of the entry point's docstring."""
    start = prompt.index(f"def {entry_point}(")
    quote = re.compile(r'"""|\'\'\'')
    opening = quote.search(prompt, start)
    if opening is None:
        raise ValueError(f"no docstring for {entry_point}")
    closing = prompt.index(opening.group(0), opening.end())
    line_end = prompt.find("\n", closing)
    return prompt[: len(prompt) if line_end < 0 else line_end] + "\n"


def run_tests(code: str, problem: Problem, timeout: float = 10.0) -> tuple[bool, str]:
    program = f"{code}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(program)
    try:
        proc = subprocess.run(
            [sys.executable, handle.name], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, "timeout"
    finally:
        Path(handle.name).unlink(missing_ok=True)
    tail = proc.stderr.strip().split("\n")[-1] if proc.stderr.strip() else ""
    return proc.returncode == 0, tail


class Editor:
    """An LSP client that keeps its own copy of each document, like an editor."""

    def __init__(self) -> None:
        self.client = LanguageClient("loomline-bench", "1")
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.ready = asyncio.Event()

        @self.client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return self.apply(params.edit)

        @self.client.feature("loomline/status")
        def status(params: Any) -> None:
            if getattr(params, "state", None) == "ready":
                self.ready.set()

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: Any) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            return None

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            print(f"  server: {params.message}", flush=True)

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        from loomline.context.positions import LineIndex, Position

        for uri, edits in (edit.changes or {}).items():
            text = self.texts[uri]
            for e in sorted(
                edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
            ):
                index = LineIndex(text)
                start = index.offset(Position(e.range.start.line, e.range.start.character))
                end = index.offset(Position(e.range.end.line, e.range.end.character))
                text = text[:start] + e.new_text + text[end:]
            self.texts[uri] = text
            self.versions[uri] += 1
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(
                        uri=uri, version=self.versions[uri]
                    ),
                    content_changes=[
                        types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                        for e in edits
                    ],
                )
            )
        return types.ApplyWorkspaceEditResult(applied=True)

    async def start(self, settings: dict[str, Any]) -> None:
        await self.client.start_io(
            sys.executable, "-m", "loomline.server.cli", "--log-level", "warning", "lsp"
        )
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    workspace=types.WorkspaceClientCapabilities(apply_edit=True),
                    window=types.WindowClientCapabilities(work_done_progress=True),
                ),
                initialization_options=settings,
                root_uri="file:///bench",
            )
        )
        self.client.initialized(types.InitializedParams())
        await asyncio.wait_for(self.ready.wait(), 600)

    def open(self, uri: str, text: str) -> None:
        self.texts[uri], self.versions[uri] = text, 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )

    async def implement(self, uri: str, line: int) -> dict[str, Any]:
        # Raw result: lsprotocol reads any object with a "command" key as a Command, which
        # mangles a CodeAction that carries a command.
        msg_id = f"actions-{uri}"
        future = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line, 0), end=types.Position(line, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            ),
            msg_id=msg_id,
        )
        self.client.protocol._result_types[msg_id] = None
        actions = await asyncio.wrap_future(future)
        action = next(a for a in actions or [] if a["title"] == IMPLEMENT)
        command = action["command"]
        result = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
        )
        return dict(result or {})

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def bench(numbers: list[int], settings: dict[str, Any]) -> int:
    problems = load_problems(DATA, numbers)
    editor = Editor()
    started = time.perf_counter()
    await editor.start(settings)
    print(f"server ready in {time.perf_counter() - started:.1f} s", flush=True)
    passed = 0
    total_s = 0.0
    for problem in problems:
        uri = f"file:///bench/{problem.task.replace('/', '_')}.py"
        editor.open(uri, problem.stub)
        def_line = problem.stub[: problem.stub.index(f"def {problem.entry_point}(")].count("\n")
        t0 = time.perf_counter()
        result = await editor.implement(uri, def_line)
        seconds = time.perf_counter() - t0
        total_s += seconds
        code = editor.texts[uri]
        ok, why = run_tests(code, problem)
        passed += ok
        body_lines = code.count("\n") - problem.stub.count("\n")
        print(
            f"{problem.task:14} {'PASS' if ok else 'FAIL'} {seconds:6.1f} s "
            f"{body_lines:3d} lines applied={result.get('applied')} {why[:60]}",
            flush=True,
        )
    await editor.stop()
    print(
        f"pass rate: {passed}/{len(problems)} = {passed / max(1, len(problems)):.0%} "
        f"({total_s:.0f} s generating, {total_s / max(1, len(problems)):.1f} s per task)"
    )
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks",
        default=",".join(map(str, DEFAULT_TASKS)),
        help="HumanEval problem numbers, comma-separated (default 0-9)",
    )
    parser.add_argument("--settings", default="{}", help="initializationOptions (JSON)")
    args = parser.parse_args()
    numbers = [int(n) for n in args.tasks.split(",") if n.strip()]
    asyncio.run(bench(numbers, json.loads(args.settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
