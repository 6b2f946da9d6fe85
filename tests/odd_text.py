"""Hypothesis strategies for odd text in every language (robustness tests share them)."""

from __future__ import annotations

from hypothesis import strategies as st

_ALPHABET = st.sampled_from(
    [*"abc xyz_0\n\t\r(){}[]:;,.'\"`#/*\\-=<>é𝄞", "\ud800", "def ", "fn ", "{\n"]
)
TEXT = st.lists(_ALPHABET, max_size=60).map("".join)
LANGUAGES = st.sampled_from(["python", "javascript", "typescriptreact", "go", "rust", "java",
                             "c", "cpp", "plaintext", None])
