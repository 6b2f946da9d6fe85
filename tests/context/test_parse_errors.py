"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.parse_errors import adds_parse_errors, parse_error_count


def _split(marked: str) -> tuple[str, str]:
    prefix, suffix = marked.split("█")
    return prefix, suffix


def test_parse_error_count() -> None:
    assert parse_error_count("python", "def f():\n    return 1\n") == 0
    count = parse_error_count("python", "def f(:\n    return 1\n")
    assert count is not None and count > 0
    assert parse_error_count("plaintext", "anything") is None
    assert parse_error_count("c", "int main() { return 0 }") == 1  # MISSING ";"


@pytest.mark.parametrize(
    ("language_id", "marked", "candidate", "expected"),
    [
        ("python", "def f(x):\n    return █\n", "x + 1", False),
        ("python", "def f(x):\n    return █\n", "x + )", True),
        ("python", "def f(x):\n    return g(█\n", "x)", False),  # fixes an existing error
        ("javascript", "function f() {\n  █\n}\n", "return {a: 1};", False),
        ("javascript", "function f() {\n  █\n}\n", "return }}", True),
        ("go", "package p\nfunc f() {\n\t█\n}\n", "x := 1\n\t_ = x", False),
        ("plaintext", "█", "(((", False),
    ],
)
def test_adds_parse_errors(language_id: str, marked: str, candidate: str, expected: bool) -> None:
    prefix, suffix = _split(marked)
    assert adds_parse_errors(language_id, prefix, candidate, suffix) is expected


_PIECES = st.sampled_from(["x", " ", "\n", "    ", "(", ")", ":", "def ", "return ", "é", "𝄞",
                           "'", "1", "+", "{", "}", "if y:\n        "])


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 60), cut_end=st.integers(0, 60),
       candidate=st.lists(_PIECES, max_size=8).map("".join))
def test_incremental_error_check_matches_fresh_parses(cut: int, cut_end: int, candidate: str
                                                      ) -> None:
    text = "def f(a):\n    x = 'é𝄞'\n    return a + 1\n\n\nclass C:\n    y = [1, 2]\n"
    start, end = sorted((cut, cut_end))
    prefix, suffix = text[:start], text[end:]
    before = parse_error_count("python", prefix + suffix)
    after = parse_error_count("python", prefix + candidate + suffix)
    assert before is not None and after is not None
    assert adds_parse_errors("python", prefix, candidate, suffix) is (after > before)


def test_parse_check_on_a_long_file_looks_near_the_cursor() -> None:
    function = "def f_{k}(a):\n    if a:\n        return a + {k}\n    return 0\n\n\n"
    head = "".join(function.format(k=k) for k in range(800))
    tail = "".join(function.format(k=k) for k in range(800, 1600))
    prefix = head + "def target(x):\n    "
    suffix = "\n    return x\n\n\n" + tail
    assert len(prefix) > 40_000
    assert not adds_parse_errors("python", prefix, "y = x * 2", suffix)
    assert adds_parse_errors("python", prefix, "y = (x * 2", suffix)
    assert adds_parse_errors("python", prefix, "y = (x * 2", suffix, context_chars=10**9)
    broken_far_away = "def broken(:\n    pass\n\n\n" + prefix
    assert not adds_parse_errors("python", broken_far_away, "y = x * 2", suffix)


@pytest.mark.parametrize(
    ("language_id", "marked", "candidate", "expected"),
    [
        ("javascript", "nums.map(█);\n", "x => x * 2) +", True),
        ("javascript", "nums.map(█);\n", "x => x * 2)", False),
        ("go", "package p\nfunc f() {\n\tg(█)\n}\n", "a, b) +", True),
        ("rust", "fn f() {\n    g(█);\n}\n", "a, b)", False),
        ("python", "x = g(█)\n", "a, b) +", True),
    ],
)
def test_errors_of_a_candidate_that_replaces_text_count_against_the_document_with_it(
    language_id: str, marked: str, candidate: str, expected: bool
) -> None:
    prefix, suffix = _split(marked)
    replaced, rest = suffix[:1], suffix[1:]
    assert adds_parse_errors(language_id, prefix, candidate, rest, replaced=replaced) is expected
    # Without the replaced closer in view, the document's own count misses it: no error added.
    assert not adds_parse_errors(language_id, prefix, candidate, rest)
