"""The user's recent edits as they may leave the machine: excluded files never contribute
(the ContentPolicy decides), secrets are redacted from the rest. For next-edit prompts and,
behind ``context.editHistory``, as a piece of ordinary completion prompts."""

from __future__ import annotations

from collections.abc import Callable

from loomline.completion.next_edit.formats import EditEvent
from loomline.completion.prompt import PromptPiece
from loomline.context.documents import uri_to_path
from loomline.context.edit_history import EditHistory
from loomline.context.redaction import redact_text

EDITS_KIND = "edits"
EDITS_SOURCE = "recent_edits.diff"


def recent_edits(
    history: EditHistory,
    allows: Callable[[str], bool],
    relative: Callable[[str], str],
    limit: int = 6,
) -> list[EditEvent]:
    """The ``limit`` most recent hunks of every document ``allows`` (a URI -> may it be
    sent), oldest first, with workspace-relative paths and secrets redacted."""
    events: list[EditEvent] = []
    for hunk in reversed(history.hunks()):
        if len(events) >= limit:
            break
        if not allows(hunk.uri):
            continue
        path = relative(hunk.uri)
        filename = uri_to_path(hunk.uri)
        events.append(
            EditEvent(
                path=path,
                diff=redact_text(hunk.unified_diff(path), filename),
                old=redact_text(hunk.old_text, filename),
                new=redact_text(hunk.new_text, filename),
            )
        )
    events.reverse()
    return events


def edits_piece(events: list[EditEvent]) -> PromptPiece | None:
    """The recent edits as one context piece of a completion prompt (unified diffs, oldest
    first), or None when there are none."""
    diffs = [e.diff for e in events if e.diff]
    if not diffs:
        return None
    return PromptPiece(
        source=EDITS_SOURCE,
        text="\n".join(diffs) + "\n",
        reason="the user's recent edits (context.editHistory)",
        kind=EDITS_KIND,
    )
