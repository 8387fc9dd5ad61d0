"""Reads of the retail records sent straight to the database driver.

Guards and tools read users and orders by id many times a run, and SQLAlchemy's work around
each statement (compiling, the result object, pool checkout and reset) costs several times the
query itself. Here each statement is compiled once per engine and sent on a DBAPI connection
chosen so that the read sees what it must and nothing else:

- inside this thread's write transaction, on that transaction's connection (its own writes);
- on a single-connection engine (an in-memory copy), on the one connection while holding the
  store's write lock, so no other thread's transaction is open on it during the read;
- otherwise on a connection of its own from the pool, which sees committed data only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import Pool, PoolProxiedConnection, StaticPool
from sqlalchemy.sql import Select

Row = Sequence[Any]
_NO_PARAMS: Mapping[str, Any] = {}


class DriverReads:
    """Runs SELECTs through the driver for one engine (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        write_lock: threading.RLock,
        open_transaction: Callable[[], Connection | None],
    ) -> None:
        self.engine = engine
        self._write_lock = write_lock
        self._open_transaction = open_transaction
        self._compiled: dict[Select[Any], tuple[str, tuple[str, ...] | None]] = {}
        self._held: tuple[Pool, Any] | None = None  # a single-connection pool and its connection

    def rows(self, stmt: Select[Any], params: Mapping[str, Any] = _NO_PARAMS) -> list[Row]:
        """Every row `stmt` selects with these bound values."""
        sql, order = self._sql(stmt)
        args: Any = tuple(params[n] for n in order) if order is not None else dict(params)
        joined = self._open_transaction()
        if joined is not None:
            return self._execute(joined.connection.driver_connection, sql, args)
        if isinstance(self.engine.pool, StaticPool):
            with self._write_lock:  # every writer holds it for its whole transaction
                try:
                    return self._execute(self._one_connection(), sql, args)
                except DBAPIError as exc:
                    if exc.connection_invalidated:  # closed under us: the next read reopens
                        self._held = None
                    raise
        proxy = self.engine.raw_connection()
        try:
            return self._read_alone(proxy, sql, args)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                proxy.invalidate()
            raise
        finally:
            proxy.close()  # back to the pool, whose reset ends the read's transaction if any

    def _read_alone(self, proxy: PoolProxiedConnection, sql: str, args: Any) -> list[Row]:
        conn: Any = proxy.driver_connection
        # psycopg would open a transaction for the SELECT, and the pool's reset would send a
        # ROLLBACK for it: a read of one row needs neither (SQLAlchemy pings the same way)
        if self.engine.dialect.name != "postgresql" or conn.autocommit:
            return self._execute(conn, sql, args)
        conn.autocommit = True
        try:
            return self._execute(conn, sql, args)
        finally:
            if not (conn.closed or conn.broken):  # a broken one is invalidated by the caller
                conn.autocommit = False

    def _sql(self, stmt: Select[Any]) -> tuple[str, tuple[str, ...] | None]:
        found = self._compiled.get(stmt)
        if found is None:
            compiled = stmt.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[stmt] = (compiled.string, order)
        return found

    def _one_connection(self) -> Any:
        # the engine's pool is replaced when it is disposed: take the new pool's connection
        pool = self.engine.pool
        if self._held is None or self._held[0] is not pool:
            proxy = self.engine.raw_connection()
            self._held = (pool, proxy.driver_connection)
            proxy.close()  # a single-connection pool keeps the connection open
        return self._held[1]

    def _execute(self, conn: Any, sql: str, args: Any) -> list[Row]:
        dialect = self.engine.dialect
        error = dialect.loaded_dbapi.Error
        cursor = None
        try:
            cursor = conn.cursor()
            cursor.execute(sql, args)
            return list(cursor.fetchall())
        except error as exc:
            # the same exception SQLAlchemy raises for it, so callers map outages as before
            raise DBAPIError.instance(
                sql,
                args,
                exc,
                error,
                connection_invalidated=dialect.is_disconnect(exc, conn, cursor),
                dialect=dialect,
            ) from exc
        finally:
            if cursor is not None:
                cursor.close()
