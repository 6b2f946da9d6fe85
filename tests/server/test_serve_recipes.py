"""The README's scale-out recipes, run with ``--dry-run``: the exact vLLM commands they print
(flags and values, environment, ports, GPUs) and the settings line for Loomline."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from loomline.server.engine_serve import serve_main
from loomline.server.vllm_server import ServeConfig, replica_configs

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "sk-do-not-print-me"


def readme_recipes() -> list[list[str]]:
    """The arguments of each ``loomline engine serve`` line in the README's recipes."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Scale-out recipes", 1)[1].split("\n### ", 1)[0]
    return [shlex.split(line)[3:] for line in section.splitlines()
            if line.startswith("loomline engine serve ")]


RECIPES = readme_recipes()


def dry_run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, str]],
                                                                           list[list[str]], dict]:
    """(environment, argv) of each printed server command, and the printed settings."""
    assert serve_main([*args, "--dry-run", "--vllm-build", "cuda"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    *lines, settings = out.strip().splitlines()
    envs, commands = [], []
    for line in lines:
        words = shlex.split(line)
        env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
        envs.append(env)
        commands.append(words[len(env):])
    assert settings.startswith("# Loomline settings: ")
    return envs, commands, json.loads(settings.removeprefix("# Loomline settings: "))


def flag(command: list[str], name: str) -> str | None:
    """The value after ``name`` (None if absent; "" for a switch)."""
    if name not in command:
        return None
    i = command.index(name)
    following = command[i + 1] if i + 1 < len(command) else "--"
    return "" if following.startswith("--") else following


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("LOOMLINE_API_KEY", SECRET)


def test_the_readme_has_the_five_recipes() -> None:
    assert len(RECIPES) == 5, RECIPES


def test_one_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    envs, (command,), settings = dry_run(RECIPES[0], capsys)
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert flag(command, "--model") == "/models/Qwen2.5-Coder-1.5B-Instruct"
    assert flag(command, "--served-model-name") == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert flag(command, "--host") == "0.0.0.0" and flag(command, "--port") == "8000"
    assert flag(command, "--gpu-memory-utilization") == "0.9"
    assert flag(command, "--tensor-parallel-size") == "1"
    for absent in ("--pipeline-parallel-size", "--distributed-executor-backend",
                   "--enforce-eager", "--block-size", "--enable-lora"):
        assert flag(command, absent) is None, absent
    for switch in ("--enable-prefix-caching", "--enable-chunked-prefill",
                   "--enable-prompt-tokens-details"):
        assert flag(command, switch) == ""
    # The key travels in the environment, never on the command line or in what is printed.
    assert envs == [{"HF_HUB_OFFLINE": "1"}]
    assert settings == {"backend": "vllm", "engine": {
        "urls": ["http://127.0.0.1:8000/v1"], "servedModel": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}}


def test_tensor_parallel_on_one_node(capsys: pytest.CaptureFixture[str]) -> None:
    envs, (command,), _ = dry_run(RECIPES[1], capsys)
    assert flag(command, "--tensor-parallel-size") == "4"
    assert flag(command, "--pipeline-parallel-size") is None
    assert "CUDA_VISIBLE_DEVICES" not in envs[0]  # one server: all the node's GPUs


def test_tensor_times_pipeline_parallel_on_a_ray_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    envs, (command,), _ = dry_run(RECIPES[2], capsys)
    assert flag(command, "--tensor-parallel-size") == "8"
    assert flag(command, "--pipeline-parallel-size") == "2"
    assert flag(command, "--distributed-executor-backend") == "ray"
    assert flag(command, "--host") == "0.0.0.0"
    assert "CUDA_VISIBLE_DEVICES" not in envs[0]  # Ray places the workers


def test_replicas_behind_affinity_routing(capsys: pytest.CaptureFixture[str]) -> None:
    envs, commands, settings = dry_run(RECIPES[3], capsys)
    assert [flag(c, "--port") for c in commands] == ["8000", "8001", "8002", "8003"]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "2", "3"]
    assert settings["engine"]["urls"] == [f"http://127.0.0.1:{p}/v1" for p in range(8000, 8004)]
    # Otherwise the same server four times.
    strip = {"--port"}
    shapes = [[w for i, w in enumerate(c) if w not in strip and c[i - 1] not in strip]
              for c in commands]
    assert all(shape == shapes[0] for shape in shapes)


def test_lora_adapters(capsys: pytest.CaptureFixture[str]) -> None:
    _, (command,), _ = dry_run(RECIPES[4], capsys)
    assert flag(command, "--enable-lora") == "" and flag(command, "--max-lora-rank") == "16"
    assert flag(command, "--max-loras") == "2"
    i = command.index("--lora-modules")
    assert command[i + 1 : i + 3] == ["payments=/adapters/payments", "web=/adapters/web"]


def test_replicas_of_a_tensor_parallel_model_take_their_own_gpus(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    envs, commands, _ = dry_run(["--model", "/m", "--replicas", "2",
                                 "--tensor-parallel-size", "2"], capsys)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["4,5", "6,7"]
    assert all(flag(c, "--tensor-parallel-size") == "2" for c in commands)


def test_not_enough_gpus_or_cores_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    assert serve_main(["--model", "/m", "--replicas", "2", "--tensor-parallel-size", "2",
                       "--dry-run", "--vllm-build", "cuda"]) == 2
    assert "2 replicas of 2 GPU(s) need 4 GPUs; CUDA_VISIBLE_DEVICES names 3" in (
        capsys.readouterr().err)
    assert serve_main(["--model", "/m", "--replicas", "0", "--dry-run"]) == 2
    assert "--replicas must be at least 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="3 replicas need a CPU core each"):
        replica_configs(ServeConfig(Path("/m"), cpu=True), 3, visible=["0", "1"])


def test_cpu_replicas_split_the_cores(capsys: pytest.CaptureFixture[str]) -> None:
    configs = replica_configs(ServeConfig(Path("/m"), cpu=True, port=9000), 2,
                              visible=["0", "1", "2", "3", "4"])
    assert [(c.port, c.devices) for c in configs] == [(9000, "0,1"), (9001, "2,3")]
    env = configs[1].environment({})
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "2,3" and "CUDA_VISIBLE_DEVICES" not in env


def test_ray_replicas_are_placed_by_ray() -> None:
    config = ServeConfig(Path("/m"), cpu=False, distributed_executor_backend="ray")
    assert [c.devices for c in replica_configs(config, 3)] == [None, None, None]
