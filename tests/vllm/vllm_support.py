"""Starting real vLLM servers for tests, and reading their /metrics.

Skipped only where vLLM is not installed and $CI is unset; in CI a missing vLLM or model
fails loudly. The model is $LOOMLINE_VLLM_MODEL, else Loomline's prepared copy of the default
model (``loomline model pull``).
"""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from loomline.server.vllm_server import ServeConfig, VllmServer, default_model_dir, vllm_installed

SERVED_NAME = "loomline-test"
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


def start_server(kv_cache_gib: int = 1, max_num_seqs: int = 16,
                 tmp: Path | None = None) -> VllmServer:
    if not vllm_installed():
        _missing("vllm is not installed (.ci/setup.d/40-vllm.sh installs it)")
    model = model_dir()
    if not (model / "config.json").is_file():
        _missing(f"no prepared model at {model} (run `loomline model pull`)")
    port = free_port()
    config = ServeConfig(model=model, served_model_name=SERVED_NAME, port=port,
                         max_model_len=2048, max_num_seqs=max_num_seqs,
                         kv_cache_gib=kv_cache_gib)
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


def wait_for(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
