"""The lock processes take turns under while they set up one store.

Replicas may share one SQLite file (several `tether serve` behind a proxy, on one machine).
Started together on a fresh store, each would create the same tables, and all but one failed
with "table ... already exists". Whoever creates or upgrades tables, or a desk's own state (its
pack's tables and data, its access tables and keys), holds this lock: an exclusive `flock` on a
file beside the database. The first process sets the store up; the others wait, then find it
made. PostgreSQL takes advisory locks for the same purpose where it is set up; an in-memory
database belongs to one process. The lock is re-entrant within a process, so setting up a
store inside the set-up of a desk does not wait on itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from tether.core.errors import ErrorCode, TetherError

try:
    import fcntl
except ImportError:  # no flock on this platform: replicas there must not share a file
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tether.store")

WAIT_S = 300.0  # the longest a process waits for another to finish setting up the store
_POLL_S = 0.05
_registry_lock = threading.Lock()
_locks: dict[str, _FileLock] = {}


class _FileLock:
    """One lock file: threads of this process take turns by an RLock, processes by flock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.RLock()
        self.depth = 0
        self.handle: IO[bytes] | None = None

    @contextmanager
    def held(self, wait_s: float) -> Iterator[None]:
        with self.threads:
            if self.depth == 0:
                self.handle = _acquire(self.path, wait_s)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and self.handle is not None:
                    self.handle.close()  # closing the file releases its flock
                    self.handle = None


def lock_path(engine: Engine) -> str | None:
    """The lock file of `engine`'s store: beside a SQLite database file; None for PostgreSQL,
    an in-memory database or a `file:` URI."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).resolve()) + ".setup-lock"


@contextmanager
def setting_up(engine: Engine, wait_s: float = WAIT_S) -> Iterator[None]:
    """Hold the store's set-up lock (see the module); STORE_UNAVAILABLE after `wait_s`."""
    path = lock_path(engine)
    if path is None or fcntl is None:
        yield
        return
    with _registry_lock:
        lock = _locks.setdefault(path, _FileLock(path))
    with lock.held(wait_s):
        yield


def _acquire(path: str, wait_s: float) -> IO[bytes] | None:
    """The lock file, locked; None when it cannot be made (its folder is missing or not
    writable): then neither can the database be, and using the store says so
    (STORE_UNAVAILABLE) where it would have without the lock."""
    try:
        handle = open(path, "ab")  # noqa: SIM115 - kept open while the lock is held
    except OSError as exc:
        log.debug("no set-up lock at %s: %s", path, exc)
        return None
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            pass
        except OSError as exc:
            handle.close()
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"cannot lock the store's set-up lock {path}: {exc}"
            ) from None
        if time.monotonic() >= deadline:
            handle.close()
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE,
                f"another process has been setting up the store for over {wait_s:g} s "
                f"(it holds {path}); retry once it is up",
            )
        if not waiting:
            log.info("waiting for another process to finish setting up the store")
            waiting = True
        time.sleep(_POLL_S)
