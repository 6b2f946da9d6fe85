"""The workspace folders the editor has open, and the names documents go by in prompts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from loomline.context.documents import path_to_uri, uri_to_path

# A URI's scheme: two characters at least, so that a Windows drive ("C:") is not one.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
# Schemes whose path is a file's path: files, and notebook cells (the notebook's path).
_FILE_SCHEMES = ("file:", "vscode-notebook-cell:")


# The ``engine.adapters`` key that holds for every document no other key covers.
ALL_FOLDERS = "*"
ADAPTER_KEYS = (
    "'*', an absolute folder path ('~' for home), a file: URI or a workspace folder's name "
    "(its directory's name)"
)


@dataclass(frozen=True, slots=True)
class WorkspaceFolder:
    uri: str
    name: str
    path: str | None  # absolute file-system path; None for a folder that is not a file: URI


def is_uri(text: str) -> bool:
    return bool(_SCHEME.match(text))


def file_path(uri: str) -> str | None:
    """The absolute file-system path of a ``file:`` URI (or of a plain path; a notebook cell's
    is its notebook's); None for any other scheme (``untitled:`` ...)."""
    if not is_uri(uri):
        return os.path.abspath(uri) if uri else None
    if not uri.lower().startswith(_FILE_SCHEMES):
        return None
    path = uri_to_path(uri)
    return os.path.abspath(path) if path else None


def relative_to(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` with ``/`` separators, or None when it lies outside (or
    one of them is not absolute). Never raises."""
    if not (os.path.isabs(path) and os.path.isabs(root)):
        return None
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def display_name(uri: str) -> str:
    """The last part of a URI's path (``untitled:Untitled-1`` -> ``Untitled-1``), or
    ``untitled`` when it has none."""
    if is_uri(uri):
        parsed = urlparse(uri)
        path = unquote(parsed.path or parsed.netloc or uri.split(":", 1)[1])
    else:
        path = uri
    return path.rstrip("/").rsplit("/", 1)[-1] or "untitled"


def adapter_display(adapter: str | None) -> str | None:
    """An adapter's name as the user is shown it (status, logs, ``showContext``): a name as
    given, but of a name that reads as a path only its last part (a folder's path may be
    private); None for the base model."""
    if not adapter:
        return None
    return display_name(adapter) if "/" in adapter or os.sep in adapter else adapter


def adapter_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a key of ``engine.adapters``, or None. The message never quotes
    the key (settings problems quote no free text)."""
    if key == ALL_FOLDERS:
        return None
    if not key.strip():
        return f"an empty key names no folder (keys are {ADAPTER_KEYS})"
    if is_uri(key):
        if not key.lower().startswith("file:") or file_path(key) is None:
            return f"only file: URIs name folders (keys are {ADAPTER_KEYS})"
        return None
    if os.path.isabs(os.path.expanduser(key)) or ("/" not in key and os.sep not in key):
        return None
    return f"a relative path is ambiguous (keys are {ADAPTER_KEYS})"


def _adapter_root(key: str) -> str | None:
    """The folder an ``engine.adapters`` key names by path (None: a name, or ``*``)."""
    if key == ALL_FOLDERS or adapter_key_problem(key) is not None:
        return None
    if is_uri(key):
        return file_path(key)
    expanded = os.path.expanduser(key)
    return os.path.abspath(expanded) if os.path.isabs(expanded) else None


class WorkspaceFolders:
    """The folders of the workspace, by URI, in the order the editor gave them.

    The one owner of "where is the workspace" and of relative paths: everything that names a
    document to the model, or needs the folder to index, asks here.
    """

    def __init__(self, folders: list[WorkspaceFolder] | None = None) -> None:
        self._folders: list[WorkspaceFolder] = list(folders or [])

    @classmethod
    def of(cls, *uris_or_paths: str) -> WorkspaceFolders:
        folders = cls()
        for uri in uris_or_paths:
            folders.add(uri)
        return folders

    @property
    def folders(self) -> list[WorkspaceFolder]:
        return list(self._folders)

    @property
    def root(self) -> str | None:
        """The path of the first folder on disk, or None."""
        return next((f.path for f in self._folders if f.path is not None), None)

    @property
    def name(self) -> str | None:
        """The workspace's name as the model sees it (the first folder's), or None."""
        return self._folders[0].name if self._folders else None

    def add(self, uri: str, name: str | None = None) -> None:
        """Add a folder (a URI or a path); one already there is replaced in place."""
        path = file_path(uri)
        if not is_uri(uri) and path is not None:
            uri = path_to_uri(path)
        folder = WorkspaceFolder(uri, name or display_name(path or uri), path)
        for i, existing in enumerate(self._folders):
            if existing.uri == uri:
                self._folders[i] = folder
                return
        self._folders.append(folder)

    def remove(self, uri: str) -> None:
        """Remove a folder by its URI (or one naming the same path: ``file:///a/`` is
        ``file:///a``)."""
        path = file_path(uri)
        self._folders = [
            f for f in self._folders
            if f.uri != uri and (path is None or f.path is None or f.path != path)
        ]

    def clear(self) -> None:
        self._folders = []

    def folder_for(self, uri: str) -> WorkspaceFolder | None:
        """The innermost folder holding the document at ``uri`` (a URI or a path), or None."""
        path = file_path(uri)
        if path is None:
            return None
        best: WorkspaceFolder | None = None
        for folder in self._folders:
            if folder.path is None or relative_to(path, folder.path) is None:
                continue
            if best is None or len(folder.path) > len(best.path or ""):
                best = folder
        return best

    def relative(self, uri: str) -> str:
        """The name the model sees for the document at ``uri`` (any scheme, or a path): its
        path relative to its folder, else its last path part; never the user's home layout.
        Never raises."""
        path = file_path(uri)
        folder = self.folder_for(uri) if path is not None else None
        if path is not None and folder is not None and folder.path is not None:
            relative = relative_to(path, folder.path)
            if relative and relative != ".":
                return relative
        return display_name(path or uri)

    def adapter_for(self, uri: str, adapters: Mapping[str, str]) -> str | None:
        """The LoRA adapter for the document at ``uri`` from ``engine.adapters``, or None
        (the base model).

        A key names a folder by path (absolute, ``~``, or a ``file:`` URI: any folder, also
        one inside a workspace folder) or by a workspace folder's name (``WorkspaceFolder.name``:
        its directory's name, what the model sees as the repository); the innermost named
        folder holding the document wins (a path before a name naming the same folder), else
        ``*``. An empty adapter name means the base model. Documents outside every folder
        and of other schemes (``untitled:``) get the ``*`` adapter.
        """
        path = file_path(uri)
        best_root: str | None = None
        best_adapter = adapters.get(ALL_FOLDERS)
        if path is not None:
            for root, adapter in self._adapter_roots(adapters):
                if relative_to(path, root) is None:
                    continue
                if best_root is None or len(root) > len(best_root):
                    best_root, best_adapter = root, adapter
        return best_adapter or None

    def same_adapter(self, uri: str, adapters: Mapping[str, str]) -> Callable[[str], bool]:
        """A test of whether another document (URI) or file (path) gets the LoRA adapter the
        document at ``uri`` gets: context must not cross from one adapter's folders into
        another's (each adapter is one team's or repository's own). Always true without
        adapters."""
        if not adapters:
            return lambda _other: True
        own = self.adapter_for(uri, adapters)
        return lambda other: self.adapter_for(other, adapters) == own

    def _adapter_roots(self, adapters: Mapping[str, str]) -> list[tuple[str, str]]:
        """(folder path, adapter) for each key: paths first, then the folders named."""
        by_path = [(root, a) for key, a in adapters.items() if (root := _adapter_root(key))]
        by_name = [
            (folder.path, adapter)
            for key, adapter in adapters.items()
            if key != ALL_FOLDERS and _adapter_root(key) is None
            for folder in self._folders
            if folder.name == key and folder.path is not None
        ]
        return by_path + by_name
