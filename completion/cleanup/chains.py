"""A line that closes a block and opens the next clause of the same statement: ``} else {``,
``} else if (x) {``, ``} catch (e) {``, ``} finally {``, ``}).then(x => {``, ``}, {``.

It starts with the closer the editor typed after the cursor (or the one on the next line), but
it is no end of the answer's block: it reopens what it closes, so the typed closer goes on to
close the clause it opens (or the answer's own closer replaces it). Read as an end, the
answer lost its ``else`` branch.
"""

from __future__ import annotations

from loomline.context.lexing import CLOSERS, OPENERS, tokens


def reopened(line: str, language_id: str | None) -> tuple[int, list[str]] | None:
    """For ``line`` that starts with closers and then reopens, in reverse order, the very
    kinds it closed: how many it starts with, and the brackets it leaves open (outermost
    first; ``} else {``: 1 and ``{``, ``}).then(x => {``: 2 and ``(``, ``{``). None for any
    other line (``});``, ``}``, ``} while (x);``, one whose later brackets do not match)."""
    closed: list[str] = []  # the closers it starts with, before any opener
    opened: list[str] = []
    seen_opener = False
    for token in tokens(line, language_id):
        if token.kind != "bracket":
            continue
        if token.text in OPENERS:
            opened.append(token.text)
            seen_opener = True
        elif opened:
            if opened[-1] != CLOSERS[token.text]:
                return None
            opened.pop()
        elif seen_opener:
            return None  # it closes more than it opened on the line past its leading closers
        else:
            closed.append(token.text)
    if not closed or not line.lstrip().startswith(closed[0]):
        return None
    mirrored = [CLOSERS[closer] for closer in reversed(closed)]
    return (len(closed), opened) if opened[: len(mirrored)] == mirrored else None
