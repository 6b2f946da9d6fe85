"""One next-edit case as the set stores it (a JSONL row) and the texts it implies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tests.bench.next_edit.hunks import CharEdit, Hunk, apply_hunks, char_edit, edited_lines

KINDS = ("window", "jump", "none")


@dataclass(frozen=True)
class Case:
    """The old file, the kept hunks of its change (the first is the user's edit, the second
    the target), and the editable window ``[start, end)`` in lines of the edited text.

    ``kind``: ``window`` (target inside the window), ``jump`` (target elsewhere in the file),
    ``none`` (nothing should be suggested: the edit was the file's only change).
    """

    id: str
    package: str
    old_version: str
    new_version: str
    path: str
    split: str
    kind: str
    text: str
    hunks: tuple[Hunk, ...]
    window: tuple[int, int]
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        row = {
            "id": self.id, "package": self.package, "old_version": self.old_version,
            "new_version": self.new_version, "path": self.path, "split": self.split,
            "kind": self.kind, "window": list(self.window), "text": self.text,
            "hunks": [h.to_json() for h in self.hunks],
        }
        return json.dumps(row, sort_keys=True, ensure_ascii=False)

    @staticmethod
    def from_json(line: str) -> Case:
        row = json.loads(line)
        return Case(
            id=row["id"], package=row["package"], old_version=row["old_version"],
            new_version=row["new_version"], path=row["path"], split=row["split"],
            kind=row["kind"], text=row["text"],
            hunks=tuple(Hunk.from_json(h) for h in row["hunks"]),
            window=(row["window"][0], row["window"][1]),
        )

    @cached_property
    def edited(self) -> str:
        """The document after the user's edit (the first hunk)."""
        return apply_hunks(self.text, [self.hunks[0]])

    @cached_property
    def user_edit(self) -> CharEdit:
        """The user's edit as one change of characters of the old text."""
        return char_edit(self.text, self.edited)

    @property
    def cursor(self) -> int:
        """Offset in the edited text where the user's typing ended."""
        return self.user_edit.start + len(self.user_edit.inserted)

    @cached_property
    def expected(self) -> tuple[str, ...]:
        """Every document that counts as the right next edit: the target applied, or (when
        more hunks lie in the window) all of the window's hunks applied. Empty for ``none``."""
        if self.kind == "none":
            return ()
        first, rest = self.hunks[0], self.hunks[1:]
        answers = [apply_hunks(self.text, [first, rest[0]])]
        start, end = self.window
        in_window = [h for h in rest if edited_lines(first, h)[0] >= start
                     and edited_lines(first, h)[1] <= end]
        if len(in_window) > 1 and rest[0] in in_window:
            answers.append(apply_hunks(self.text, [first, *in_window]))
        return tuple(answers)

    @property
    def target_lines(self) -> tuple[int, int] | None:
        """The target's lines ``[start, end)`` in the edited text (None for ``none``)."""
        return None if self.kind == "none" else edited_lines(self.hunks[0], self.hunks[1])


def load(path: Path, limit: int | None = None) -> list[Case]:
    """The cases of a JSONL file, at most ``limit`` of them (in file order)."""
    cases: list[Case] = []
    with path.open(encoding="utf-8") as rows:
        for line in rows:
            if line.strip():
                cases.append(Case.from_json(line))
            if limit is not None and len(cases) >= limit:
                break
    return cases
