"""The next-edit bench's LSP path: a case's edit typed into ``loomline lsp`` leaves the
server holding exactly the edited text; the stand-in server's copilotInlineEdit answer (the
baseline behind LSP, ranges in UTF-16) scores what the baseline scores in process; and
Loomline's own answer to a rename, read the same way, is scored right."""

from __future__ import annotations

import sys

import pytest

from tests.bench.bench_next_edit import baseline, over_lsp
from tests.bench.next_edit.case import Case
from tests.bench.next_edit.hunks import Limits, select, window_lines
from tests.bench.next_edit.session import Session
from tests.conftest import server_command

# A rename: the signature first, then (after an astral character, two UTF-16 units) a use.
OLD = """\
def area(width, height):  # 🙂 both sides
    label = "🙂🙂"
    check("🙂", width)
    return height


def other():
    return "🙂"
"""
NEW = OLD.replace("(width,", "(size,").replace('"🙂", width', '"🙂", size')
# an insertion that spans lines, typed after an emoji on its line
INSERTED = OLD.replace("return height\n", "return height  # 🙂 done\n    # twice\n", 1)


def case_of(old: str, new: str, name: str) -> Case:
    chosen = select(old, new, Limits())
    assert chosen is not None
    kind, hunks = chosen
    return Case(id=name, package="p", old_version="1", new_version="2", path="p/m.py",
                split="dev", kind=kind, text=old, hunks=tuple(hunks),
                window=window_lines(hunks[0]))


@pytest.mark.parametrize("typing", ["chars", "whole"])
async def test_the_replay_leaves_the_server_holding_the_edited_text(
    typing: str, tmp_path: object
) -> None:
    session = Session(server_command("lsp"), {"backend": "fake"})
    await session.start(None)
    try:
        for index, (old, new) in enumerate([(OLD, NEW), (OLD, INSERTED)]):
            case = case_of(old, new, f"case{index}")
            uri = f"file:///tmp/next-edit-replay/{typing}/{index}.py"
            opened = await session.open(case, uri, typing)  # raises when the copies differ
            assert opened.version > 1
            session.close(uri)
    finally:
        await session.stop()


async def test_the_standin_over_lsp_scores_what_the_baseline_scores_in_process() -> None:
    session = Session([sys.executable, "-m", "tests.bench.next_edit.standin_server"], {})
    await session.start(None)
    predict = over_lsp(session, timeout_s=30)
    try:
        case = case_of(OLD, NEW, "rename")
        assert case.kind == "window"
        opened = await session.open(case, "file:///tmp/next-edit-standin/m.py", "chars")
        over_the_wire, in_process = await predict(opened), baseline(opened)
        assert over_the_wire.error is None
        assert over_the_wire.right and in_process.right
        assert (over_the_wire.shown, over_the_wire.location, over_the_wire.undo) == (
            in_process.shown, in_process.location, in_process.undo)
    finally:
        await session.stop()


async def test_loomline_answering_a_rename_is_scored_right_through_the_bench() -> None:
    # The fake backend's empty answer is no suggestion, so the server's rename heuristic
    # answers: the next use of the old name, after an astral character on its line.
    session = Session(server_command("lsp"), {"backend": "fake", "fake": {"response": ""}})
    await session.start(None)
    try:
        opened = await session.open(case_of(OLD, NEW, "rename"),
                                    "file:///tmp/next-edit-loomline/m.py", "chars")
        outcome = await over_lsp(session, timeout_s=30)(opened)
        assert outcome.error is None
        assert (outcome.shown, outcome.right, outcome.location, outcome.undo) == (
            True, True, True, False)
        # the same edit with nothing left to rename: nothing shown, nothing wrong
        done = case_of(OLD.replace('"🙂", width', '"🙂", 0'), NEW.replace('"🙂", size', '"🙂", 0')
                       .replace("return height", "return 0"), "nothing left")
        opened = await session.open(done, "file:///tmp/next-edit-loomline/n.py", "chars")
        outcome = await over_lsp(session, timeout_s=30)(opened)
        assert outcome.error is None and not outcome.shown
    finally:
        await session.stop()
