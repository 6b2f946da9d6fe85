"""Fill-in-the-middle training samples cut from a repository the way completions are asked.

Each sample puts the cursor at the start of a statement (``context.statements``, tree-sitter),
takes the statement out of the file (its first line, or all of it when it is a block of at
most ``MAX_MIDDLE_LINES`` lines) and asks the real completion service for the prompt of that
cursor: the same windows, repository-level context from the workspace index, secrets redacted
(``CompletionService.prepare``). The statement is the answer (the "middle").

Files are those the workspace index walks (``.gitignore`` files, ``context.exclude``), each also
allowed by ``ContentPolicy``; files too large to complete in are left out. Samples whose answer
holds a secret are dropped (the model must never learn to write one, nor the placeholder).
Held-out files (``heldout_share`` of them, chosen by a hash of the path) give only held-out
samples, so the held-out metrics measure code the adapter never saw.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import CompletionService
from loomline.completion.settings import Settings, SettingsStore
from loomline.completion.tokens import TokenCounter
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore, path_to_uri
from loomline.context.index import WorkspaceIndex
from loomline.context.languages import language_id_for_path
from loomline.context.positions import to_lf
from loomline.context.redaction import redact_text
from loomline.context.statements import StatementSpan, statement_spans
from loomline.context.workspace_folders import WorkspaceFolders, relative_to

log = logging.getLogger(__name__)

MAX_MIDDLE_LINES = 8
# Progress: (files or samples done, total, what is being done).
SampleProgress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class FimSample:
    path: str  # relative to the workspace folder, "/" separated
    line: int  # zero-based line of the cursor
    prompt: str  # what the completion service sends the model for this cursor
    middle: str  # the answer: the statement the cursor's line lost
    multiline: bool  # the answer spans lines


@dataclass(slots=True)
class SampleSet:
    train: list[FimSample] = field(default_factory=list)
    heldout: list[FimSample] = field(default_factory=list)
    heldout_files: list[str] = field(default_factory=list)
    files: int = 0  # files samples were cut from
    refused_files: int = 0  # walked by the index but refused by the content policy
    secret_answers: int = 0  # samples dropped because their answer held a secret

    def data_hash(self) -> str:
        """sha256 of every sample (train and held-out, in order): the data an adapter saw."""
        rows = [[s.path, s.line, s.prompt, s.middle] for s in [*self.train, *self.heldout]]
        return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Candidate:
    path: Path
    span: StatementSpan
    multiline: bool


def is_heldout(relative: str, share: float, seed: int) -> bool:
    """Whether a file (by its workspace-relative path) is held out: a stable hash decides."""
    digest = hashlib.sha256(f"{seed}:{relative}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def workspace_files(
    root: Path, settings: Settings, workspace: WorkspaceContext
) -> tuple[list[Path], int]:
    """The files samples may come from (sorted) and how many the policy refused: those the
    index walks (its own index when context is off), each allowed by the content policy and
    within ``completion.maxFileBytes``."""
    index = workspace.build_index()
    if index is None:
        index = WorkspaceIndex(root, exclude=settings.context.exclude,
                               max_files=settings.context.max_index_files)
        index.build()
    files: list[Path] = []
    refused = 0
    for name in index.files():
        path = Path(name)
        if not workspace.policy.allows(str(path)):
            refused += 1
            continue
        try:
            if path.stat().st_size > settings.completion.max_file_bytes:
                continue
        except OSError:
            continue
        files.append(path)
    return files, refused


def middle_of(text: str, span: StatementSpan, multiline: bool) -> tuple[int, int]:
    """The answer's ``(start, end)`` in ``text``: the whole statement, or its first line."""
    if multiline:
        return span.start, span.end
    line_end = text.find("\n", span.start)
    return span.start, len(text) if line_end == -1 else line_end


def _candidates(path: Path, text: str) -> list[_Candidate]:
    found = []
    for span in statement_spans(language_id_for_path(path), text):
        lines = span.end_line - span.start_line + 1
        found.append(_Candidate(path, span, 1 < lines <= MAX_MIDDLE_LINES))
    return found


class SampleCutter:
    """Cuts samples from one workspace folder with the real completion service's prompts.

    ``settings``: those of the completions the adapter is for (prompt budget, context, exclusion
    globs); ``counter``: the model's tokenizer. ``middle_tokens`` caps an answer's length (a
    block over it is taken by its first line; a line over it is skipped).
    """

    def __init__(self, root: Path, settings: Settings, counter: TokenCounter,
                 *, middle_tokens: int = 96) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.counter = counter
        self.middle_tokens = middle_tokens
        store = SettingsStore(settings)
        self.folders = WorkspaceFolders.of(str(self.root))
        self.documents = DocumentStore()
        self.workspace = WorkspaceContext(store, self.documents, self.folders)
        # The service only prepares prompts here: its engine is never started.
        self.service = CompletionService(store, FakeEngine(settings.fake), folders=self.folders,
                                         counter=counter, workspace=self.workspace,
                                         policy=self.workspace.policy)

    def cut(self, *, max_train: int, max_heldout: int, heldout_share: float = 0.1,
            seed: int = 0, progress: SampleProgress | None = None) -> SampleSet:
        """Up to ``max_train`` training and ``max_heldout`` held-out samples, chosen at random
        (``seed``) among every statement start of the folder's files."""
        files, refused = workspace_files(self.root, self.settings, self.workspace)
        result = SampleSet(refused_files=refused)
        relative = {path: relative_to(str(path), str(self.root)) or path.name for path in files}
        heldout = {p for p in files if is_heldout(relative[p], heldout_share, seed)}
        if len(files) >= 2 and not heldout and heldout_share > 0:
            heldout = {min(files, key=lambda p: hashlib.sha256(relative[p].encode()).digest())}
        if heldout == set(files):
            heldout = set()  # one file: nothing to train on otherwise
        result.heldout_files = sorted(relative[p] for p in heldout)
        texts: dict[Path, str] = {}
        train_pool: list[_Candidate] = []
        heldout_pool: list[_Candidate] = []
        for done, path in enumerate(files, start=1):
            text = _read(path)
            if text is not None:
                texts[path] = text
                (heldout_pool if path in heldout else train_pool).extend(_candidates(path, text))
            if progress is not None:
                progress(done, len(files), "reading files")
        result.files = len(texts)
        rng = random.Random(seed)
        rng.shuffle(train_pool)
        rng.shuffle(heldout_pool)
        wanted = [(train_pool, max_train, result.train),
                  (heldout_pool, max_heldout, result.heldout)]
        total = min(len(train_pool), max_train) + min(len(heldout_pool), max_heldout)
        for pool, limit, into in wanted:
            for candidate in pool:
                if len(into) >= limit:
                    break
                sample = self._sample(candidate, texts[candidate.path], relative[candidate.path],
                                      result)
                if sample is not None:
                    into.append(sample)
                    if progress is not None:
                        progress(len(result.train) + len(result.heldout), total, "cutting samples")
        return result

    def _sample(self, candidate: _Candidate, text: str, relative: str,
                result: SampleSet) -> FimSample | None:
        multiline = candidate.multiline
        start, end = middle_of(text, candidate.span, multiline)
        middle = text[start:end].rstrip()
        if multiline and self.counter.count(middle) > self.middle_tokens:
            multiline = False
            start, end = middle_of(text, candidate.span, multiline)
            middle = text[start:end].rstrip()
        if not middle.strip() or self.counter.count(middle) > self.middle_tokens:
            return None
        if redact_text(middle, str(candidate.path)) != middle:
            result.secret_answers += 1
            return None
        uri = path_to_uri(candidate.path)
        hole = text[:start] + text[end:]
        document = self.documents.open(uri, language_id_for_path(candidate.path) or "", 1, hole)
        try:
            prompt, _cursor = self.service.prepare(document, document.position_at(start))
        finally:
            self.documents.close(uri)
        if not prompt.text:
            return None
        return FimSample(relative, candidate.span.start_line, prompt.text, middle, multiline)


def _read(path: Path) -> str | None:
    """A file's text with ``\\n`` line breaks (as prompts have them); None when unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return to_lf(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
