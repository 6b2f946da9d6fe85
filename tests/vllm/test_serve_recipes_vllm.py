"""The README's scale-out recipes as vLLM itself reads them: every command ``--dry-run``
prints is parsed and validated by vLLM's own argument parser (one interpreter that imports
vLLM; no server starts), and the values arrive as meant."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.server.test_serve_recipes import RECIPES, dry_run
from tests.vllm.vllm_support import require_vllm

pytestmark = pytest.mark.vllm

# Parses each argv (the words after the module name) and prints what vLLM understood.
PARSE = """
import json, sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
out = []
for argv in json.load(sys.stdin):
    args = make_arg_parser(FlexibleArgumentParser()).parse_args(argv)
    validate_parsed_serve_args(args)
    out.append({
        "tp": args.tensor_parallel_size, "pp": args.pipeline_parallel_size,
        "backend": args.distributed_executor_backend, "port": args.port, "host": args.host,
        "lora": args.enable_lora, "max_lora_rank": args.max_lora_rank,
        "loras": [[m.name, m.path] for m in (args.lora_modules or [])],
        "prefix_caching": args.enable_prefix_caching, "model": args.model,
    })
print(json.dumps(out))
"""


def test_vllm_accepts_every_recipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_vllm()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("LOOMLINE_API_KEY", "sk-test")
    argvs: list[list[str]] = []
    for recipe in RECIPES:
        _, commands, _ = dry_run(recipe, capsys)
        for command in commands:
            assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
            argvs.append(command[3:])
    done = subprocess.run([sys.executable, "-c", PARSE], input=json.dumps(argvs), text=True,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(p["tp"], p["pp"], p["backend"]) for p in parsed] == [
        (1, 1, None), (4, 1, None), (8, 2, "ray"), *[(1, 1, None)] * 4, (1, 1, None)]
    assert [p["port"] for p in parsed[3:7]] == [8000, 8001, 8002, 8003]
    assert all(p["host"] == "0.0.0.0" and p["prefix_caching"] for p in parsed)
    lora = parsed[-1]
    assert lora["lora"] and lora["max_lora_rank"] == 16
    assert lora["loras"] == [["payments", "/adapters/payments"], ["web", "/adapters/web"]]
