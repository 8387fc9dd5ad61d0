"""SQLite's WAL checkpoints, taken off the threads that commit.

In WAL mode SQLite copies the log back into the database file once it passes 1,000 pages, and
the commit that crosses the mark does it: with `synchronous=NORMAL` that copy syncs both files,
so one run's commit in a hundred took tens of milliseconds, holding the write lock while every
other writer waited. A store's connections therefore turn the automatic checkpoint off, and one
daemon thread per process checkpoints each open database file every `EVERY_S` seconds in
PASSIVE mode, which never waits for, nor blocks, a reader or a writer.

The thread checkpoints a file only when its log changed since the last round, on a connection
of the moment, read-write on an existing file only (a file deleted meanwhile is never created
again), and forgets a file once no engine uses it. A forked child starts a thread of its own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

log = logging.getLogger("tether.store")

EVERY_S = 1.0  # seconds between checkpoints of each file

_lock = threading.Lock()
_users: Counter[str] = Counter()  # database file → engines that use it
_wake = threading.Event()
_state: dict[str, Any] = {"thread": None, "pid": None, "passes": 0}


def register(engine: Any, path: str) -> None:
    """Checkpoint the database file at `path` while `engine` lives."""
    path = str(Path(path).resolve())
    with _lock:
        _users[path] += 1
        _ensure_thread()
    weakref.finalize(engine, _unregister, path)


def passes() -> int:
    """How many rounds the thread has made (for tests and diagnostics)."""
    return int(_state["passes"])


def _unregister(path: str) -> None:
    with _lock:
        _users[path] -= 1
        if _users[path] <= 0:
            del _users[path]


def _ensure_thread() -> None:
    """Start the thread in this process if it is not running here (called under `_lock`)."""
    thread = _state["thread"]
    if thread is not None and _state["pid"] == os.getpid() and thread.is_alive():
        return
    _state["pid"] = os.getpid()
    thread = threading.Thread(target=_loop, name="tether-checkpoints", daemon=True)
    _state["thread"] = thread
    thread.start()


def _after_fork() -> None:
    """In a forked child: fresh lock and event, and a thread of its own for the files its
    inherited engines use (a parent's thread does not survive the fork)."""
    global _lock, _wake
    _lock, _wake = threading.Lock(), threading.Event()
    _state["thread"] = None
    if _users:
        with _lock:
            _ensure_thread()


os.register_at_fork(after_in_child=_after_fork)


def _loop() -> None:
    pid = os.getpid()
    seen: dict[str, tuple[int, int]] = {}  # file → its log's (size, mtime) when last checkpointed
    while _state["pid"] == pid:
        _wake.wait(EVERY_S)
        _wake.clear()
        with _lock:
            wanted = list(_users)
        seen = {path: mark for path, mark in seen.items() if path in wanted}
        for path in wanted:
            _checkpoint(seen, path)
        _state["passes"] += 1


def _checkpoint(seen: dict[str, tuple[int, int]], path: str) -> None:
    """Checkpoint `path` if its log changed since the last round (a connection for the
    moment: however many files a process has used, the thread holds none open)."""
    try:
        stat = os.stat(f"{path}-wal")
    except OSError:
        return  # no log (yet, or any more)
    mark = (stat.st_size, stat.st_mtime_ns)
    if stat.st_size == 0 or seen.get(path) == mark:
        return
    try:
        # mode=rw: never create a database file that is not there
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0.1)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
        seen[path] = mark
    except sqlite3.Error as exc:
        log.debug("checkpoint of %s skipped: %s", path, exc)
