"""The set-up lock of a SQLite store: processes take turns, a process may take it again inside
itself, and a process that waits too long is told why instead of hanging."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tether.core.errors import ErrorCode, TetherError
from tether.store.startup import lock_path, setting_up

HOLD = """
import sys, time
from sqlalchemy import create_engine
from tether.store.startup import setting_up
with setting_up(create_engine(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_the_lock_file_lies_beside_a_sqlite_file_and_nowhere_else(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tether.db'}")
    assert lock_path(engine) == str(tmp_path / "tether.db") + ".setup-lock"
    assert lock_path(create_engine("sqlite://")) is None  # in memory: one process's own
    assert lock_path(create_engine("postgresql+psycopg://u@127.0.0.1/db")) is None
    with setting_up(create_engine("sqlite://")):  # nothing to take, nothing made
        pass


def test_a_process_takes_it_again_inside_itself(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tether.db'}")
    with setting_up(engine), setting_up(create_engine(str(engine.url))):
        pass  # a store set up inside a desk's set-up does not wait on itself
    with setting_up(engine):  # and it was let go
        pass


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tether.db'}")
    inside: list[int] = []
    most = [0]

    def work() -> None:
        with setting_up(engine):
            inside.append(1)
            most[0] = max(most[0], len(inside))
            time.sleep(0.02)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_a_process_waits_for_another_then_gives_up_with_a_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(TetherError) as caught, setting_up(create_engine(url), wait_s=0.3):
            pass
        assert caught.value.code is ErrorCode.STORE_UNAVAILABLE
        assert "another process has been setting up the store" in caught.value.message
    finally:
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    with setting_up(create_engine(url), wait_s=5):  # once the other let go, it is taken at once
        pass


def test_a_store_that_cannot_be_made_is_set_up_without_the_lock(tmp_path: Path) -> None:
    """No lock file can be made where the database cannot be either: the store reports itself
    unreachable where it is used (`/healthz`: 503), not while a desk is built over it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'tether.db'}")
    with setting_up(engine):
        pass
    assert not (tmp_path / "no-such-folder").exists()
