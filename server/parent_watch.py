"""Exit with the editor: watch the process that ``initialize`` names as the client's.

The LSP's ``processId`` is the client's process; "if the parent process is not alive then the
server should exit". A pipe usually closes when the editor dies, but not when another process
inherited it, and a TCP client's death may go unnoticed by the socket for a long time.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds between two looks at the parent: cheap (one system call), and a few seconds late
# is soon enough for a process nobody talks to any more.
POLL_S = 3.0


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux: its /proc state)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return True
    try:
        # "pid (name) S ...": the state follows the last ')' (a name may hold parentheses).
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): the signal check alone decides
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class ParentWatch:
    """Polls the client's process every ``every_s`` seconds once ``watch(pid)`` is called,
    and calls ``on_gone`` once when it has died."""

    def __init__(self, on_gone: Callable[[], object], every_s: float = POLL_S) -> None:
        self._on_gone = on_gone
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None
        self.gone = False

    @property
    def watching(self) -> bool:
        """Whether a process is being polled (not before ``watch``, nor after it ended)."""
        return self._task is not None and not self._task.done()

    def watch(self, pid: object) -> None:
        """Start watching ``pid`` (the ``processId`` of ``initialize``: an int, or null)."""
        if self._task is not None or not isinstance(pid, int) or isinstance(pid, bool):
            return
        if pid <= 0:
            return
        if not process_alive(pid):
            # Gone already, or (more likely) a client on another machine or in a container
            # naming a process of its own: nothing here to watch.
            log.warning("the client's process %d is not visible here; not watching it", pid)
            return
        self._task = asyncio.get_running_loop().create_task(self._poll(pid))

    async def _poll(self, pid: int) -> None:
        while process_alive(pid):
            await asyncio.sleep(self._every_s)
        log.error("the client's process %d has ended; exiting", pid)
        self.gone = True
        self._on_gone()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
