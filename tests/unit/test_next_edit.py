"""Next edits, the pure steps: window, prompt formats (golden prompts), reading the answer,
post-processing (no change, undo, parse break, outside the window), the stream's stop, and
the rename heuristic. ``|`` marks the cursor in the documents below."""

from __future__ import annotations

import pytest

from loomline.completion.next_edit.answer_fit import covered_part, with_unmentioned_head
from loomline.completion.next_edit.formats import (
    EditEvent,
    format_for,
    formats,
    read_answer,
    render_prompt,
)
from loomline.completion.next_edit.postprocess import (
    SuggestedEdit,
    completed,
    reproduces_window_end,
    review,
    undoes,
    window_edit,
)
from loomline.completion.next_edit.renames import next_use_of_rename, renamed_identifier
from loomline.completion.next_edit.service import whole_answer
from loomline.completion.next_edit.window import EditWindow, window_around
from loomline.completion.results import Skip
from loomline.context.documents import Document
from loomline.context.edit_history import Hunk

QWEN = formats()["qwen-chat"]

AREA = "def area(radius):\n    return 3.14 * r * r\n\n\nprint(area(2))\n"
RENAME = Hunk("file:///w/area.py", 0, ("def area(r):",), ("def area(radius):",), 1.0, 1.0)


def whole(text: str, line: int = 0, column: int = 0, size: int = 20) -> EditWindow:
    return window_around(text, line, column, size, 10, 10)


# ---- window ------------------------------------------------------------------------------
def test_the_window_holds_the_cursor_a_third_from_its_top_and_stays_in_the_text() -> None:
    text = "\n".join(f"line {n}" for n in range(100))
    window = window_around(text, 50, 2, 21, 5, 3)
    assert (window.start_line, window.end_line) == (43, 64)
    assert window.before == tuple(f"line {n}" for n in range(38, 43))
    assert window.after == ("line 64", "line 65", "line 66")
    assert window.text_with_cursor("<C>").split("\n")[7] == "li<C>ne 50"
    top = window_around(text, 1, 0, 21, 5, 3)
    bottom = window_around(text, 99, 0, 21, 5, 3)
    assert (top.start_line, top.end_line, top.before) == (0, 21, ())
    assert (bottom.start_line, bottom.end_line, bottom.after) == (79, 100, ())
    tiny = window_around("x", 5, 9, 21, 5, 3)  # past the end: clamped
    assert tiny.lines == ("x",) and tiny.text_with_cursor("|") == "x|"


def test_the_window_before_the_last_edit() -> None:
    window = whole(AREA)
    assert window.before_edit(RENAME)[0] == "def area(r):"
    assert window.before_edit(None) == window.lines
    elsewhere = Hunk("file:///w/area.py", 40, ("a",), ("b",), 1.0, 1.0)
    assert window.before_edit(elsewhere) == window.lines


# ---- formats -----------------------------------------------------------------------------
def test_formats_are_chosen_by_model_id_or_setting() -> None:
    assert set(formats()) == {"qwen-chat", "zeta", "sweep"}
    assert format_for("Qwen/Qwen2.5-Coder-0.5B-Instruct").name == "qwen-chat"
    assert format_for("zed-industries/zeta").name == "zeta"
    assert format_for("sweepai/sweep-next-edit-1.5B").name == "sweep"
    assert format_for("someone/unknown-model").name == "qwen-chat"
    assert format_for("zed-industries/zeta", "sweep").name == "sweep"
    with pytest.raises(KeyError):
        format_for("x", "nonsense")


EVENT = EditEvent(
    path="area.py",
    diff="--- a/area.py\n+++ b/area.py\n@@ -1 +1 @@\n-def area(r):\n+def area(radius):",
    old="def area(r):",
    new="def area(radius):",
)
SMALL = "import math\ndef area(radius):\n    return 3.14 * r * r\nprint(area(2))\n"


def small_window() -> EditWindow:
    return window_around(SMALL, 1, 15, 2, 1, 1)


def test_qwen_chat_prompt_golden() -> None:
    prompt = render_prompt(formats()["qwen-chat"], small_window(), [EVENT], path="area.py",
                           fence="python", original_window=("def area(r):", "    return"))
    user = prompt.split("<|im_start|>user\n", 1)[1]
    assert user == (
        "Recent edits:\n"
        "```diff\n--- a/area.py\n+++ b/area.py\n@@ -1 +1 @@\n-def area(r):\n"
        "+def area(radius):\n```\n"
        "\n"
        "The file area.py:\n"
        "```python\n"
        "import math\n"
        "<|region_start|>\n"
        "def area(radius<|cursor|>):\n"
        "    return 3.14 * r * r\n"
        "<|region_end|>\n"
        "print(area(2))\n"
        "```\n"
        "The cursor is at <|cursor|>. Rewrite the lines between <|region_start|> and "
        "<|region_end|> with the next edit made, without the markers.<|im_end|>\n"
        "<|im_start|>assistant\n```python\n"
    )
    assert prompt.startswith("<|im_start|>system\n")


def test_zeta_prompt_golden() -> None:
    prompt = render_prompt(formats()["zeta"], small_window(), [EVENT], path="area.py",
                           fence="python", original_window=())
    assert prompt.endswith(
        "### User Edits:\n\n"
        "User edited area.py:\n```diff\n@@ -1 +1 @@\n-def area(r):\n+def area(radius):\n```\n\n"
        "### User Excerpt:\n\n"
        "```area.py\n"
        "<|start_of_file|>\n"
        "import math\n"
        "<|editable_region_start|>\n"
        "def area(radius<|user_cursor_is_here|>):\n"
        "    return 3.14 * r * r\n"
        "<|editable_region_end|>\n"
        "print(area(2))\n"
        "```\n\n"
        "### Response:\n"
    )
    assert prompt.startswith("### Instruction:\n")


def test_sweep_prompt_golden() -> None:
    original = ("def area(r):", "    return 3.14 * r * r")
    prompt = render_prompt(formats()["sweep"], small_window(), [EVENT], path="area.py",
                           fence="python", original_window=original)
    assert prompt == (
        "<|file_sep|>area.py\n"
        "import math\ndef area(radius):\n    return 3.14 * r * r\nprint(area(2))\n"
        "<|file_sep|>area.py.diff\noriginal:\ndef area(r):\nupdated:\ndef area(radius):\n"
        "<|file_sep|>original/area.py:2:3\ndef area(r):\n    return 3.14 * r * r\n"
        "<|file_sep|>current/area.py:2:3\ndef area(radius<|cursor|>):\n    return 3.14 * r * r\n"
        "<|file_sep|>updated/area.py:2:3\n"
    )


def test_reading_answers() -> None:
    qwen, zeta = formats()["qwen-chat"], formats()["zeta"]
    answer = read_answer(qwen, "a = 1\nb<|cursor|> = 2\n```\nand some talk")
    assert answer.lines == ("a = 1", "b = 2") and answer.complete
    cut = read_answer(qwen, "a = 1\nb = ")
    assert cut.lines == ("a = 1",) and not cut.complete
    assert read_answer(qwen, "a = 1\nb = 2", finished=True).lines == ("a = 1", "b = 2")
    zeta_answer = read_answer(
        zeta, "```area.py\n<|editable_region_start|>\nx = 1\n<|editable_region_end|>\n```"
    )
    assert zeta_answer.lines == ("x = 1",) and zeta_answer.complete
    # A model that repeats the region's markers: they are not code.
    assert read_answer(qwen, "<|region_start|>\nx\n<|region_end|>\n```").lines == ("x",)


# The region's markers bound the answer: what a model writes before <|region_start|> or after
# <|region_end|> is the file's text around the region that the prompt showed, echoed.
REGION_TEXT = "x = 0\ndef f(rad):\n    a = 1\n    return r\nprint(f(1))\nprint(f(2))\n"


@pytest.mark.parametrize(
    "answer_text",
    [
        # The region's last line rewritten, then the marker, then the next lines run on (cut).
        "def f(rad):\n    a = 1\n    return rad\n<|region_end|>\nprint(f(1))\nprint(f(2))\npr",
        # The same ended by the fence.
        "def f(rad):\n    a = 1\n    return rad\n<|region_end|>\nprint(f(1))\n```",
        # The line before the region echoed first.
        "x = 0\n<|region_start|>\ndef f(rad):\n    a = 1\n    return rad\n<|region_end|>\n```",
    ],
)
def test_an_answer_ends_at_the_region_end_marker_and_starts_after_its_start(
    answer_text: str,
) -> None:
    window = window_around(REGION_TEXT, 2, 5, 3, 1, 2)  # lines 1..3, x = 0 before
    assert window.lines == ("def f(rad):", "    a = 1", "    return r")
    answer = whole_answer(QWEN, window, answer_text)
    assert answer == ("def f(rad):", "    a = 1", "    return rad")
    edit = review(window, answer, last_edit=None, text=REGION_TEXT, language_id="python")
    assert isinstance(edit, SuggestedEdit)
    assert edit.applied_to(REGION_TEXT) == REGION_TEXT.replace("return r\n", "return rad\n")
    # As it streams, the marker ends the answer (the stream stops there).
    assert read_answer(QWEN, answer_text[:answer_text.index("<|region_end|>") + 14]).complete


# ---- post-processing ---------------------------------------------------------------------
def test_the_edit_is_the_tight_range_of_the_change() -> None:
    window = whole(AREA)
    answer = ("def area(radius):", "    return 3.14 * radius * radius", "", "",
              "print(area(2))", "")
    edit = window_edit(window, answer)
    assert edit is not None
    assert (edit.start, edit.end, edit.text) == ((1, 19), (1, 23), "adius * radius")
    assert edit.applied_to(AREA) == AREA.replace("r * r", "radius * radius")
    assert window_edit(window, window.lines) is None


def test_lines_inserted_or_deleted_inside_a_window_that_starts_lower() -> None:
    text = "a\nb\nc\nd\ne\nf\n"
    window = window_around(text, 3, 0, 3, 0, 0)  # lines 2..4: c d e
    inserted = window_edit(window, ("c", "d", "x", "e"))
    assert inserted is not None and inserted.applied_to(text) == "a\nb\nc\nd\nx\ne\nf\n"
    deleted = window_edit(window, ("c", "e"))
    assert deleted is not None and deleted.applied_to(text) == "a\nb\nc\ne\nf\n"
    # Nothing outside the window changes, whatever the answer.
    rewritten = window_edit(window, ("C", "D"))
    assert rewritten is not None and rewritten.applied_to(text) == "a\nb\nC\nD\nf\n"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        # Nothing, or only trailing whitespace.
        (("def area(radius):", "    return 3.14 * r * r", "", "", "print(area(2))", ""),
         "changes nothing"),
        (("def area(radius):  ", "    return 3.14 * r * r", "", "", "print(area(2))", ""),
         "changes nothing"),
        # Back to what the user replaced, wholly or in part.
        (("def area(r):", "    return 3.14 * r * r", "", "", "print(area(2))", ""),
         "undoes the last edit"),
        (("def area(rad):", "    return 3.14 * r * r", "", "", "print(area(2))", ""),
         "undoes the last edit"),
        # Most of the window gone.
        (("def area(radius):",), "deletes most of the window"),
        # A parse that held, broken.
        (("def area(radius):", "    return 3.14 * (r * r", "", "", "print(area(2))", ""),
         "breaks the parse"),
    ],
)
def test_suggestions_that_are_dropped(answer: tuple[str, ...], reason: str) -> None:
    result = review(whole(AREA), answer, last_edit=RENAME, text=AREA, language_id="python")
    assert isinstance(result, str) and reason in result


def test_a_suggestion_that_continues_the_edit_is_kept() -> None:
    answer = ("def area(radius: float):", "    return 3.14 * radius * radius", "", "",
              "print(area(2))", "")
    result = review(whole(AREA), answer, last_edit=RENAME, text=AREA, language_id="python")
    assert not isinstance(result, str)
    assert not undoes(whole(AREA), answer, RENAME)
    # A file that did not parse before may not parse after: that is not this edit's doing.
    broken = AREA + "def (\n"
    assert not isinstance(
        review(whole(broken), (*answer, "def (", ""), last_edit=RENAME, text=broken,
               language_id="python"), str)


def test_undoing_a_deleted_line_is_an_undo() -> None:
    text = "a = 1\nc = 3\n"
    deleted = Hunk("file:///w/x.py", 0, ("a = 1", "b = 2"), ("a = 1",), 1.0, 1.0)
    assert undoes(whole(text), ("a = 1", "b = 2", "c = 3", ""), deleted)
    assert not undoes(whole(text), ("a = 1", "c = 30", ""), deleted)


def test_the_stream_stops_once_the_window_end_is_written() -> None:
    window = whole("x = 1\ny = 2\n\nprint(x)\nprint(y)")
    assert not reproduces_window_end(window, ("x = 10", "y = 2"))
    assert reproduces_window_end(window, ("x = 10", "y = 2", "", "print(x)", "print(y)"))
    # The last lines occur twice: more of them must match.
    twice = whole("a\nend\nb\nend")
    assert not reproduces_window_end(twice, ("a", "end"))
    assert reproduces_window_end(twice, ("a", "end", "b", "end"))


def test_an_answer_cut_short_is_completed_from_the_window_when_it_rejoins_it() -> None:
    window = whole("x = 1\ny = 2\nz = 3\nw = 4\nv = 5")
    assert completed(window, ("x = 10", "y = 2", "z = 3")) == (
        "x = 10", "y = 2", "z = 3", "w = 4", "v = 5")
    assert completed(window, ("x = 10", "q = 2")) is None


# ---- renames -----------------------------------------------------------------------------
def test_a_renamed_identifier_is_recognised() -> None:
    assert renamed_identifier(RENAME) == ("r", "radius", 15)
    two = Hunk("u", 0, ("f(a, b)",), ("f(x, y)",), 1.0, 1.0)
    assert renamed_identifier(two) is None
    more = Hunk("u", 0, ("f(a)",), ("f(x) + 1",), 1.0, 1.0)
    assert renamed_identifier(more) is None


def test_the_next_use_in_the_scope_is_the_next_edit() -> None:
    text = ("def area(radius):\n    s = 3.14 * r * r\n    return s\n\n"
            "def other(r):\n    return r\n")
    edit = next_use_of_rename(text, RENAME)
    assert edit is not None and (edit.start, edit.end, edit.text) == ((1, 15), (1, 16), "radius")
    # Once renamed there, the next one; none in the next function.
    once = edit.applied_to(text)
    again = Hunk("u", 1, ("    s = 3.14 * r * r",), ("    s = 3.14 * radius * r",), 2.0, 2.0)
    edit2 = next_use_of_rename(once, again)
    assert edit2 is not None and edit2.start == (1, 24)
    done = edit2.applied_to(once)
    last = Hunk("u", 1, ("    s = 3.14 * radius * r",), ("    s = 3.14 * radius * radius",),
                3.0, 3.0)
    assert next_use_of_rename(done, last) is None


def test_renames_in_brace_languages() -> None:
    text = "function area(radius) {\n  return 3.14 * r * r;\n}\nconst r = 2;\n"
    hunk = Hunk("u", 0, ("function area(r) {",), ("function area(radius) {",), 1.0, 1.0)
    edit = next_use_of_rename(text, hunk)
    assert edit is not None and edit.start == (1, 16)


def test_a_format_may_name_the_rename_the_last_edit_made() -> None:
    from dataclasses import replace

    base = formats()["qwen-chat"]
    noted = replace(base, prompt="{rename_note}{window}")
    window = small_window()
    shown = render_prompt(noted, window, [], path="a.py", fence="python", original_window=(),
                          renamed=("r", "radius"))
    assert shown.startswith("The last edit renamed `r` to `radius`.\n")
    plain = render_prompt(noted, window, [], path="a.py", fence="python", original_window=())
    assert plain == window.text_with_cursor(base.cursor)


@pytest.mark.parametrize(
    "answer_text",
    [
        "a = f(1)\nb = 3\n```",  # the window's lines, then the fence
        "a = f(1)\nb = 3\n\n```",  # a blank line before the fence
        "a = f(1)\nb = 3\n\n\n```",
    ],
)
def test_a_window_at_the_end_of_the_document_keeps_its_final_line_break(
    answer_text: str,
) -> None:
    # A fresh tester's case: the suggestion removed the file's last line break (or, with a
    # blank line before the fence, added one), since the window held the empty "line" after it.
    text = "a = f()\nb = 2\n"
    window = window_around(text, 0, 6, window_lines=20, context_before=0, context_after=0)
    answer = read_answer(QWEN, answer_text).lines
    edit = review(window, answer, last_edit=None, text=text, language_id="python")
    assert isinstance(edit, SuggestedEdit)
    assert edit.applied_to(text) == "a = f(1)\nb = 3\n"


def test_a_window_at_the_end_of_a_document_without_a_final_break_adds_none() -> None:
    text = "a = f()\nb = 2"
    window = window_around(text, 0, 6, window_lines=20, context_before=0, context_after=0)
    answer = read_answer(QWEN, "a = f(1)\nb = 3\n\n```").lines
    edit = review(window, answer, last_edit=None, text=text, language_id="python")
    assert isinstance(edit, SuggestedEdit)
    assert edit.applied_to(text) == "a = f(1)\nb = 3"


def test_blank_lines_the_answer_adds_inside_the_document_are_kept() -> None:
    text = "a = 1\nb = 2\nc = 3\nd = 4\n"
    window = window_around(text, 0, 0, window_lines=2, context_before=0, context_after=0)
    assert not window.at_document_end
    answer = ("a = 1", "b = 2", "")
    edit = review(window, answer, last_edit=None, text=text, language_id="python")
    assert isinstance(edit, SuggestedEdit)
    assert edit.applied_to(text) == "a = 1\nb = 2\n\nc = 3\nd = 4\n"


# What the 0.5B wrote (tests/bench/bench_next_edit_deadline.py, add-field-long) for a window
# inside the document that ends with the two blank lines before the next function: the class
# copied unchanged, its code block closed right after the last non-blank line. That left the
# blank lines out, and the review made of it an edit deleting them.
CLASS_TAIL = (
    "class Point:\n    def __init__(self, x, y, z):\n        self.x = x\n        self.y = y\n"
    "\n    def norm(self):\n        return math.hypot(self.x, self.y)\n"
)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    ("answer_text", "expected"),
    [
        # The window copied, less its blank lines at the end: nothing changes.
        (CLASS_TAIL + "```", None),
        (CLASS_TAIL + "\n```", None),
        # With an edit: the edit, and the blank lines stay.
        (CLASS_TAIL.replace("self.y = y\n", "self.y = y\n        self.z = z\n") + "```",
         "        self.y = y\n        self.z = z\n"),
    ],
)
def test_blank_lines_an_answer_leaves_out_at_a_window_end_inside_the_document_stay(
    answer_text: str, expected: str | None, ending: str
) -> None:
    text = ("import math\n\n\n" + CLASS_TAIL + "\n\ndef use():\n    return Point(1, 2, 3)\n"
            ).replace("\n", ending)
    document = Document("file:///w/point.py", "python", 1, text)
    window = window_around(document.lf_text, 4, 31, 11, 0, 0)  # lines 1..11
    assert not window.at_document_end and window.lines[-2:] == ("", "")
    answer = whole_answer(QWEN, window, answer_text)
    assert not isinstance(answer, Skip)
    result = review(window, answer, last_edit=None, text=document.lf_text,
                    language_id="python")
    if expected is None:
        assert result == "the suggestion changes nothing"
        return
    assert isinstance(result, SuggestedEdit), result
    after = result.applied_to(document.lf_text)
    assert after == document.lf_text.replace("        self.y = y\n", expected)


# ---- answers that do not cover the window (a fresh tester's cases) -------------------------
def numbered_file(size: int = 60, final_break: bool = True) -> list[str]:
    """``vN = N`` lines, with ``def f(rad):`` / ``    return r`` at lines 30-31: the user
    just renamed the parameter ``r`` to ``rad``."""
    lines = [f"v{n} = {n}" for n in range(size)]
    lines[30], lines[31] = "def f(rad):", "    return r"
    return [*lines, ""] if final_break else lines


RENAMED_R = Hunk("u", 30, ("def f(r):",), ("def f(rad):",), 1.0, 1.0)


def fixed_window(window: EditWindow) -> list[str]:
    return [line.replace("return r", "return rad") for line in window.lines]


def reviewed(window: EditWindow, text: str, answer_text: str) -> str:
    """The document as the suggestion the model's ``answer_text`` leaves it ("" for none)."""
    answer = whole_answer(QWEN, window, answer_text)
    if isinstance(answer, Skip):
        return ""
    edit = review(window, answer, last_edit=RENAMED_R, text=text, language_id="python")
    return "" if isinstance(edit, str) else edit.applied_to(text)


@pytest.mark.parametrize("reached", [9, 12])
@pytest.mark.parametrize("ending", ["\n", ""])
def test_an_answer_cut_short_changes_only_the_lines_it_reached(reached: int, ending: str) -> None:
    text = "\n".join(numbered_file())
    window = window_around(text, 30, 9, 20, 0, 0)  # lines 24..43: `return r` is its 8th
    answer_text = "\n".join(fixed_window(window)[:reached]) + ending  # no end marker
    assert reviewed(window, text, answer_text) == text.replace("return r\n", "return rad\n")
    # Cut inside the changed line: an unfinished line is never kept.
    assert reviewed(window, text, "\n".join(fixed_window(window)[:8])) == ""


def test_a_cut_answer_past_its_last_match_rewrites_alike_lines_and_inserts_others() -> None:
    window = whole("a = 1\nb = 2\nc = 3\nd = 4")
    assert covered_part(window, ("a = 1", "b = 20")) == ("a = 1", "b = 20", "c = 3", "d = 4")
    assert covered_part(window, ("a = 1", "print(a)")) == (
        "a = 1", "print(a)", "b = 2", "c = 3", "d = 4")
    assert covered_part(window, ()) == window.lines


@pytest.mark.parametrize("final_break", [True, False])
@pytest.mark.parametrize("run_on", [1, 5])
@pytest.mark.parametrize("chunked", [True, False])
def test_lines_run_on_past_the_window_end_are_dropped_whole(
    final_break: bool, run_on: int, chunked: bool
) -> None:
    lines = numbered_file(final_break=final_break)
    text = "\n".join(lines)
    window = window_around(text, 30, 9, 20, 0, 0)
    assert not window.at_document_end
    after = lines[window.end_line:window.end_line + run_on]
    answer_text = "\n".join([*fixed_window(window), *after])
    # Ended by the marker, or stopped (by the stream's stop) in the middle of a line.
    answer_text = answer_text[:-2] if chunked else answer_text + "\n```"
    assert reviewed(window, text, answer_text) == text.replace("return r\n", "return rad\n")


@pytest.mark.parametrize(
    ("ending", "answer_text", "expected"),
    [
        # Without a final line break the window's end is the document's: past it, run-on.
        ("", "x = 1\ny = x + 1\nz = y\n```", "x = 1\ny = x + 1"),
        ("", "x = 1\ny = x + 1\nz ", "x = 1\ny = x + 1"),
        # With one, a line added after the last is an edit, and only a whole one.
        ("\n", "x = 1\ny = x + 1\nz = y\n```", "x = 1\ny = x + 1\nz = y\n"),
        ("\n", "x = 1\ny = x + 1\nz ", "x = 1\ny = x + 1\n"),
    ],
)
def test_lines_past_the_document_end_are_whole_or_dropped(
    ending: str, answer_text: str, expected: str
) -> None:
    text = "x = 1\ny = x + 1" + ending
    window = window_around(text, 1, 9, 20, 0, 0)
    answer = whole_answer(QWEN, window, answer_text)
    assert not isinstance(answer, Skip)
    result = review(window, answer, last_edit=None, text=text, language_id="python")
    assert (text if isinstance(result, str) else result.applied_to(text)) == expected


@pytest.mark.parametrize(
    ("typed", "answer_first_line"),
    [
        (("def f(r):", "def f(radius):"), "def f(rad):"),  # part of what was typed, taken back
        (("def f(rad):", "def f(radi):"), "def f(rad):"),  # typed during the request
        (("def f(r):", "def f(radi):"), "def f(rad):"),  # the same, the typing one hunk
        (("def f(r):", "def f(radius):"), "def f(radXius):"),
        (("def f(r):", "def f(radius):"), "def f(radiu):"),
    ],
)
def test_a_suggestion_that_changes_what_was_just_typed_is_dropped(
    typed: tuple[str, str], answer_first_line: str
) -> None:
    text = f"{typed[1]}\n    return r\n"
    hunk = Hunk("u", 0, (typed[0],), (typed[1],), 1.0, 1.0)
    answer = (answer_first_line, "    return rad", "")
    assert undoes(whole(text), answer, hunk)
    result = review(whole(text), answer, last_edit=hunk, text=text, language_id="python")
    assert result == "the suggestion undoes the last edit"
    # Continuing it, at its edge, is the next edit.
    assert not undoes(whole(text), (f"{typed[1][:-2]}: float):", "    return r", ""), hunk)


@pytest.mark.parametrize("skipped", [1, 5])
def test_window_lines_an_answer_leaves_out_at_its_start_are_kept(skipped: int) -> None:
    text = "\n".join(numbered_file())
    window = window_around(text, 30, 9, 20, 0, 0)
    assert window.start_line < 30 - skipped
    answer_text = "\n".join(fixed_window(window)[skipped:]) + "\n```"
    assert reviewed(window, text, answer_text) == text.replace("return r\n", "return rad\n")
    # Lines the answer drops at the cursor are its edit.
    at_cursor = window_around(text, 30, 0, 20, 0, 0)
    start = 30 - at_cursor.start_line
    dropped = (*at_cursor.lines[:start], *at_cursor.lines[start + 2:])
    assert with_unmentioned_head(at_cursor, dropped) == dropped
