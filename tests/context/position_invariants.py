"""What holds for every position analysis, whatever the text: the robustness tests check it
on odd and generated text, so that "it did not raise" is never all they show."""

from __future__ import annotations

from tree_sitter import Tree

from loomline.context.analysis import PositionInfo
from loomline.context.languages import family


def assert_consistent(
    info: PositionInfo, language_id: str | None, tree: Tree | None, text: str, offset: int
) -> None:
    """``info`` (for ``offset`` in ``text``) agrees with the text it describes."""
    at = min(max(offset, 0), len(text))  # offsets outside the text are clamped
    assert "\n" not in info.line_prefix and text[:at].endswith(info.line_prefix)
    assert "\n" not in info.line_suffix and text[at:].startswith(info.line_suffix)
    assert info.line_prefix.startswith(info.line_indent)
    assert not info.line_indent.strip(" \t")
    assert info.indent_unit and not info.indent_unit.strip(" \t")
    assert not ((info.in_comment or info.in_string) and info.multiline)
    assert info.has_tree == (tree is not None and family(language_id) is not None)
    if info.block is not None:
        assert 0 <= info.block.start_offset <= info.block.end_offset <= len(text)
        assert info.block.start_line <= info.block.end_line
    if tree is None and family(language_id) is None:
        assert info.block is None  # blocks come from a tree, or from a known family's text
