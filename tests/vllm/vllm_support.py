"""Starting real vLLM servers for tests, and reading their /metrics.

Skipped only where vLLM is not installed and $CI is unset; in CI a missing vLLM or model
fails loudly. The model is $LOOMLINE_VLLM_MODEL, else Loomline's prepared copy of the default
model (``loomline model pull``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from loomline.server.vllm_server import ServeConfig, VllmServer, default_model_dir, vllm_installed

SERVED_NAME = "loomline-test"
# The LoRA adapters the session's server serves beside the base model (tests/vllm/lora_adapters.py).
ADAPTERS = ("alpha-lora", "beta-lora")
IN_CI = bool(os.environ.get("CI"))


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the vLLM tests: {reason}", pytrace=False)
    pytest.skip(reason)


def model_dir() -> Path:
    env = os.environ.get("LOOMLINE_VLLM_MODEL")
    return Path(env).expanduser() if env else default_model_dir()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_vllm() -> None:
    """Skip (fail in CI) where vLLM is not installed."""
    if not vllm_installed():
        _missing("vllm is not installed (.ci/setup.d/40-vllm.sh installs it)")


def make_adapters(out: Path) -> list[tuple[str, str]] | None:
    """``ADAPTERS`` made for the test model under ``out``, as ``(name, path)`` for ``--lora``;
    None where peft is not installed (the adapter tests then skip, or fail in CI)."""
    if importlib.util.find_spec("peft") is None:
        return None
    subprocess.run([sys.executable, "-m", "tests.vllm.lora_adapters", str(model_dir()),
                    str(out), *ADAPTERS], check=True, timeout=300,
                   cwd=Path(__file__).resolve().parents[2])  # where `tests` is a package
    return [(name, str(out / name)) for name in ADAPTERS]


def require_adapters(adapters: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if adapters is None:
        _missing("peft is not installed: the vLLM server serves no LoRA adapters")
    assert adapters is not None
    return adapters


def start_server(kv_cache_gib: int = 1, max_num_seqs: int = 16,
                 tmp: Path | None = None,
                 loras: list[tuple[str, str]] | None = None) -> VllmServer:
    """A healthy vLLM server for the test model; ``loras``: adapters to serve (--lora)."""
    require_vllm()
    model = model_dir()
    if not (model / "config.json").is_file():
        _missing(f"no prepared model at {model} (run `loomline model pull`)")
    port = free_port()
    config = ServeConfig(model=model, served_model_name=SERVED_NAME, port=port,
                         max_model_len=2048, max_num_seqs=max_num_seqs,
                         kv_cache_gib=kv_cache_gib, loras=list(loras or []),
                         # Each request's LoRA adapter in the log (``requests_by_adapter``).
                         extra=["--enable-log-requests"] if loras else [])
    log = (tmp or Path("/tmp")) / f"vllm-test-{port}.log"
    server = VllmServer(config, log_path=log)
    server.start()
    try:
        server.wait_healthy(timeout=300)
    except BaseException:
        server.stop(grace_s=5)
        raise
    return server


def metrics(server: VllmServer) -> dict[str, float]:
    """Prometheus samples summed over labels, plus ``name{finished_reason=...}`` keys."""
    with urllib.request.urlopen(server.config.base_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("vllm:"):
            continue
        match = re.match(r"([\w:]+)(\{[^}]*\})?\s+(\S+)", line)
        if not match:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        values[name] = values.get(name, 0.0) + value
        reason = re.search(r'finished_reason="(\w+)"', labels)
        if reason:
            key = f"{name}{{{reason.group(1)}}}"
            values[key] = values.get(key, 0.0) + value
    return values


def requests_by_adapter(server: VllmServer) -> list[str | None]:
    """The LoRA adapter of every request the server received so far, in order (None: the base
    model), from its log (``--enable-log-requests``: one line per request, written when the
    request arrives)."""
    adapters: list[str | None] = []
    for line in server.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "Received request " not in line or "lora_request: " not in line:
            continue
        named = re.search(r"lora_request: LoRARequest\(lora_name='([^']*)'", line)
        adapters.append(named.group(1) if named else None)
    return adapters


def wait_for(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
