"""The write gate never makes a writer wait longer than SQLite alone would have, and never
stays held by a connection whose transaction the driver ended on its own (or by a thread that
did not survive a fork)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tether.store import db as store_db
from tether.store.write_gate import GatedConnection, WriteGate, gate_for


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)")
        conn.commit()
    return path


def test_a_writer_gives_up_after_the_busy_timeout_not_twice_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (a second `tether serve`, a migration, a backup) holds the file's write
    lock. Before the gate each writer of this process waited BUSY_TIMEOUT_S in SQLite's busy
    handler and failed with "database is locked". Now the first writer holds the gate while it
    waits that long in the busy handler, the writers behind it wait up to BUSY_TIMEOUT_S at the
    gate first, then as long again in the busy handler: a request gives up after 2x the
    timeout (20 s with the store's 10 s)."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 1.0)
    engine = store_db.create_store_engine(f"sqlite:///{path}")
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    took: list[float] = []

    def writer() -> None:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), engine.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('w')"))
        took.append(time.monotonic() - started)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(30)
    other_process.rollback()
    other_process.close()
    engine.dispose()
    assert len(took) == 3
    assert max(took) < 1.5, f"writers gave up after {sorted(took)} s, busy timeout 1 s"


def test_one_thread_second_connection_fails_after_the_busy_timeout_not_twice_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case the gate's docstring names (a second connection of the thread that holds the
    gate): it used to fail after BUSY_TIMEOUT_S, now after the gate's timeout plus that."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 1.0)
    engine = store_db.create_store_engine(f"sqlite:///{path}")
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO t (who) VALUES ('outer')"))
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), engine.begin() as inner:
            inner.execute(text("INSERT INTO t (who) VALUES ('inner')"))
        took = time.monotonic() - started
    engine.dispose()
    assert took < 1.5, f"gave up after {took:.1f} s, busy timeout 1 s"


def _connect(path: Path, gate: WriteGate) -> Any:
    conn = sqlite3.connect(path, factory=GatedConnection, check_same_thread=False, timeout=5)
    conn.attach(gate)
    return conn


@pytest.mark.parametrize("ending", ["with", "executescript", "autocommit"])
def test_a_transaction_ended_by_the_driver_itself_leaves_the_gate(path: Path, ending: str) -> None:
    """sqlite3 commits in C, not through `commit()`, on `with conn:` (its documented
    transaction idiom), before `executescript`, and on `isolation_level = None`: the gate
    stays held by a connection with no transaction, and every other writer of the process
    waits the gate's whole timeout (10 s in the store) until that connection runs another
    statement or goes back to the pool."""
    gate = WriteGate(timeout_s=2)
    first, second = _connect(path, gate), _connect(path, gate)
    if ending == "with":
        with first:
            first.execute("INSERT INTO t (who) VALUES ('first')")
    elif ending == "executescript":
        first.execute("INSERT INTO t (who) VALUES ('first')")
        first.executescript("SELECT 1;")
    else:
        first.execute("INSERT INTO t (who) VALUES ('first')")
        first.isolation_level = None
    assert not first.in_transaction
    took: list[float] = []

    def second_writer() -> None:  # another thread: the holder's own thread would not wait
        started = time.monotonic()
        second.execute("INSERT INTO t (who) VALUES ('second')")
        second.commit()
        took.append(time.monotonic() - started)

    writer = threading.Thread(target=second_writer)
    writer.start()
    writer.join(10)
    first.close()
    second.close()
    assert took and took[0] < 1.0, f"the second writer waited {took} s for a gate nobody used"


def test_a_forked_child_starts_with_its_gates_free(path: Path) -> None:
    """A fork while a thread of the parent holds the gate: the child never sees that holder."""
    gate = gate_for(str(path), 30)  # as the store's engines get theirs
    holder = _connect(path, gate)
    holder.execute("INSERT INTO t (who) VALUES ('parent')")
    assert gate.held_by(holder)
    child = os.fork()
    if child == 0:  # the child: its gate must be free at once
        started = time.monotonic()
        entered = gate.enter(_connect(path, gate))
        os._exit(0 if entered and time.monotonic() - started < 5 else 1)
    _, status = os.waitpid(child, 0)
    holder.rollback()
    holder.close()
    assert os.waitstatus_to_exitcode(status) == 0
