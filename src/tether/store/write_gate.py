"""One writer at a time per SQLite file within a process, handed over at once.

SQLite lets one connection write at a time. A writer that finds the lock taken waits in its
busy handler, which sleeps 1, 2, 5, 10, 15 ... ms between tries whatever the holder does: with
a server's request threads and its workers' runs all writing to one file, half the time spent
in the driver under load was such sleeps, while the lock had been free most of it. Here the
connections of a process to one file queue on a condition instead: a writer waits just as long
as the transaction before it lasts, in the order the writers came.

A connection enters the gate before the statement that opens its write transaction (the
driver's implicit BEGIN before INSERT, UPDATE, DELETE or REPLACE, or an explicit BEGIN) and
leaves it when that transaction ends (commit, rollback, close), or at once when the statement
opened none. Other processes on the same file still meet SQLite's own lock and busy handler;
so does a writer that waited a whole busy timeout here (a holder that never ends, such as a
second connection of the thread that holds the gate), which goes on as it did before the gate.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

_OPENS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")
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

    def enter(self, conn: GatedConnection) -> bool:
        """Wait for the gate, at most `timeout_s`; whether `conn` holds it now. A holder
        that ends its transaction leaves at once; one dropped without ending it is found
        within 50 ms (its connection closed, which ended the transaction)."""
        deadline = time.monotonic() + self.timeout_s
        with self._turn:
            while True:
                holder = self._holder() if self._holder is not None else None
                if holder is conn:
                    return True
                if holder is None:  # free, or its holder was dropped (which ended its work)
                    self._holder = weakref.ref(conn)
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False  # SQLite's own lock decides, as without the gate
                self._turn.wait(min(left, 0.05))

    def held_by(self, conn: GatedConnection) -> bool:
        return self._holder is not None and self._holder() is conn

    def leave(self, conn: GatedConnection) -> None:
        with self._turn:
            if self._holder is not None and self._holder() is conn:
                self._holder = None
                self._turn.notify()


def _writing(conn: GatedConnection) -> bool:
    try:
        return conn.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


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

    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        conn.enter_for(sql)
        try:
            super().execute(sql, parameters)
        finally:
            conn.leave_if_done()
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        conn.enter_for(sql)
        try:
            super().executemany(sql, seq_of_parameters)
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

    def enter_for(self, sql: object) -> None:
        """Enter the gate if `sql` opens this connection's write transaction."""
        if self.gate is not None and not self.in_transaction and _opens_transaction(sql):
            self.gate.enter(self)

    def leave_if_done(self) -> None:
        """Leave the gate if this connection holds it with no transaction open (the statement
        opened none, failed before it did, or ended it: COMMIT or ROLLBACK as a statement)."""
        if self.gate is not None and self.gate.held_by(self) and not _writing(self):
            self.gate.leave(self)

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
