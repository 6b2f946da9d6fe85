"""Next-edit prompt formats, one per model family, loaded from ``formats.json`` (data, not
code paths): rendering a request into a prompt and reading the rewritten window out of the
model's answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from loomline.completion.next_edit.window import EditWindow
from loomline.completion.templates import model_key, named_records, read_data

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class NextEditFormat:
    """A family's prompt: ``prompt`` with the placeholders ``{edits}``, ``{path}``,
    ``{fence}``, ``{before}``, ``{window}`` (cursor marked), ``{after}``, ``{file}``,
    ``{original_window}``, ``{start}``, ``{end}`` (1-based lines), ``{start_of_file}``,
    ``{rename_note}``;
    ``edit``: one recent edit, with ``{path}``, ``{diff}`` (a unified diff), ``{hunk}`` (its
    ``@@`` part), ``{old}`` and ``{new}``. The answer is the text after ``answer_start`` (if
    the model writes it) up to ``answer_end``, or up to ``region_end`` where the prompt marks
    the region's end in the file and the model writes that marker (what follows it is the
    file's next lines, echoed). ``window_lines``: the window size the model was trained on
    (0: the setting decides)."""

    name: str
    prompt: str
    edit: str
    cursor: str
    answer_end: str
    stop: tuple[str, ...]
    no_edits: str = ""
    answer_start: str = ""
    region_end: str = ""
    start_of_file: str = ""
    window_lines: int = 0
    context_lines_before: int = 20
    context_lines_after: int = 10
    rename_note: str = ""  # with ``{old}`` and ``{new}``: the last edit renamed a name
    about: str = ""

    def marker_lines(self) -> set[str]:
        """Lines that are only a marker of this format (dropped from an answer)."""
        found = {self.cursor, self.answer_start.strip(), self.answer_end.strip(),
                 self.region_end.strip()}
        found.update(("<|region_start|>", "<|region_end|>", "<|editable_region_start|>",
                      "<|editable_region_end|>"))
        return {m for m in found if m}


@dataclass(frozen=True, slots=True)
class EditEvent:
    """One recent edit as the prompt shows it (text already cleared to be sent)."""

    path: str
    diff: str  # unified diff with ---/+++ headers
    old: str
    new: str

    @property
    def hunk(self) -> str:
        """The diff from its first ``@@`` line on."""
        lines = self.diff.split("\n")
        at = next((i for i, line in enumerate(lines) if line.startswith("@@")), 0)
        return "\n".join(lines[at:])


@cache
def _data() -> dict[str, object]:
    return read_data(Path(__file__).with_name("formats.json"))


@cache
def formats() -> dict[str, NextEditFormat]:
    return named_records(_data()["formats"], NextEditFormat)


def format_for(model_id: str, setting: str = AUTO) -> NextEditFormat:
    """The format a setting names, else the one the model id implies (``models`` in the
    data, first match wins), else the default. Raises KeyError for an unknown name."""
    table = formats()
    if setting != AUTO:
        return table[setting]
    key = model_key(model_id)
    models = _data()["models"]
    assert isinstance(models, list)
    for entry in models:
        if entry["match"] in key:
            return table[entry["format"]]
    default = _data()["default"]
    assert isinstance(default, str)
    return table[default]


def _lines_text(lines: Sequence[str]) -> str:
    """Lines, each ending with a line break (nothing for none)."""
    return "".join(line + "\n" for line in lines)


def render_prompt(
    fmt: NextEditFormat,
    window: EditWindow,
    edits: Sequence[EditEvent],
    *,
    path: str,
    fence: str,
    original_window: Sequence[str],
    renamed: tuple[str, str] | None = None,
) -> str:
    """The prompt for ``window`` of the file at ``path`` after ``edits`` (oldest first);
    ``renamed``: the ``(old, new)`` name when the last edit renamed one identifier (for a
    format's ``{rename_note}``)."""
    shown = "".join(
        fmt.edit.format(path=e.path, diff=e.diff, hunk=e.hunk, old=e.old, new=e.new)
        for e in edits
    )
    values = {
        "edits": shown or fmt.no_edits,
        "path": path,
        "fence": fence,
        "before": _lines_text(window.before),
        "window": window.text_with_cursor(fmt.cursor),
        "after": _lines_text(window.after),
        "file": "\n".join((*window.before, *window.lines, *window.after)),
        "original_window": "\n".join(original_window),
        "start": window.start_line + 1,
        "end": window.end_line,
        "start_of_file": fmt.start_of_file
        if window.start_line - len(window.before) == 0
        else "",
        "rename_note": fmt.rename_note.format(old=renamed[0], new=renamed[1])
        if renamed and fmt.rename_note else "",
    }
    return fmt.prompt.format(**values)


@dataclass(frozen=True, slots=True)
class Answer:
    """The window as the model rewrote it, and whether the model finished it (wrote its
    end marker) rather than being cut short."""

    lines: tuple[str, ...]
    complete: bool


def read_answer(fmt: NextEditFormat, text: str, finished: bool = False) -> Answer:
    """The rewritten window in the model's ``text``: after ``answer_start`` when present,
    up to ``answer_end``, without marker lines and cursor markers. ``finished``: the model
    stopped by itself (a stop string the engine kept out of ``text``), so the text is whole;
    otherwise, without the end marker, only the whole lines written so far count."""
    start = fmt.answer_start.strip()
    if start and start in text:
        text = text.split(start, 1)[1].removeprefix("\n")
    ends = [text.find(end) for end in (fmt.answer_end, fmt.region_end) if end and end in text]
    marked = bool(ends)
    complete = marked or finished
    if complete:
        text = text[:min(ends)] if marked else text
        # The line break before the end marker ends the window's last line.
        text = text.removesuffix("\n")
        lines = text.split("\n") if text else []
    else:
        lines = text.split("\n")[:-1]  # the last line may be unfinished
    markers = fmt.marker_lines()
    kept = [line.replace(fmt.cursor, "") for line in lines if line.strip() not in markers]
    return Answer(tuple(kept), complete)
