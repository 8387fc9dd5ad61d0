"""One writer at a time per SQLite file within a process, handed over at once.

SQLite lets one connection write at a time. A writer that finds the lock taken waits in its
busy handler, which sleeps 1, 2, 5, 10, 15 ... ms between tries whatever the holder does: with
a server's request threads and its workers' runs all writing to one file, half the time spent
in the driver under load was such sleeps, while the lock had been free most of it. Here the
connections of a process to one file queue on a condition instead: a writer waits just as long
as the transactions before it last, taking turns about in the order the writers came.

A connection enters the gate before the statement that opens its write transaction (the
driver's implicit BEGIN before INSERT, UPDATE, DELETE or REPLACE, or an explicit BEGIN) and
leaves it when that transaction ends (commit, rollback, close), or at once when the statement
opened none. Other processes on the same file still meet SQLite's own lock and busy handler;
so does a writer that waited a whole busy timeout here (a holder that never ends, such as a
second connection of the thread that holds the gate), which goes on as it did before the gate.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

_OPENS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")
_ISOLATION: Any = sqlite3.Connection.isolation_level  # the driver's own attribute
CHARGED_AFTER_S = 0.05  # a wait at the gate longer than this shortens SQLite's own wait
_gates: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
_gates_lock = threading.Lock()


def _opens_transaction(sql: object) -> bool:
    return isinstance(sql, str) and sql.lstrip()[:7].upper().startswith(_OPENS)


class WriteGate:
    """The writers of one database file in this process: one holds it, the rest wait."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._turn = threading.Condition(threading.Lock())
        self._holder: weakref.ref[GatedConnection] | None = None
        self._thread = 0  # the thread that entered for the holder

    def reset(self) -> None:
        """Forget the holder and waiters (in a forked child, whose threads did not survive)."""
        self._turn = threading.Condition(threading.Lock())
        self._holder, self._thread = None, 0

    def enter(self, conn: GatedConnection) -> bool:
        """Wait for the gate, at most `timeout_s`; whether `conn` holds it now. A holder
        that ends its transaction leaves at once; one dropped without ending it is found
        within 50 ms (its connection closed, which ended the transaction). A connection of
        the thread that holds the gate does not wait for it: the holder cannot leave while
        its own thread waits, so that writer meets SQLite's lock at once, as before."""
        deadline = time.monotonic() + self.timeout_s
        me = threading.get_ident()
        with self._turn:
            while True:
                holder = self._holder() if self._holder is not None else None
                if holder is conn:
                    return True
                if holder is None:  # free, or its holder was dropped (which ended its work)
                    self._holder, self._thread = weakref.ref(conn), me
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._thread == me:
                    return False  # SQLite's own lock decides, as without the gate
                self._turn.wait(min(left, 0.05))

    def held_by(self, conn: GatedConnection) -> bool:
        holder = self._holder
        return holder is not None and holder() is conn

    def leave(self, conn: GatedConnection) -> None:
        with self._turn:
            if self.held_by(conn):
                self._holder, self._thread = None, 0
                self._turn.notify()


def _writing(conn: GatedConnection) -> bool:
    try:
        return conn.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


def _after_fork() -> None:
    global _gates_lock
    _gates_lock = threading.Lock()
    for gate in list(_gates.values()):
        gate.reset()


os.register_at_fork(after_in_child=_after_fork)


def gate_for(path: str, timeout_s: float) -> WriteGate:
    """The gate of the database file at `path` in this process (made on first use)."""
    key = str(Path(path).resolve())
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriteGate(timeout_s)
        return gate


class GatedCursor(sqlite3.Cursor):
    """A cursor whose statements that open a write transaction pass the gate first."""

    # every statement of the store passes here: the common case (no gate to enter, or a
    # statement inside the transaction that holds it) costs two attribute reads and a call
    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        if conn.gate is None:
            super().execute(sql, parameters)
        elif conn.in_transaction:
            try:
                super().execute(sql, parameters)
            finally:
                conn.leave_if_done()  # COMMIT or ROLLBACK as a statement
        else:
            with conn.gated(sql):
                super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        if conn.gate is None or conn.in_transaction:
            super().executemany(sql, seq_of_parameters)  # (executemany is no COMMIT)
        else:
            with conn.gated(sql):
                super().executemany(sql, seq_of_parameters)
        return self

    def executescript(self, sql_script: str, /) -> GatedCursor:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        try:
            super().executescript(sql_script)  # commits what is open first, in C
        finally:
            conn.leave_if_done()
        return self


class GatedConnection(sqlite3.Connection):
    """A connection to a database file whose write transactions take turns through the file's
    gate (set by `attach` when the connection is made; without one it writes as any does)."""

    gate: WriteGate | None = None

    def attach(self, gate: WriteGate) -> None:
        self.gate = gate

    def cursor(self, factory: Any = GatedCursor) -> Any:
        return super().cursor(factory)

    # the driver's shortcuts make a cursor of their own, not through `cursor`
    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, seq_of_parameters)

    @contextmanager
    def gated(self, sql: object) -> Iterator[None]:
        """Run one statement: through the gate first if it opens this connection's write
        transaction, with SQLite's busy timeout less the time spent waiting there (a writer
        gives up after one timeout in all); the gate is left if no transaction is open after."""
        gate, waited = self.gate, 0.0
        if gate is not None and not self.in_transaction and _opens_transaction(sql):
            started = time.monotonic()
            gate.enter(self)
            waited = time.monotonic() - started
        try:
            if gate is None or waited < CHARGED_AFTER_S:
                yield
            else:
                self._busy_timeout(max(0.0, gate.timeout_s - waited))
                try:
                    yield
                finally:
                    self._busy_timeout(gate.timeout_s)
        finally:
            self.leave_if_done()

    def _busy_timeout(self, seconds: float) -> None:
        super().execute(f"PRAGMA busy_timeout={int(seconds * 1000)}").close()

    def leave_if_done(self) -> None:
        """Leave the gate if this connection holds it with no transaction open (the statement
        opened none, failed before it did, or ended it: COMMIT or ROLLBACK as a statement)."""
        if self.gate is not None and self.gate.held_by(self) and not _writing(self):
            self.gate.leave(self)

    def executescript(self, sql_script: str, /) -> Any:
        return self.cursor().executescript(sql_script)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
        /,
    ) -> Literal[False]:
        try:
            return super().__exit__(kind, error, trace)  # `with conn:` ends it in C
        finally:
            self.leave_if_done()

    @property  # type: ignore[override]
    def isolation_level(self) -> str | None:
        level: str | None = _ISOLATION.__get__(self)
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        try:
            _ISOLATION.__set__(self, value)  # None commits what is open, in C
        finally:
            self.leave_if_done()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_if_done()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_if_done()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.gate is not None:
                self.gate.leave(self)
