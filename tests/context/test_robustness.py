"""Nothing in the context engine raises on odd text, whatever the language."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.analysis import analyze_position
from loomline.context.languages import parse
from loomline.context.parse_errors import adds_parse_errors
from loomline.context.retrieval import collect_context
from tests.context.position_invariants import assert_consistent
from tests.odd_text import LANGUAGES, TEXT


@settings(max_examples=120, deadline=None)
@given(language_id=LANGUAGES, text=TEXT, offset=st.integers(-2, 70), with_tree=st.booleans())
def test_analysis_never_raises(language_id: str | None, text: str, offset: int,
                               with_tree: bool) -> None:
    tree = parse(language_id, text) if with_tree else None
    info = analyze_position(language_id, tree, text, offset)
    assert isinstance(info.multiline, bool)
    if info.block is not None:
        assert 0 <= info.block.start_offset <= info.block.end_offset <= len(text)
    assert_consistent(info, language_id, tree, text, offset)


@settings(max_examples=120, deadline=None)
@given(language_id=LANGUAGES, prefix=TEXT, candidate=TEXT, suffix=TEXT)
def test_parse_check_never_raises(language_id: str | None, prefix: str, candidate: str,
                                  suffix: str) -> None:
    added = adds_parse_errors(language_id, prefix, candidate, suffix)
    assert added is True or added is False
    if language_id in ("plaintext", None):
        assert added is False  # no grammar, nothing to check
    assert adds_parse_errors(language_id, prefix, "", suffix) is False  # nothing added


@settings(max_examples=40, deadline=None)
@given(language_id=LANGUAGES, text=TEXT, offset=st.integers(-2, 70))
def test_collect_context_without_index_never_raises(language_id: str | None, text: str,
                                                    offset: int) -> None:
    pieces = collect_context(
        text, "/tmp/doc.txt", language_id, offset, None, {"/tmp/o.py": text}, {}
    )
    # Without an index, only snippets of the other open file (at most max_snippets).
    assert len(pieces) <= 3
    for piece in pieces:
        assert (piece.path, piece.kind) == ("/tmp/o.py", "snippet")
        assert piece.text and piece.text in text
        assert piece.start_line <= piece.end_line
