"""No filter raises on odd text, whatever the language; filters only ever shorten."""

from __future__ import annotations

from hypothesis import given, settings

from loomline.completion.cleanup import clean
from loomline.completion.cleanup.block_end import truncate_to_block
from loomline.completion.cleanup.brackets import balance_brackets
from loomline.completion.cleanup.repeats import drop_repeated_lines
from loomline.completion.cleanup.suffix_overlap import trim_suffix_overlap
from loomline.completion.cursor import cursor_at
from tests.odd_text import LANGUAGES, TEXT


@settings(max_examples=120, deadline=None)
@given(language_id=LANGUAGES, prefix=TEXT, candidate=TEXT, suffix=TEXT)
def test_postprocessing_never_raises(language_id: str | None, prefix: str, candidate: str,
                                     suffix: str) -> None:
    cursor = cursor_at(prefix + suffix, len(prefix), language_id)
    cut = truncate_to_block(candidate, cursor)
    assert candidate.startswith(cut.rstrip()) or cut == candidate
    trimmed = trim_suffix_overlap(candidate, cursor)
    assert candidate.startswith(trimmed.rstrip())
    balanced = balance_brackets(candidate, cursor)
    assert candidate.startswith(balanced)
    assert candidate.startswith(drop_repeated_lines(candidate))
    for mode in ("always", "never"):
        cursor = cursor_at(prefix + suffix, len(prefix), language_id, mode=mode)
        cleaned = clean(candidate, cursor)
        assert cleaned == cleaned.rstrip()
        assert mode == "always" or "\n" not in cleaned
