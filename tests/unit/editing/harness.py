"""A document with the cursor marked █, a scripted model answer, and the document as the
editor holds it once the completion is applied: the whole request path (service, clean-up,
landing), in any line ending and under any URI."""

from __future__ import annotations

from loomline.completion.cleanup.streaming import StreamingCleanup
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.languages import FAMILIES, SUFFIXES
from loomline.context.positions import to_lf, with_line_ending
from loomline.context.workspace_folders import WorkspaceFolders
from tests.text_model import ReferenceText
from tests.unit.cleanup.marks import CURSOR, cursor_for

ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
# Each language with a grammar (one a family) and its first file suffix, without the dot.
EXTENSIONS = {
    language: next(suffix[1:] for suffix, of in SUFFIXES.items() if of == language)
    for language in dict.fromkeys(FAMILIES.values())
}


async def complete_marked(
    language_id: str, marked: str, answer: str, *, ending: str = "lf",
    uri: str | None = None, multiline: str = "auto", folders: tuple[str, ...] = (),
) -> tuple[Completion | Skip, str]:
    r"""The result for the cursor at █ of ``marked`` (written with ``\n``, sent in
    ``ending``), the model answering ``answer``; and the document's text (in ``\n``) once the
    result is applied over its range (unchanged for a skip). ``folders``: the workspace's
    folders (paths or URIs)."""
    settings = Settings.model_validate({"backend": "fake",
                                        "completion": {"multiline": multiline}})
    engine = FakeEngine(FakeSettings(response=answer, chunk_delay_ms=0))
    await engine.start()
    store = DocumentStore()
    workspace_folders = WorkspaceFolders.of(*folders)
    service = CompletionService(
        settings, engine, documents=store, folders=workspace_folders,
        workspace=WorkspaceContext(settings, store, folders=workspace_folders),
    )
    break_ = ENDINGS[ending]
    head, tail = marked.split(CURSOR)
    text = with_line_ending(head + tail, break_)
    document = store.open(uri or f"file:///w/a.{EXTENSIONS[language_id]}", language_id, 1,
                          text)
    position = document.position_at(len(with_line_ending(head, break_)))
    result = await service.complete(document, position, explicit=True)
    applied = ReferenceText(text)
    if isinstance(result, Completion):
        assert result.text == with_line_ending(to_lf(result.text), break_)  # its own breaks
        end = result.range_end
        applied.apply(result.position.line, result.position.character, end.line,
                      end.character, result.text)
    lf = applied.text.replace("\r\n", "\n").replace("\r", "\n")
    return result, lf


def streamed(marked: str, language_id: str, answer: str, size: int) -> str:
    """What is inserted for ``answer`` streamed in chunks of ``size`` characters, read until
    the clean-up says the answer is finished (then the engine is no longer read)."""
    cleanup = StreamingCleanup(cursor_for(marked, language_id, multiline=True))
    for start in range(0, len(answer), size):
        partial = cleanup.feed(answer[start : start + size])
        if partial is not None and partial.finished:
            break
    return cleanup.final()
