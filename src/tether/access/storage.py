"""Transactions for the access layer, with database failures turned into stable codes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.store.db import driver_sql as dialect_sql


def unavailable(exc: OperationalError) -> TetherError:
    """STORE_UNAVAILABLE with a one-line reason (no driver internals or paths)."""
    origin = exc.orig
    first = str(origin).strip().splitlines()[0][:200] if origin else type(exc).__name__
    kind = type(origin).__name__ if origin else "error"
    return TetherError(
        ErrorCode.STORE_UNAVAILABLE, f"the database is unavailable ({kind}: {first})"
    )


@contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    try:
        with engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        raise unavailable(exc) from None


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection for reads."""
    try:
        with engine.connect() as conn:
            yield conn
    except OperationalError as exc:
        raise unavailable(exc) from None


def driver_sql(conn: Connection, sql: str) -> str:
    """`sql` written with `?` placeholders, in the driver's own style (sqlite3: ?, psycopg: %s)."""
    return dialect_sql(conn.dialect, sql)


def run_raw(
    conn: Connection, sql: str, params: Sequence[Any] = (), fetch: bool = False
) -> list[tuple[Any, ...]]:
    """Run one statement on the driver's cursor, inside `conn`'s transaction.

    For the few statements on every run's hot path, where SQLAlchemy's per-statement work
    would cost more than the statement itself."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(driver_sql(conn, sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if fetch else []
    finally:
        cursor.close()
