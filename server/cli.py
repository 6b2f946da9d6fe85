"""The ``loomline`` command: the language server, one-off completions, model management."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

if TYPE_CHECKING:
    from loomline.completion.results import Completion, Skip

log = logging.getLogger("loomline")


def _setup_logging(level: str, log_file: str | None) -> None:
    # stdout carries the protocol: logs go to stderr or a file, never stdout.
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("loomline").setLevel(level.upper())


class TerminalProgress:
    """A progress bar on stderr for model preparation."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            unit="%",
            file=sys.stderr,
            leave=False,
            bar_format="{desc} {bar} {percentage:3.0f}%",
        )
        self._last = ""

    def __call__(self, message: str, fraction: float | None) -> None:
        if message != self._last:
            self._bar.set_description_str(message[:60])
            self._last = message
        if fraction is not None:
            self._bar.n = int(fraction * 100)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


# ---- loomline lsp ---------------------------------------------------------------------
def cmd_lsp(args: argparse.Namespace) -> int:
    _setup_logging(args.log_level, args.log_file)
    # Progress bars of the libraries would flood stderr; the editor gets LSP progress instead.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # `kill -USR1 <pid>` prints every thread's stack to stderr: for "why is it stuck?".
    dump_to = logging.getLogger().handlers[0]
    stream = getattr(dump_to, "stream", sys.stderr)
    faulthandler.register(signal.SIGUSR1, file=stream, all_threads=True)
    if args.allow_remote and not args.tcp:
        raise SystemExit("loomline: --allow-remote applies to --tcp only")
    # Checked before the server loads: a refused address costs no start-up.
    tcp = _tcp_address(args.tcp, args.allow_remote) if args.tcp else None
    from loomline.server.app import server
    from loomline.server.transport import serve_stdio

    try:
        # Our own reader: pygls' loses step for good after one malformed frame.
        if tcp is not None:
            _serve_tcp(server.protocol, *tcp)
        else:
            serve_stdio(server.protocol, threading.Event())
    except BrokenPipeError:
        logging.getLogger(__name__).error("the client closed the connection")
    finally:
        server.shutdown()
    return 0


def _tcp_address(address: str, allow_remote: bool) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` too; no host: 127.0.0.1) checked: a host that is not
    loopback only with ``allow_remote`` (then with a warning). SystemExit with the reason."""
    from loomline.server.tcp import loopback_only

    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"loomline: --tcp expects HOST:PORT, got '{address}'")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    if not loopback_only(host):
        if not allow_remote:
            raise SystemExit(
                f"loomline: --tcp {address} would listen beyond this machine ('{host}' is not "
                "a loopback address such as 127.0.0.1 or ::1); pass --allow-remote as well to "
                "allow that (clients still need the token; the connection is not encrypted)")
        print(f"loomline: warning: listening on '{host}', which other machines may reach "
              "(--allow-remote): clients need the token, and the token and your code cross "
              "the network unencrypted", file=sys.stderr, flush=True)
        logging.getLogger(__name__).warning("--allow-remote: listening on %s", host)
    return host, int(port)


def _serve_tcp(protocol: Any, host: str, port: int) -> None:
    """One client on ``host:port`` that presents the token (see server/tcp.py)."""
    from loomline.server.tcp import TOKEN_ENV, serve_tcp, tcp_token

    token, generated = tcp_token()
    if generated:
        # Printed, not logged: a log file may be shared or kept; the user needs it once.
        print(f"loomline: TCP token (give it as initializationOptions.token; set {TOKEN_ENV} "
              f"to choose it): {token}", file=sys.stderr, flush=True)

    def listening(bound_host: str, bound_port: int) -> None:
        print(f"loomline: listening on {bound_host}:{bound_port}", file=sys.stderr, flush=True)

    asyncio.run(serve_tcp(protocol, host, port, token, threading.Event(),
                          on_listening=listening))


# ---- loomline complete FILE:LINE:COL --------------------------------------------------
def _parse_location(location: str) -> tuple[Path, int, int]:
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise SystemExit(f"expected FILE:LINE:COL (1-based), got '{location}'")
    if int(parts[1]) < 1 or int(parts[2]) < 1:
        raise SystemExit(f"LINE and COL count from 1, got '{location}'")
    return Path(parts[0]), int(parts[1]), int(parts[2])


def cmd_complete(args: argparse.Namespace) -> int:
    _setup_logging(args.log_level, args.log_file)
    path, line, column = _parse_location(args.location)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"loomline: cannot read {path}: {error}", file=sys.stderr)
        return 2
    try:
        raw: dict[str, Any] = json.loads(args.settings) if args.settings else {}
    except json.JSONDecodeError as error:
        print(f"loomline: --settings is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(raw, dict):
        print("loomline: --settings must be a JSON object", file=sys.stderr)
        return 2
    if args.backend:
        raw["backend"] = args.backend
    if args.model_path:
        raw.setdefault("model", {})["path"] = args.model_path
    if args.runtime:
        raw.setdefault("model", {})["runtime"] = args.runtime
    if args.multiline:
        raw.setdefault("completion", {})["multiline"] = args.multiline
    if args.max_tokens:
        raw.setdefault("completion", {})["maxTokens"] = args.max_tokens
    return asyncio.run(_complete(path, text, line, column, raw))


async def _complete(path: Path, text: str, line: int, column: int, raw: dict[str, Any]) -> int:
    from loomline.completion.engines.base import EngineState, wait_settled
    from loomline.completion.factory import build_completion_stack
    from loomline.completion.settings import parse_settings
    from loomline.context.documents import DocumentStore, path_to_uri
    from loomline.context.positions import Position
    from loomline.context.workspace_folders import WorkspaceFolders

    settings, problems = parse_settings(raw)
    for problem in problems:
        print(f"loomline: settings: {problem}", file=sys.stderr)
    progress = TerminalProgress() if sys.stderr.isatty() else None

    def report(message: str, fraction: float | None) -> None:
        if progress is not None:
            progress(message, fraction)
        else:
            print(f"loomline: {message}", file=sys.stderr)

    # What an editor with the current directory open gets: the same engine, context and
    # service, built the same way, and the workspace indexed while the model loads.
    documents = DocumentStore()
    stack = build_completion_stack(
        settings,
        documents,
        folders=WorkspaceFolders.of(os.getcwd()),
        progress=report,
        notify=lambda m: print(f"loomline: {m}", file=sys.stderr),
    )
    engine = stack.engine
    indexing = asyncio.create_task(asyncio.to_thread(stack.workspace.build_index))
    await engine.start()
    state = await wait_settled(engine)
    await _index_or_not(indexing)
    if progress is not None:
        progress.close()
    if state is not EngineState.READY:
        print(f"loomline: {engine.status_message}", file=sys.stderr)
        await engine.close()
        return 1
    document = documents.open(path_to_uri(path.resolve()), "", 1, text)
    position = Position(max(line - 1, 0), max(column - 1, 0))
    if not document.lines.contains(position):
        print(f"loomline: {line}:{column} is outside {path}", file=sys.stderr)
        await engine.close()
        return 2
    show = _StreamedText()
    # Asked for, as an editor's invoked request: no pause to wait for, the longer deadline.
    result = await stack.service.complete(document, position, on_update=show, explicit=True)
    await engine.close()
    return _print_result(result, show)


def _print_result(result: Completion | Skip, show: _StreamedText) -> int:
    """The end of the answer on stdout, a summary on stderr; the exit status."""
    from loomline.completion.results import Completion

    if isinstance(result, Completion):
        show.finish(result.text)
        stats = result.stats
        print(
            f"loomline: {stats.generated_tokens} tokens, first after "
            f"{(stats.first_token_s or 0) * 1000:.0f} ms, "
            f"{result.timings_ms['total_ms']:.0f} ms in all",
            file=sys.stderr,
        )
        return 0
    print(f"loomline: no completion ({result.reason})", file=sys.stderr)
    return 1


async def _index_or_not(indexing: asyncio.Task[Any]) -> None:
    """Wait for the workspace index; completing without it is better than not at all."""
    try:
        await indexing
    except Exception:
        log.exception("indexing the workspace failed; completing without the index")


class _StreamedText:
    """Prints a streamed answer as it grows, on stdout."""

    def __init__(self) -> None:
        self.shown = ""

    def __call__(self, text: str) -> None:
        text = text.rstrip()  # trailing blanks may still be cut; print them with what follows
        if text.startswith(self.shown) and len(text) > len(self.shown):
            sys.stdout.write(text[len(self.shown) :])
            sys.stdout.flush()
            self.shown = text

    def finish(self, text: str) -> None:
        self(text)
        if not text.startswith(self.shown):  # a late cut: print the final text plainly
            sys.stdout.write("\n--- final ---\n" + text)
        sys.stdout.write("\n")


# ---- loomline model pull|list|verify ---------------------------------------------------
def cmd_model(args: argparse.Namespace) -> int:
    _setup_logging(args.log_level, None)
    from loomline.completion.model_store import ModelNotFound, ModelStore
    from loomline.completion.onnx_build import prepare_onnx_model, verify_onnx_model
    from loomline.completion.settings import (
        DEFAULT_MODEL_ID,
        ModelSettings,
        Settings,
        embedded_runtime,
    )

    store = ModelStore(args.cache_dir)
    model_id = getattr(args, "model", None) or DEFAULT_MODEL_ID
    if args.model_command == "list":
        for row in store.list():
            print(f"{row['model']:40} {row['state']:15} {row['path']}")
        return 0
    # What the default needs (no adapters here: "auto" is onnx), or the one asked for.
    runtime, _ = embedded_runtime(Settings(model=ModelSettings(runtime=args.runtime or "auto")))
    precision = args.precision or ModelSettings().onnx_precision
    if args.model_command == "verify":
        try:
            ok, message = store.verify(model_id)
            if ok and runtime == "onnx":
                ok, message = verify_onnx_model(store, model_id, precision)
        except ModelNotFound as error:
            ok, message = False, str(error)
        print(message)
        return 0 if ok else 1
    progress = TerminalProgress()
    try:
        path = store.resolve(model_id, progress=progress)
        if runtime == "onnx":
            path = prepare_onnx_model(store, model_id, None, precision, progress)
    except ModelNotFound as error:
        progress.close()
        print(f"loomline: {error}", file=sys.stderr)
        return 1
    progress.close()
    print(path)
    return 0


# ---- loomline adapt [FOLDER] -------------------------------------------------------------
def cmd_adapt(args: argparse.Namespace) -> int:
    _setup_logging(args.log_level, args.log_file)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from loomline.completion.adapt.command import run

    try:
        return run(args)
    except ImportError as error:  # torch / peft: the embedded extra
        print(f"loomline adapt needs the embedded extra (pip install 'loomline[embedded]'): "
              f"{error}", file=sys.stderr)
        return 2


def cmd_engine_serve(args: argparse.Namespace, rest: list[str]) -> int:
    try:
        from loomline.server.engine_serve import serve_main
    except ImportError as error:
        print(f"loomline: engine serve is unavailable: {error}", file=sys.stderr)
        return 2
    return serve_main(rest)


def build_parser() -> argparse.ArgumentParser:
    # The choices are the settings' own (one list of backends, runtimes, ...).
    from loomline.completion.settings import (
        Backend,
        LogLevel,
        Multiline,
        OnnxPrecision,
        Runtime,
    )

    parser = argparse.ArgumentParser(prog="loomline", description=__doc__)
    parser.add_argument("--log-level", default="info", choices=get_args(LogLevel))
    parser.add_argument("--log-file", help="write logs here instead of stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    lsp = sub.add_parser("lsp", help="run the language server (stdio by default)")
    lsp.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on TCP instead of stdio: one client, which gives the token "
        "($LOOMLINE_TCP_TOKEN, else printed at start) as initializationOptions.token",
    )
    lsp.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --tcp listen on an address other machines can reach (0.0.0.0, ::, a LAN "
        "address); refused without it. The token is still required; nothing is encrypted",
    )
    lsp.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    lsp.set_defaults(func=cmd_lsp)

    complete = sub.add_parser("complete", help="stream one completion into the terminal")
    complete.add_argument("location", metavar="FILE:LINE:COL", help="1-based line and column")
    complete.add_argument("--backend", choices=get_args(Backend))
    complete.add_argument("--model-path", help="a local model directory")
    complete.add_argument(
        "--runtime", choices=get_args(Runtime), help="what runs the embedded model"
    )
    complete.add_argument("--multiline", choices=get_args(Multiline))
    complete.add_argument("--max-tokens", type=int)
    complete.add_argument("--settings", help="settings as JSON (same keys as the editor's)")
    complete.set_defaults(func=cmd_complete)

    model = sub.add_parser("model", help="manage the embedded model")
    model.add_argument("--cache-dir", help="default: $LOOMLINE_CACHE or ~/.cache/loomline")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    pull = model_sub.add_parser("pull", help="download, verify and prepare a model")
    pull.add_argument("model", nargs="?", help="repository id (default: the embedded default)")
    model_sub.add_parser("list", help="models known and prepared")
    verify = model_sub.add_parser("verify", help="check a prepared model against its checksum")
    verify.add_argument("model", nargs="?")
    for command in (pull, verify):
        command.add_argument(
            "--runtime", choices=get_args(Runtime),
            help="onnx: also build (pull) or check (verify) the ONNX model; "
            "default (auto): what the default runtime needs (onnx)",
        )  # fmt: skip
        command.add_argument(
            "--precision", choices=get_args(OnnxPrecision),
            help="the ONNX model's weights (default: the model.onnxPrecision default)",
        )  # fmt: skip
    model.set_defaults(func=cmd_model)

    adapt = sub.add_parser(
        "adapt", help="train a LoRA adapter for the model on a workspace's code"
    )
    from loomline.completion.adapt.command import add_arguments

    add_arguments(adapt)
    adapt.set_defaults(func=cmd_adapt)

    engine = sub.add_parser("engine", help="run a model server")
    engine_sub = engine.add_subparsers(dest="engine_command", required=True)
    engine_sub.add_parser(
        "serve", help="start vLLM's OpenAI server (see --help there)", add_help=False
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["engine", "serve"]:
        return cmd_engine_serve(argparse.Namespace(), argv[2:])
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
