"""Revision 0015 prepares procrastinate's tables in the store's own schema on PostgreSQL, once,
and leaves SQLite stores alone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, create_engine, text

from tether.store.db import _alembic_config, create_store_engine, migrate
from tether.store.runs import RunStore

COUNTS = text(
    "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = :s"
    "        AND tablename LIKE 'procrastinate%'),"
    "       (SELECT count(*) FROM pg_proc WHERE pronamespace = CAST(:s AS regnamespace)"
    "        AND proname LIKE 'procrastinate%')"
)


def _schema(pg_url: str) -> str:
    return pg_url.rsplit("%3D", 1)[1]


def _counts(engine: Engine, schema: str) -> tuple[int, int]:
    with engine.connect() as conn:
        tables, functions = conn.execute(COUNTS, {"s": schema}).one()
    return int(tables), int(functions)


def test_the_queue_tables_land_in_the_url_schema_once(pg_url: str) -> None:
    RunStore.open(pg_url).close()
    RunStore.open(pg_url).close()  # a second start migrates nothing and fails on nothing
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :s AND table_name LIKE 'procrastinate%'"
                    ),
                    {"s": _schema(pg_url)},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events"} <= tables


def test_downgrade_removes_the_queue_and_upgrade_brings_it_back(pg_url: str) -> None:
    engine = create_store_engine(pg_url)
    try:
        migrate(engine)
        prepared = _counts(engine, _schema(pg_url))
        assert all(prepared)
        cfg = _alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0015-1")
        assert _counts(engine, _schema(pg_url)) == (0, 0)
        migrate(engine)
        assert _counts(engine, _schema(pg_url)) == prepared
    finally:
        engine.dispose()


def test_sqlite_stores_get_no_queue_tables(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    try:
        with store.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    finally:
        store.close()
    assert not [n for n in names if n.startswith("procrastinate")]
