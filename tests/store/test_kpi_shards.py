"""KPI rollups spread over shards (revision 0023): concurrent writers of one minute add to
different rows, readers sum them, and the migration keeps every count both ways."""

from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import event, func, select

from tether.observe.kpi_store import KpiStore, add_minute
from tether.store.db import _alembic_config, create_store_engine, migrate
from tether.store.kpi_schema import kpi_minutes

WRITERS, EACH = 8, 25


def write(engine: object, n: int) -> None:
    for _ in range(n):
        with engine.begin() as conn:  # type: ignore[attr-defined]
            add_minute(conn, 600, "desk", "", {"runs": 1, "latency_ms_sum": 2.0}, 3,
                       {("tool_error", "get_order", "TIMEOUT"): 1})  # fmt: skip


def test_concurrent_writers_of_one_minute_lose_nothing_and_readers_sum_the_shards(
    store_url: str,
) -> None:
    engine = create_store_engine(store_url)
    migrate(engine)
    threads = [threading.Thread(target=write, args=(engine, EACH)) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kpis = KpiStore(engine)
    total = kpis.totals()
    assert total.values["runs"] == WRITERS * EACH
    assert total.values["latency_ms_sum"] == 2.0 * WRITERS * EACH
    assert [c.count for c in kpis.counts("tool_error")] == [WRITERS * EACH]
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(kpi_minutes)).scalar()
    assert 1 < rows <= 16  # spread over shards, at most one row per shard
    engine.dispose()


def test_the_migration_keeps_every_count_down_and_up(store_url: str) -> None:
    engine = create_store_engine(store_url)
    migrate(engine)
    write(engine, 40)
    kpis = KpiStore(engine)
    before = (kpis.totals().values, kpis.counts("tool_error"))
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0023-1")
    with engine.connect() as conn:  # one row per key again
        assert conn.execute(select(func.count()).select_from(kpi_minutes)).scalar() == 1
    migrate(engine)
    assert (kpis.totals().values, kpis.counts("tool_error")) == before
    engine.dispose()


def test_a_minute_with_many_counts_is_few_statements_and_adds_every_count(
    store_url: str,
) -> None:
    engine = create_store_engine(store_url)
    migrate(engine)
    rows_written: list[int] = []

    def seen(_conn, _cursor, _sql, params, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        rows_written.append(len(params) if executemany else 1)

    counts = {("tool_error", f"tool_{i:03d}", "TIMEOUT"): i + 1 for i in range(70)}
    long = "t" * 200  # two subjects alike in the 128 characters kept: one row, both counts
    counts |= {("tool_error", long + "a", "X"): 1, ("tool_error", long + "b", "X"): 2}
    event.listen(engine, "before_cursor_execute", seen)
    for _ in range(2):  # the second write meets every row already there
        with engine.begin() as conn:
            add_minute(conn, 600, "desk", "", {"runs": 1}, 4, counts)
    event.remove(engine, "before_cursor_execute", seen)
    # per write: the minute, its latency bucket, and 71 count rows in two statements
    assert rows_written == [1, 1, 1, 1] * 2
    found = {(c.subject, c.key): c.count for c in KpiStore(engine).counts("tool_error")}
    assert found == {
        **{(f"tool_{i:03d}", "TIMEOUT"): 2 * (i + 1) for i in range(70)},
        (long[:128], "X"): 6,
    }
    assert KpiStore(engine).totals().values["runs"] == 2
    engine.dispose()
