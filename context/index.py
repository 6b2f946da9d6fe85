"""Definitions across the workspace: functions, classes, methods and types, by name.

``WorkspaceIndex.build`` walks a root folder (respecting ``.gitignore`` files and exclusion
globs, skipping binary and huge files), parses every file of a known language with
tree-sitter and keeps each definition's name, kind, place, signature and first doc line.
It is a plain blocking method with a progress callback and a cancellation check: the server
runs it in a thread. ``update_file`` / ``remove_file`` keep it current after saves and
watched-file events. Caps on files and definitions bound its memory.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from loomline.context.languages import language_id_for_path, shared_parser
from loomline.context.privacy import GitIgnoreMatcher
from loomline.context.symbols import extract_definitions

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

ALWAYS_SKIPPED = (".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
                  ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode")


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: str  # function | method | class | struct | interface | enum | trait | type | ...
    path: str  # absolute
    line: int  # zero-based
    end_line: int
    signature: str
    doc: str  # first line of the docstring or leading comment, or ""
    container: str | None  # enclosing class / impl / receiver type
    language_id: str


@dataclass(frozen=True, slots=True)
class _FileEntry:
    language_id: str
    mtime_ns: int
    lines: int
    definitions: tuple[Definition, ...]


class WorkspaceIndex:
    def __init__(
        self,
        root: str | Path,
        *,
        exclude: Sequence[str] = (),
        max_files: int = 20_000,
        max_file_bytes: int = 1_000_000,
        max_definitions: int = 400_000,
        max_definitions_per_file: int = 2_000,
    ) -> None:
        self.root = Path(root).resolve()
        self.exclude = list(exclude)
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.max_definitions = max_definitions
        self.max_definitions_per_file = max_definitions_per_file
        self.truncated = False  # a cap was hit
        self._files: dict[str, _FileEntry] = {}
        self._by_name: dict[str, list[Definition]] = {}
        self._by_basename: dict[str, list[str]] = {}
        self._by_directory: dict[str, list[str]] = {}
        self._definition_count = 0
        self._lock = threading.RLock()
        self._matcher = GitIgnoreMatcher(self.root, self.exclude)

    # -- building ---------------------------------------------------------------------------

    def build(
        self, progress: ProgressCallback | None = None, cancelled: CancelCheck | None = None
    ) -> bool:
        """Index the whole root; ``False`` if cancelled part-way (what was indexed stays)."""
        self._matcher = GitIgnoreMatcher(self.root, self.exclude)
        files = self._discover(cancelled)
        if files is None:
            return False
        total = len(files)
        if progress is not None:
            progress(0, total)
        step = max(1, total // 100)
        for done, path in enumerate(files, start=1):
            if cancelled is not None and cancelled():
                return False
            self._index_file(path)
            if progress is not None and (done % step == 0 or done == total):
                progress(done, total)
        seen = {str(path) for path in files}
        with self._lock:
            for stale in [p for p in self._files if p not in seen]:
                self._forget(stale)
        return True

    def _discover(self, cancelled: CancelCheck | None) -> list[Path] | None:
        found: list[Path] = []
        stack = [""]
        while stack:
            if cancelled is not None and cancelled():
                return None
            relative_dir = stack.pop()
            self._matcher.load_directory(relative_dir)
            try:
                with os.scandir(self.root / relative_dir) as entries:
                    items = sorted(entries, key=lambda e: e.name)
            except OSError:
                continue
            subdirs: list[str] = []
            for entry in items:
                relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in ALWAYS_SKIPPED and not self._matcher.ignored(
                            relative, is_dir=True
                        ):
                            subdirs.append(relative)
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if language_id_for_path(entry.name) is None:
                        continue
                    if self._matcher.ignored(relative):
                        continue
                    if entry.stat().st_size > self.max_file_bytes:
                        continue
                except OSError:
                    continue
                found.append(self.root / relative)
                if len(found) >= self.max_files:
                    self.truncated = True
                    return found
            stack.extend(reversed(subdirs))
        return found

    def _index_file(self, path: Path) -> bool:
        language_id = language_id_for_path(path)
        parser = shared_parser(language_id)
        if language_id is None or parser is None:
            return False
        data: bytes | None = None
        try:
            stat = path.stat()
            if stat.st_size <= self.max_file_bytes:
                data = path.read_bytes()
        except OSError:
            pass
        if data is None or b"\0" in data[:8192]:  # unreadable, too big or binary
            with self._lock:
                self._forget(str(path))
            return False
        try:
            tree = parser.parse(data)
            raw = extract_definitions(tree, data, language_id, self.max_definitions_per_file)
        except Exception:
            log.warning("indexing %s failed", path, exc_info=True)
            raw = []
        key = sys.intern(str(path))
        with self._lock:
            self._forget(key)
            room = self.max_definitions - self._definition_count
            if len(raw) > room:
                raw = raw[: max(room, 0)]
                self.truncated = True
            definitions = tuple(
                Definition(
                    name=sys.intern(d.name), kind=sys.intern(d.kind), path=key, line=d.line,
                    end_line=d.end_line, signature=d.signature, doc=d.doc,
                    container=sys.intern(d.container) if d.container else None,
                    language_id=sys.intern(language_id),
                )
                for d in raw
            )
            self._files[key] = _FileEntry(language_id, stat.st_mtime_ns, data.count(b"\n") + 1,
                                          definitions)
            self._by_basename.setdefault(path.name, []).append(key)
            self._by_directory.setdefault(os.path.dirname(key), []).append(key)
            for definition in definitions:
                self._by_name.setdefault(definition.name, []).append(definition)
            self._definition_count += len(definitions)
        return True

    def _forget(self, key: str) -> None:
        entry = self._files.pop(key, None)
        if entry is None:
            return
        for table, slot in ((self._by_basename, os.path.basename(key)),
                            (self._by_directory, os.path.dirname(key))):
            paths = table.get(slot, [])
            if key in paths:
                paths.remove(key)
            if not paths:
                table.pop(slot, None)
        for definition in entry.definitions:
            bucket = self._by_name.get(definition.name)
            if bucket is not None:
                bucket[:] = [d for d in bucket if d.path != key]
                if not bucket:
                    del self._by_name[definition.name]
        self._definition_count -= len(entry.definitions)

    # -- keeping current --------------------------------------------------------------------

    def _relative(self, path: str | Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _wanted(self, relative: str) -> bool:
        parts = relative.split("/")
        if any(part in ALWAYS_SKIPPED for part in parts[:-1]):
            return False
        for depth in range(1, len(parts)):
            if self._matcher.ignored("/".join(parts[:depth]), is_dir=True):
                return False
        return language_id_for_path(relative) is not None and not self._matcher.ignored(relative)

    def update_file(self, path: str | Path) -> bool:
        """Re-index one file after a save or a watched-file event; ``True`` if it is indexed."""
        relative = self._relative(path)
        if relative is None:
            return False
        full = self.root / relative
        if relative.endswith(".gitignore"):
            self._matcher.load_directory(relative.rpartition("/")[0])
            return False
        if not full.is_file() or not self._wanted(relative):
            self.remove_file(full)
            return False
        with self._lock:
            if str(full) not in self._files and len(self._files) >= self.max_files:
                self.truncated = True
                return False
        return self._index_file(full)

    def remove_file(self, path: str | Path) -> None:
        """Forget a deleted file, or every file under a deleted folder."""
        relative = self._relative(path)
        if relative is None:
            return
        key = str(self.root / relative)
        with self._lock:
            if key in self._files:
                self._forget(key)
                return
            prefix = key.rstrip("/") + "/"
            for stale in [p for p in self._files if p.startswith(prefix)]:
                self._forget(stale)

    # -- lookups ----------------------------------------------------------------------------

    def lookup(self, name: str) -> list[Definition]:
        """Definitions named ``name`` (exact), in a stable order."""
        with self._lock:
            found = list(self._by_name.get(name, ()))
        return sorted(found, key=lambda d: (d.path, d.line))

    def count(self, name: str) -> int:
        """How many definitions are named ``name`` (cheap; no copy)."""
        with self._lock:
            return len(self._by_name.get(name, ()))

    def definitions_in(self, path: str | Path) -> list[Definition]:
        with self._lock:
            entry = self._files.get(str(Path(path)))
        return list(entry.definitions) if entry is not None else []

    def has_file(self, path: str | Path) -> bool:
        with self._lock:
            return str(Path(path)) in self._files

    def files(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def files_named(self, basename: str) -> list[str]:
        with self._lock:
            return sorted(self._by_basename.get(basename, ()))

    def files_in_directory(self, directory: str | Path) -> list[str]:
        """Indexed files directly inside ``directory`` (absolute)."""
        with self._lock:
            return sorted(self._by_directory.get(str(Path(directory)), ()))

    def directories(self) -> list[str]:
        """Every folder (absolute) that holds an indexed file."""
        with self._lock:
            return sorted(self._by_directory)

    @property
    def file_count(self) -> int:
        return len(self._files)

    @property
    def definition_count(self) -> int:
        return self._definition_count

    @property
    def line_count(self) -> int:
        with self._lock:
            return sum(entry.lines for entry in self._files.values())
