"""``loomline engine serve --replicas``: several servers started, announced, and stopped
together. vLLM is played by a small HTTP server (the ``--python`` interpreter given runs it
instead of vLLM), so the whole lifecycle runs in a second: start, /health, the settings
line, one replica dying, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOOMLINE

# Stands in for `python -m vllm.entrypoints.openai.api_server ...`: answers /health on --port
# and writes its pid and CUDA_VISIBLE_DEVICES to $FAKE_VLLM_DIR/<port>.
FAKE_VLLM = '''
import http.server, os, sys
args = sys.argv[3:]  # after "-m vllm.entrypoints.openai.api_server"
port = int(args[args.index("--port") + 1])
with open(os.path.join(os.environ["FAKE_VLLM_DIR"], str(port)), "w") as f:
    f.write(f"{os.getpid()} {os.environ.get('CUDA_VISIBLE_DEVICES')}")
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
'''


def _two_free_ports() -> int:
    """A port P with P + 1 free too."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two free ports in a row")


@pytest.fixture
def serving(tmp_path: Path):
    """A running ``engine serve --replicas 2`` with fake vLLMs: (process, first port, dir)."""
    fake = tmp_path / "fake_vllm.py"
    fake.write_text(FAKE_VLLM)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    python.chmod(0o755)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    port = _two_free_ports()
    env = {**os.environ, "FAKE_VLLM_DIR": str(tmp_path)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    process = subprocess.Popen(
        [*LOOMLINE, "engine", "serve", "--python", str(python), "--model", str(model),
         "--replicas", "2", "--port", str(port), "--vllm-build", "cuda",
         "--startup-timeout", "60", "--log-file", str(tmp_path / "vllm.log")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield process, port, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _announced(process: subprocess.Popen[str]) -> dict:
    assert process.stdout is not None
    for line in process.stdout:  # until the settings line (EOF: it failed)
        if line.startswith("Loomline settings: "):
            return json.loads(line.removeprefix("Loomline settings: "))
    raise AssertionError(f"no settings line; stderr: {process.communicate()[1]}")


def _fake(directory: Path, port: int) -> tuple[int, str]:
    pid, devices = (directory / str(port)).read_text().split()
    return int(pid), devices


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_replicas_start_each_on_its_gpu_and_stop_on_ctrl_c(serving) -> None:
    process, port, directory = serving
    settings = _announced(process)
    assert settings["engine"]["urls"] == [f"http://127.0.0.1:{port}/v1",
                                          f"http://127.0.0.1:{port + 1}/v1"]
    fakes = [_fake(directory, port), _fake(directory, port + 1)]
    assert [devices for _, devices in fakes] == ["0", "1"]
    # One log file each.
    assert (directory / f"vllm-{port}.log").exists()
    assert (directory / f"vllm-{port + 1}.log").exists()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert all(_gone(pid) for pid, _ in fakes)


def test_one_replica_dying_stops_the_others_with_its_status(serving) -> None:
    process, port, directory = serving
    _announced(process)
    first, _ = _fake(directory, port)
    second, _ = _fake(directory, port + 1)
    os.kill(second, signal.SIGKILL)
    assert process.wait(timeout=60) != 0
    assert process.stderr is not None
    assert f"vLLM on port {port + 1} exited with status -9" in process.stderr.read()
    assert _gone(first)
