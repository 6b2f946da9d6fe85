#!/usr/bin/env bash
# Serving benchmark on a GPU machine: vLLM (CUDA build, package `vllm`) with
# Qwen2.5-Coder-1.5B, simulated typing users at N = 1, 16, 64; prints latency p50/p90,
# throughput, batching gain, wasted tokens and prefix-cache hits (tests/bench/bench_serving.py).
#
#   tests/bench/gpu_serving.sh /path/to/Qwen2.5-Coder-1.5B      (or LOOMLINE_BENCH_MODEL=...)
#
# The model directory holds config.json, safetensors and tokenizer files (e.g. what
# `loomline model pull Qwen/Qwen2.5-Coder-1.5B-Instruct` prepares, or a hub snapshot).
# Env: PYTHON (default python3), PORT (8123), USERS (1,16,64), MAX_NUM_SEQS (128),
# GPU_MEMORY_UTILIZATION (0.85), EXTRA_BENCH_ARGS, OUT (result JSON, default in /tmp).
# Nothing is downloaded: the model, vllm and loomline's dependencies must be installed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL_DIR="${1:-${LOOMLINE_BENCH_MODEL:-}}"
PYTHON="${PYTHON:-python3}"
PORT="${PORT:-8123}"
USERS="${USERS:-1,16,64}"
MAX_NUM_SEQS="${MAX_NUM_SEQS:-128}"
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.85}"
SERVED_NAME="qwen2.5-coder-1.5b"
OUT="${OUT:-/tmp/loomline-gpu-serving-$(date +%Y%m%d-%H%M%S).json}"
LOG="/tmp/loomline-gpu-vllm-$PORT.log"

if [ -z "$MODEL_DIR" ] || [ ! -f "$MODEL_DIR/config.json" ]; then
  echo "usage: $0 MODEL_DIR   (a Qwen2.5-Coder-1.5B directory with config.json)" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

if ! "$PYTHON" -c "import vllm.entrypoints.openai.api_server" 2>/dev/null; then
  echo "vLLM is not importable with $PYTHON (pip install vllm)" >&2
  exit 2
fi
if ! "$PYTHON" -c "import loomline.server.engine_serve" 2>/dev/null; then
  echo "installing loomline (editable, no dependencies) into $PYTHON's environment"
  "$PYTHON" -m pip install -q --no-deps --no-build-isolation -e "$REPO_ROOT"
fi

export HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1
"$PYTHON" -m loomline.server.engine_serve --model "$MODEL_DIR" --served-model-name "$SERVED_NAME" \
  --port "$PORT" --max-model-len 4096 --max-num-seqs "$MAX_NUM_SEQS" \
  --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION" --log-file "$LOG" --startup-timeout 900 &
SERVER_PID=$!
cleanup() { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

T0=$SECONDS
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "vLLM exited while starting; log: $LOG" >&2; tail -n 40 "$LOG" >&2; exit 1
  fi
  if [ $((SECONDS - T0)) -gt 900 ]; then echo "vLLM not healthy after 900 s" >&2; exit 1; fi
  sleep 2
done
echo "vLLM healthy after $((SECONDS - T0)) s"

# shellcheck disable=SC2086
"$PYTHON" "$REPO_ROOT/tests/bench/bench_serving.py" --url "http://127.0.0.1:$PORT/v1" \
  --model "$SERVED_NAME" --model-dir "$MODEL_DIR" --users "$USERS" --json "$OUT" \
  ${EXTRA_BENCH_ARGS:-}
echo "figures: $OUT"
