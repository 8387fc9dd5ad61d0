"""SQLite's WAL checkpoints run on a thread of their own, never inside a run's commit.

What is observable from outside: a store's connections do not checkpoint when they commit (the
database file stays as it was however long the log grows), and the pages reach the database
file within a few of the thread's rounds; a database file deleted meanwhile is not re-created.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.store import checkpoints
from tether.store.db import create_store_engine

ROW = "x" * 4000


@pytest.fixture(autouse=True)
def quick_rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(checkpoints, "EVERY_S", 0.05)
    yield


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _rounds_pass(n: int) -> None:
    start = checkpoints.passes()
    assert _wait_for(lambda: checkpoints.passes() >= start + n), "the thread made no rounds"


def test_commits_leave_the_log_to_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        _rounds_pass(2)  # the table itself reaches the file
        before = path.stat().st_size
        # far past SQLite's own mark of 1,000 pages, committed faster than a round comes:
        # with automatic checkpoints one of these commits would have copied the log back
        checkpoints.EVERY_S = 60.0
        _rounds_pass(1)  # the thread now sleeps a minute
        for _ in range(1200):
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (?)", (ROW,))
        assert path.stat().st_size == before
        checkpoints.EVERY_S = 0.05
        checkpoints._wake.set()
        assert _wait_for(lambda: path.stat().st_size > before + 1200 * len(ROW))
    finally:
        engine.dispose()


def test_a_deleted_database_is_not_created_again(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        _rounds_pass(3)
        assert not path.exists()
    finally:
        engine.dispose()


def test_a_file_is_forgotten_with_its_last_engine(tmp_path: Path) -> None:
    path = str((tmp_path / "runs.db").resolve())
    engine = create_store_engine(f"sqlite:///{path}")
    assert checkpoints._users[path] == 1
    del engine
    import gc

    gc.collect()
    assert path not in checkpoints._users


def test_rounds_go_on_beside_a_reader_and_leave_its_snapshot_whole(tmp_path: Path) -> None:
    """Rounds keep coming while a reader holds a snapshot and writers commit, and the reader
    still sees the database as it was when its snapshot began."""
    path = tmp_path / "runs.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        reader = sqlite3.connect(path, timeout=0)
        reader.execute("BEGIN")
        seen = reader.execute("SELECT count(*) FROM t").fetchone()
        for _ in range(50):
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (?)", (ROW,))
        _rounds_pass(3)
        assert reader.execute("SELECT count(*) FROM t").fetchone() == seen  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (50,)
        reader.close()
    finally:
        engine.dispose()
    assert os.path.exists(path)
