"""server/parent_watch.py: a process counts as alive until it is gone or a zombie."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from loomline.server import parent_watch
from loomline.server.parent_watch import ParentWatch, process_alive


def test_alive_zombie_and_gone():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while True:  # exited but not reaped: a zombie, not alive
        try:
            with open(f"/proc/{child.pid}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z":
                    break
        except OSError:
            break
    assert not process_alive(child.pid)
    child.wait()
    assert not process_alive(child.pid)


async def test_the_watch_calls_back_once_the_process_has_ended(monkeypatch):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    looked = asyncio.Event()
    looks = 0

    def counted(pid: int) -> bool:  # the watch's look at the process, counted
        nonlocal looks
        looks += 1
        if looks >= 4:  # the first is watch()'s own, then three polls
            looked.set()
        return process_alive(pid)

    monkeypatch.setattr(parent_watch, "process_alive", counted)
    gone = asyncio.Event()
    watch = ParentWatch(on_gone=gone.set, every_s=0.01)
    watch.watch(child.pid)
    await asyncio.wait_for(looked.wait(), 10)  # it polled, and saw the process alive
    assert not gone.is_set() and not watch.gone and watch.watching
    child.kill()
    child.wait()
    await asyncio.wait_for(gone.wait(), 10)
    assert watch.gone


async def test_no_process_id_means_no_watch():
    called: list[bool] = []
    for pid in (None, 0, -1, True, "123"):
        watch = ParentWatch(on_gone=lambda: called.append(True), every_s=0.01)
        watch.watch(pid)
        assert not watch.watching  # nothing polls: nothing can call back later
        watch.stop()
    assert called == []


async def test_a_process_not_there_at_the_start_is_not_watched():
    """A remote or containerised client names a process of its own: the server stays."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    called: list[bool] = []
    watch = ParentWatch(on_gone=lambda: called.append(True), every_s=0.01)
    watch.watch(child.pid)
    assert not watch.watching  # nothing polls: nothing can call back later
    assert called == [] and not watch.gone
