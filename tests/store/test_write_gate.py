"""A SQLite file's writers in one process take turns through its gate, never SQLite's sleeps.

Each test makes SQLite's own lock fail at once (`busy_timeout=0`) where it matters: a writer
that met the lock instead of waiting at the gate would fail with "database is locked". The
gate's guarantees attacked here: many threads write and none meets SQLite's lock or loses a
row; a holder that ends its transaction any way (commit, rollback, close, failure, dropped) lets
the next one in; a statement that opens no transaction never holds it; a writer that cannot get in (the
holder is its own thread's other connection) meets SQLite's lock as it did without the gate.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from tether.store.db import create_store_engine
from tether.store.write_gate import GatedConnection, WriteGate, gate_for

THREADS, WRITES = 8, 40


def _connect(path: Path, gate: WriteGate | None, busy_ms: int = 0) -> Any:
    conn = sqlite3.connect(path, factory=GatedConnection, check_same_thread=False, timeout=0)
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    if gate is not None:
        conn.attach(gate)
    return conn


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gate.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # kept by the file, as the store's are
        conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)")
        conn.commit()
    return path


def _hammer(connect: Any, path: Path) -> tuple[int, list[str]]:
    """THREADS threads, each WRITES transactions that hold the lock a moment; rows written
    and the errors met."""
    errors: list[str] = []

    def writer(who: int) -> None:
        conn = connect()
        try:
            for _ in range(WRITES):
                try:
                    conn.execute("INSERT INTO t (who) VALUES (?)", (str(who),))
                    time.sleep(0.0005)  # the transaction stays open while others try
                    conn.commit()
                except sqlite3.OperationalError as exc:
                    errors.append(str(exc))
                    conn.rollback()
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with sqlite3.connect(path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM t").fetchone()
    return rows, errors


def test_many_writers_through_one_gate_lose_nothing_and_never_stall(db: Path) -> None:
    gate = WriteGate(timeout_s=30)
    rows, errors = _hammer(lambda: _connect(db, gate, busy_ms=10_000), db)
    assert errors == []
    assert rows == THREADS * WRITES


def _engine_hammer(engine: Engine) -> tuple[int, list[str]]:
    """THREADS threads writing through `engine`'s pool, SQLite's own lock failing at once (set
    after the engine's own pragmas): rows written and the errors met."""
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=0"))
    errors: list[str] = []

    def writer(who: int) -> None:
        for _ in range(WRITES):
            try:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t (who) VALUES (:w)"), {"w": str(who)})
                    time.sleep(0.0005)
            except Exception as exc:  # every failure is what the test counts
                errors.append(str(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM t")).scalar_one()
    engine.dispose()
    return rows, errors


def test_the_store_engine_orders_its_writers_before_sqlites_lock(db: Path) -> None:
    rows, errors = _engine_hammer(create_store_engine(f"sqlite:///{db}"))
    assert errors == []
    assert rows == THREADS * WRITES


def test_without_the_gate_the_same_writers_meet_the_lock(db: Path) -> None:
    """The control: an engine with the same pool and no gate meets SQLite's lock under this
    load, so the test above can fail."""
    plain = create_engine(
        f"sqlite:///{db}", connect_args={"check_same_thread": False}, pool_size=20
    )
    rows, errors = _engine_hammer(plain)
    assert errors and all("locked" in e for e in errors)
    assert rows == THREADS * WRITES - len(errors)


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_a_holder_that_ends_its_transaction_any_way_lets_the_next_in(db: Path, ending: str) -> None:
    gate = WriteGate(timeout_s=30)
    first = _connect(db, gate)
    first.execute("INSERT INTO t (who) VALUES ('first')")
    assert first.in_transaction
    entered = threading.Event()
    done: list[str] = []

    def second_writer() -> None:
        second = _connect(db, gate)
        entered.set()
        second.execute("INSERT INTO t (who) VALUES ('second')")
        second.commit()
        second.close()
        done.append("second")

    waiting = threading.Thread(target=second_writer)
    waiting.start()
    entered.wait(5)
    waiting.join(0.3)
    assert waiting.is_alive(), "the second writer went past a gate the first still holds"
    getattr(first, ending)()
    waiting.join(10)
    assert done == ["second"]


def test_a_holder_dropped_without_leaving_does_not_keep_the_gate() -> None:
    """A connection freed without closing (its transaction ended with it) is found gone."""

    class Dropped:  # stands for a connection whose last reference went away
        pass

    gate = WriteGate(timeout_s=30)
    holder, other = Dropped(), Dropped()
    assert gate.enter(holder)  # type: ignore[arg-type]
    del holder
    gc.collect()
    started = time.monotonic()
    assert gate.enter(other)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5  # not the 30 s of a holder still there


def test_a_statement_that_opens_no_transaction_never_holds_the_gate(db: Path) -> None:
    gate = WriteGate(timeout_s=0.2)
    conn = _connect(db, gate)
    conn.execute("SELECT count(*) FROM t").fetchall()
    with pytest.raises(sqlite3.OperationalError):  # no such table: fails before any BEGIN
        conn.execute("INSERT INTO missing VALUES (1)")
    assert not conn.in_transaction
    other = _connect(db, gate)
    other.execute("INSERT INTO t (who) VALUES ('other')")  # would wait out the gate otherwise
    other.commit()
    assert gate.enter(conn) and (gate.leave(conn) is None)


def test_a_failed_statement_inside_a_transaction_keeps_the_gate_until_it_ends(db: Path) -> None:
    gate = WriteGate(timeout_s=0.2)
    first = _connect(db, gate)
    first.execute("INSERT INTO t (n, who) VALUES (1, 'first')")
    with pytest.raises(sqlite3.IntegrityError):
        first.execute("INSERT INTO t (n, who) VALUES (1, 'again')")
    assert first.in_transaction  # its first row is still uncommitted: nobody else may write
    other = _connect(db, gate)
    assert not gate.enter(other)
    first.rollback()
    assert gate.enter(other)


def test_a_writer_that_cannot_get_in_meets_sqlites_lock_as_before(db: Path) -> None:
    """One thread, two connections: the second's write waits the gate out, then fails on
    SQLite's lock with the usual error instead of waiting for ever."""
    gate = WriteGate(timeout_s=0.2)
    first, second = _connect(db, gate), _connect(db, gate, busy_ms=100)
    first.execute("INSERT INTO t (who) VALUES ('first')")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t (who) VALUES ('second')")
    first.commit()
    second.rollback()
    second.execute("INSERT INTO t (who) VALUES ('second')")
    second.commit()


def test_engines_on_one_file_share_its_gate(tmp_path: Path) -> None:
    assert gate_for(str(tmp_path / "a.db"), 1) is gate_for(str(tmp_path / "." / "a.db"), 1)
    assert gate_for(str(tmp_path / "a.db"), 1) is not gate_for(str(tmp_path / "b.db"), 1)
