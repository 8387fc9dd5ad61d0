"""The SQL a database driver runs for an engine, whether SQLAlchemy sent it or the code used a
DBAPI connection directly (as the retail reads do): for tests that count queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


def _watch_sqlite(conn: Any, seen: list[str]) -> None:
    conn.set_trace_callback(seen.append)


def _watch_psycopg(conn: Any, seen: list[str]) -> None:
    base = conn.cursor_factory

    class Noting(base):  # type: ignore[misc, valid-type]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query))
            return super().execute(query, *args, **kwargs)

    Noting.base = base  # type: ignore[attr-defined]
    conn.cursor_factory = Noting


def _unwatch(conn: Any) -> None:
    if hasattr(conn, "set_trace_callback"):
        conn.set_trace_callback(None)
    else:
        conn.cursor_factory = conn.cursor_factory.base


@contextmanager
def driver_statements(engine: Engine) -> Iterator[list[str]]:
    """The statements the driver runs on `engine`'s connections while the block runs: SQLite's
    own trace, or on PostgreSQL (psycopg) a cursor class that notes each statement it runs."""
    seen: list[str] = []
    watched: dict[int, Any] = {}
    watch = _watch_sqlite if engine.dialect.name == "sqlite" else _watch_psycopg

    def on_checkout(conn: Any, _record: Any, _proxy: Any) -> None:
        if id(conn) not in watched:
            watched[id(conn)] = conn
            watch(conn, seen)

    event.listen(engine, "checkout", on_checkout)
    # a connection a pool hands out once and keeps (an in-memory copy's) is watched now
    proxy = engine.raw_connection()
    proxy.close()
    seen.clear()
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", on_checkout)
        for conn in watched.values():
            _unwatch(conn)


def selects_of(seen: list[str], table: str) -> list[str]:
    """The SELECTs among `seen` that read `table`."""
    return [s for s in seen if s.lstrip().upper().startswith("SELECT") and table in s]
