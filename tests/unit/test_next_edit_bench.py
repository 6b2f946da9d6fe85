"""The next-edit bench's own logic on tiny synthetic release pairs: which changes make a case,
what the baseline suggests, and how a suggestion is judged (tests/bench/next_edit)."""

from __future__ import annotations

from tests.bench.next_edit.baseline import OffsetEdit, repeat_last_change
from tests.bench.next_edit.case import Case
from tests.bench.next_edit.hunks import (
    Hunk,
    Limits,
    char_edit,
    diff_hunks,
    is_trivial,
    select,
    window_lines,
)
from tests.bench.next_edit.scoring import judge, summary

OLD = """\
def area(width, height):
    check(height)
    check(width)
    return width * height


def unrelated():
    return 1
"""
# a rename of `width` to `w`: the signature first, then its two uses
NEW = OLD.replace("width", "w")


def make_case(old: str, new: str, limits: Limits | None = None) -> Case:
    chosen = select(old, new, limits or Limits())
    assert chosen is not None
    kind, hunks = chosen
    return Case(id="t", package="p", old_version="1", new_version="2", path="p/m.py",
                split="dev", kind=kind, text=old, hunks=tuple(hunks),
                window=window_lines(hunks[0]))


def test_a_rename_makes_a_window_case_whose_target_is_the_next_use() -> None:
    case = make_case(OLD, NEW)
    assert case.kind == "window"
    assert case.hunks[0] == Hunk(0, ("def area(width, height):",), ("def area(w, height):",))
    assert case.edited.startswith("def area(w, height):\n    check(height)\n    check(width)\n")
    # the next hunk holds both uses (adjacent lines); it is the rest of the released change
    assert case.expected == (NEW,)
    assert case.target_lines == (2, 4)
    assert case.cursor == len("def area(w")


def test_all_the_window_hunks_applied_also_count_as_right() -> None:
    old = "a = f(x)\nb = 1\nc = f(x)\nd = 2\ne = f(x)\n"
    case = make_case(old, old.replace("f(x)", "g(x)"))
    assert case.kind == "window" and len(case.hunks) == 3
    assert case.expected == ("a = g(x)\nb = 1\nc = g(x)\nd = 2\ne = f(x)\n",
                             old.replace("f(x)", "g(x)"))


def test_reformatting_and_version_bumps_are_trivial_hunks() -> None:
    assert is_trivial(Hunk(0, ("x = f(a,b)",), ("x = f(",  "    a,", "    b,", ")")))
    assert is_trivial(Hunk(0, ("s = 'a'",), ('s = "a"',)))
    assert is_trivial(Hunk(0, ('__version__ = "1.2.3"',), ('__version__ = "1.2.4"',)))
    assert is_trivial(Hunk(0, ("# Copyright 2023",), ("# Copyright 2024",)))
    assert not is_trivial(Hunk(0, ("timeout = 5",), ("timeout = 10",)))
    assert not is_trivial(Hunk(0, ("x = f(a, b)",), ("x = f(b, a)",)))


def test_which_file_changes_make_cases() -> None:
    one_change = OLD.replace("return 1", "return 2")
    assert select(OLD, one_change, Limits())[0] == "none"  # type: ignore[index]
    # the only other change is a version bump: neither a next edit nor a clean 'none'
    bumped = one_change + '__version__ = "2"\n'
    assert select(OLD + '__version__ = "1"\n', bumped, Limits()) is None
    # a hunk over the size bound, or too many hunks, make no case
    big = OLD.replace("    return 1\n", "".join(f"    x{i} = {i}\n" for i in range(9)))
    assert select(OLD, NEW.replace("    return 1\n", big.split("unrelated():\n")[1]),
                  Limits()) is None
    assert select(OLD, NEW, Limits(max_hunks=1)) is None
    # the next hunk far below the window: a jump case
    far = OLD + "\n" * 40 + "y = width\n"
    renamed = far.replace("area(width", "area(w").replace("y = width", "y = w")
    assert make_case(far, renamed).kind == "jump"
    assert select(OLD, OLD, Limits()) is None


def test_diff_and_char_edit() -> None:
    hunks = diff_hunks("a\nb\nc\n", "a\nB\nc\nd\n")
    assert hunks == [Hunk(1, ("b",), ("B",)), Hunk(3, (), ("d",))]
    assert char_edit("count = 1", "counter = 1").start == len("count")
    assert char_edit("count = 1", "counter = 1").inserted == "er"


def test_the_baseline_repeats_the_rename_at_the_next_use() -> None:
    case = make_case(OLD, NEW)
    edits = repeat_last_change(case.text, case.edited, case.user_edit)
    assert edits == [OffsetEdit(case.edited.index("check(width") + 6,
                                case.edited.index("check(width") + 11, "w")]
    # the target hunk also renames the use on the next line: a step towards it, not all of it
    outcome = judge(case, edits, 0.001)
    assert (outcome.shown, outcome.right, outcome.location, outcome.undo, outcome.partial) == (
        True, False, True, False, True)
    # a rename used once more is the baseline's exact answer
    single = make_case(OLD.replace("width * height", "height"), NEW.replace("w * height",
                                                                            "height"))
    edits = repeat_last_change(single.text, single.edited, single.user_edit)
    assert judge(single, edits, 0.001).right


def test_the_baseline_widens_a_suffix_to_the_whole_word() -> None:
    old = "count = 0\nx = 1\ncount += 1\nprint(count)\n"
    new = old.replace("count", "counter")
    case = make_case(old, new)
    edits = repeat_last_change(case.text, case.edited, case.user_edit)
    assert edits == [OffsetEdit(len("counter = 0\nx = 1\n"), len("counter = 0\nx = 1\ncount"),
                                "counter")]
    assert not judge(case, edits, None).right  # the target hunk also renames the print's
    assert judge(case, edits, None).partial


def test_the_baseline_suggests_nothing_after_an_insertion_or_without_a_next_occurrence() -> None:
    old = "a = 1\nb = 2\nc = 3\n"
    inserted = make_case(old, "a = 1\nprint(a)\nb = 2\nc = 4\n")
    assert repeat_last_change(inserted.text, inserted.edited, inserted.user_edit) == []
    lone = make_case(old, "a = 10\nb = 2\nc = 4\n")
    assert repeat_last_change(lone.text, lone.edited, lone.user_edit) == []


def test_judging_undo_wrong_noop_and_nothing() -> None:
    case = make_case(OLD, NEW)
    at = case.edited.index("(w,") + 1
    undo = judge(case, [OffsetEdit(at, at + 1, "width")], 0.002)
    assert undo.shown and undo.undo and not undo.right
    at = case.edited.index("height)\n")
    wrong = judge(case, [OffsetEdit(at, at + 6, "h")], 0.003)
    assert wrong.shown and not wrong.right and not wrong.undo
    noop = judge(case, [OffsetEdit(0, 3, "def")], 0.004)
    assert noop.noop and not noop.shown
    nothing = judge(case, [], 0.005)
    assert not nothing.shown and not nothing.right
    overlapping = judge(case, [OffsetEdit(0, 5, "x"), OffsetEdit(2, 6, "y")], None)
    assert overlapping.error is not None and not overlapping.shown

    figures = summary([undo, wrong, noop, nothing])
    assert figures["shown and wrong"].endswith("(2/2)")
    assert figures["undoes the user's typing"].startswith(" 50.0%")
    assert figures["latency p50 / p90, ms"] == "3 / 5"  # nearest rank
