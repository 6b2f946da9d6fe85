"""May a file's content leave the machine? ``.gitignore`` files and ``context.exclude`` globs.

``ContentPolicy.allows`` is the one answer every source of context asks (the document being
edited, open and recent documents, the workspace index, similar snippets, notebook cells):
a file the repository ignores, or that an exclusion glob names, is never read into a prompt.
``GitIgnoreMatcher`` holds git's ignore rules for one tree (the index walks with it too).
Globs have ``.gitignore`` semantics (pathspec's gitwildmatch): ``*.pem`` and ``.env`` name a
file anywhere, ``**/secrets/**`` everything under any ``secrets`` folder, ``/x`` the root's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pathspec

from loomline.context.workspace_folders import (
    WorkspaceFolders,
    display_name,
    file_path,
    relative_to,
)

log = logging.getLogger(__name__)

_NO_FILE = (-1, -1)  # the stamp of a directory without a .gitignore
MAX_VERDICTS = 4096


class GitIgnoreMatcher:
    """``.gitignore`` semantics for one tree: nested files, negation, directory patterns,
    ``.git/info/exclude``, plus ``extra_patterns`` (exclusion globs) that always win."""

    def __init__(self, root: Path, extra_patterns: Iterable[str] = ()) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec] = {}
        self._stamps: dict[str, tuple[int, int]] = {}  # directory -> its .gitignore's stamp
        extra = list(extra_patterns)
        exclude = root / ".git" / "info" / "exclude"
        if exclude.is_file():
            extra += _read_lines(exclude)
        self._extra = glob_spec(extra) if extra else None

    def load_directory(self, relative_dir: str) -> None:
        """Read ``<dir>/.gitignore`` if there is one (call once per directory, parents first)."""
        file = self.root / relative_dir / ".gitignore"
        self._stamps[relative_dir] = _stamp(file)
        if self._stamps[relative_dir] != _NO_FILE:
            self._specs[relative_dir] = pathspec.GitIgnoreSpec.from_lines(_read_lines(file))
        else:
            self._specs.pop(relative_dir, None)

    def refresh(self, relative_path: str) -> None:
        """(Re)read the ``.gitignore`` of every folder above ``relative_path`` that is new or
        changed since it was read: one ``stat`` per folder."""
        parts = relative_path.split("/")[:-1]
        for depth in range(len(parts) + 1):
            directory = "/".join(parts[:depth])
            stamp = _stamp(self.root / directory / ".gitignore")
            if self._stamps.get(directory) != stamp:
                self.load_directory(directory)

    def ignored(self, relative_path: str, is_dir: bool = False) -> bool:
        """Whether a path (posix, relative to the root) is ignored or excluded."""
        target = relative_path + "/" if is_dir else relative_path
        if self._extra is not None and self._extra.match_file(target):
            return True
        verdict = False
        parts = relative_path.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            spec = self._specs.get(base)
            if spec is None:
                continue
            sub = target[len(base) + 1 :] if base else target
            result = spec.check_file(sub)
            if result.include is not None:
                verdict = bool(result.include)
        return verdict


def glob_spec(globs: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """Exclusion globs as one spec; a glob pathspec cannot read is left out (and logged)."""
    valid: list[str] = []
    for glob in globs:
        try:
            pathspec.GitIgnoreSpec.from_lines([glob])
        except (ValueError, TypeError):
            log.warning("context.exclude: ignoring the invalid glob %r", glob)
            continue
        valid.append(glob)
    return pathspec.GitIgnoreSpec.from_lines(valid)


def matches_glob(path: str, globs: Iterable[str]) -> bool:
    """Whether an absolute or relative ``path`` matches one of ``globs`` (gitwildmatch, the
    path taken from the file-system root when absolute)."""
    return glob_spec(globs).match_file(_from_root(path))


class ContentPolicy:
    """The one owner of "may this file's content leave the machine".

    ``folders``: the session's workspace folders (read at each question, so folders added
    later count); each folder's ``.gitignore`` files apply to the files under it, re-read when
    they change. ``exclude``: the exclusion globs, or a function giving the current ones (the
    settings may change). Files outside every folder and documents that are not files
    (``untitled:``) have no ``.gitignore``: only the globs decide, on the path or the name.

    Every request asks for each open document, so a verdict is kept for ``recheck_s``
    seconds (a changed ``.gitignore`` counts after at most that long; changed globs or
    folders at once).
    """

    def __init__(
        self,
        folders: WorkspaceFolders | None = None,
        exclude: Sequence[str] | Callable[[], Sequence[str]] = (),
        *,
        recheck_s: float = 1.0,
    ) -> None:
        self._folders = folders if folders is not None else WorkspaceFolders()
        self._exclude = exclude
        self._recheck_s = recheck_s
        self._spec_for: tuple[tuple[str, ...], pathspec.GitIgnoreSpec] | None = None
        self._matchers: dict[str, GitIgnoreMatcher] = {}
        # uri -> (when judged, the globs and folders it was judged with, allowed)
        self._verdicts: dict[str, tuple[float, tuple[object, ...], bool]] = {}

    def allows(self, uri_or_path: str) -> bool:
        """True when the content of the document at ``uri_or_path`` (a URI of any scheme, or a
        path) may go into a prompt. Never raises: a path it cannot judge is refused."""
        now = time.monotonic()
        globs = tuple(self._exclude() if callable(self._exclude) else self._exclude)
        basis = (globs, *(f.path for f in self._folders.folders))
        known = self._verdicts.get(uri_or_path)
        if known is not None and known[1] == basis and now - known[0] < self._recheck_s:
            return known[2]
        try:
            allowed = not self._refuses(uri_or_path, globs)
        except Exception:
            log.exception("could not judge %r; keeping it out of prompts", uri_or_path)
            return False
        if len(self._verdicts) >= MAX_VERDICTS:
            self._verdicts.clear()
        self._verdicts[uri_or_path] = (now, basis, allowed)
        return allowed

    def _refuses(self, uri_or_path: str, patterns: tuple[str, ...]) -> bool:
        globs = self._globs(patterns)
        path = file_path(uri_or_path)
        if path is None:
            return globs.match_file(display_name(uri_or_path))
        folder = self._folders.folder_for(path)
        relative = relative_to(path, folder.path) if folder and folder.path else None
        if folder is None or folder.path is None or relative is None or relative == ".":
            return globs.match_file(_from_root(path))
        if globs.match_file(relative):
            return True
        matcher = self._matcher(folder.path)
        matcher.refresh(relative)
        return matcher.ignored(relative)

    def _globs(self, globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
        if self._spec_for is None or self._spec_for[0] != globs:
            self._spec_for = (globs, glob_spec(globs))
        return self._spec_for[1]

    def _matcher(self, root: str) -> GitIgnoreMatcher:
        matcher = self._matchers.get(root)
        if matcher is None:
            matcher = self._matchers[root] = GitIgnoreMatcher(Path(root))
        return matcher


def _from_root(path: str) -> str:
    """A path as globs see it: ``/`` separators, no drive, no leading ``/``."""
    return os.path.splitdrive(path)[1].replace(os.sep, "/").lstrip("/")


def _stamp(file: Path) -> tuple[int, int]:
    """(modification time, size): what tells that a file changed since it was read."""
    try:
        stat = file.stat()
        return stat.st_mtime_ns, stat.st_size
    except OSError:
        return _NO_FILE


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
