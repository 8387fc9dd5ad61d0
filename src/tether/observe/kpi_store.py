"""The KPI store: per-minute rollups written by upsert, and the queries dashboards read.

Every write adds to existing rows with `INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`
(SQLite and PostgreSQL), in one transaction, rows in key order so that concurrent writers
neither lose an update nor deadlock.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, select, true
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run
from tether.observe.kpi import KpiPoint, RunKpis, merge, minute_of, run_kpis
from tether.store.db import driver_sql
from tether.store.kpi_schema import (
    KPI_COUNTERS,
    KPI_SHARDS,
    KPI_SUMS,
    NO_RELEASE,
    kpi_counts,
    kpi_latency,
    kpi_minutes,
)

_VALUE_COLUMNS = (*KPI_COUNTERS, *KPI_SUMS)


@dataclass(frozen=True)
class CountRow:
    """One count of a subject and key over a range: e.g. tool `get_order_details`, code
    `NOT_FOUND`, 3 times."""

    subject: str
    key: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "key": self.key, "count": self.count}


_ROWS_PER_STATEMENT = 64  # a run writes about ten count rows; a bound keeps statements small


@lru_cache(maxsize=128)
def _upsert_sql(table: Table, add: tuple[str, ...], rows: int) -> str:
    """`INSERT … VALUES (…), (…) ON CONFLICT (key) DO UPDATE SET c = c + excluded.c` for
    `rows` rows with `?` placeholders (one statement, where an executemany is one per row),
    written once per table and row count."""
    name = _quote(table.name)
    columns = _columns(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = [f"{_quote(c)} = {name}.{_quote(c)} + excluded.{_quote(c)}" for c in add]
    if "updated_at" in table.c:
        updates.append(f"{_quote('updated_at')} = excluded.{_quote('updated_at')}")
    one = "(" + ", ".join("?" for _ in columns) + ")"
    sql = (
        f"INSERT INTO {name} ({', '.join(_quote(c) for c in columns)}) "
        f"VALUES {', '.join(one for _ in range(rows))} "
        f"ON CONFLICT ({', '.join(_quote(k) for k in keys)}) DO UPDATE SET {', '.join(updates)}"
    )
    return sql


def _quote(name: str) -> str:
    return f'"{name}"'  # the same in SQLite and PostgreSQL; these names are all lower case


@lru_cache(maxsize=8)
def _columns(table: Table) -> tuple[str, ...]:
    """Every column of a rollup table, in its order: each row written sets all of them."""
    return tuple(c.name for c in table.columns)


@lru_cache(maxsize=8)
def _key_positions(table: Table) -> tuple[int, ...]:
    """Where the primary key's columns sit in a row of `_columns(table)`, in key order."""
    columns = _columns(table)
    return tuple(columns.index(c.name) for c in table.primary_key.columns)


def _upsert(
    conn: Connection, table: Table, rows: list[tuple[Any, ...]], add: tuple[str, ...]
) -> None:
    """Add `rows` (values in `_columns(table)` order) to the table, in key order."""
    if not rows:
        return
    if len(rows) > 1:
        at = _key_positions(table)
        rows.sort(key=lambda r: [r[i] for i in at])  # one lock order for every writer
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        sql = driver_sql(conn.dialect, _upsert_sql(table, add, len(chunk)))
        conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))


# `add_minute` writes rows as tuples in table order: the key of `kpi_minutes` comes first,
# then its values; `kpi_latency` and `kpi_counts` rows are written in their columns' order
_MINUTE_KEY = ("minute", "agent", "release", "shard")
# each value column and how a run's value becomes it (None: the time of the write)
_MINUTE_VALUES: tuple[tuple[str, type[int] | type[float] | None], ...] = tuple(
    (c, None if c == "updated_at" else int if c in KPI_COUNTERS else float)
    for c in _columns(kpi_minutes)
    if c not in _MINUTE_KEY
)


def add_minute(
    conn: Connection,
    minute: int,
    agent: str,
    release: str,
    values: Mapping[str, float],
    latency_bucket: int | None = None,
    counts: Mapping[tuple[str, str, str], int] | None = None,
) -> None:
    """Add `values` (and a latency observation, and counts) to one minute's rollup, in a
    shard chosen at random (readers sum the shards)."""
    shard = random.randrange(KPI_SHARDS)
    now = time.time()
    row = (
        minute,
        agent,
        release,
        shard,
        *[now if kind is None else kind(values.get(c, 0)) for c, kind in _MINUTE_VALUES],
    )
    _upsert(conn, kpi_minutes, [row], _VALUE_COLUMNS)
    if latency_bucket is not None:
        latency = (minute, agent, release, latency_bucket, shard, 1)
        _upsert(conn, kpi_latency, [latency], ("count",))
    merged: dict[tuple[str, str, str], int] = defaultdict(int)
    for (metric, subject, name), n in (counts or {}).items():
        merged[metric, subject[:128], name[:64]] += n  # keys stay unique after truncation
    count_rows = [(minute, agent, release, m, s, k, shard, n) for (m, s, k), n in merged.items()]
    _upsert(conn, kpi_counts, count_rows, ("count",))


class KpiStore:
    """KPI rollups in the system of record: written per run and per feedback, read by range."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writes -------------------------------------------------------------------------

    def record_run(self, run: Run, release: str | None = None) -> RunKpis:
        """Add an ended run to the rollup of the minute it ended in."""
        kpis = run_kpis(run, release)
        with self._begin() as conn:
            self.add_run(conn, kpis)
        return kpis

    @staticmethod
    def add_run(conn: Connection, kpis: RunKpis) -> None:
        """Add one run's KPIs in the caller's transaction (the one that commits its Decision)."""
        add_minute(
            conn,
            kpis.minute,
            kpis.agent,
            kpis.release,
            kpis.values,
            kpis.latency_bucket,
            kpis.counts,
        )

    # -- reads --------------------------------------------------------------------------

    def series(
        self,
        agent: str | None = None,
        since: float | None = None,
        until: float | None = None,
        step_s: int = 60,
        release: str | None = None,
    ) -> list[KpiPoint]:
        """KPIs per `step_s` seconds (a multiple of 60) over [since, until), oldest first;
        all agents summed unless `agent` is given. Buckets without runs or feedback are absent.
        Both ends are rounded down to their minute, so adjacent windows never share a run."""
        if step_s < 60 or step_s % 60:
            raise TetherError(ErrorCode.BAD_REQUEST, "step_s must be a positive multiple of 60")
        values = self._grouped(kpi_minutes, step_s, agent, since, until, release)
        latency = self._latency(step_s, agent, since, until, release)
        return [
            KpiPoint(start, row, latency.get(start, {})) for start, row in sorted(values.items())
        ]

    def series_by_agent(
        self,
        since: float | None = None,
        until: float | None = None,
        step_s: int = 60,
    ) -> dict[str, list[KpiPoint]]:
        """`series` for every agent with data in the range."""
        return {a: self.series(a, since, until, step_s) for a in self.agents(since, until)}

    def totals(
        self,
        agent: str | None = None,
        since: float | None = None,
        until: float | None = None,
        release: str | None = None,
    ) -> KpiPoint:
        """KPIs over the whole range as one point (its `start` is the range's start)."""
        start = minute_of(since) if since is not None else 0
        return merge(self.series(agent, since, until, 60, release), start)

    def agents(self, since: float | None = None, until: float | None = None) -> list[str]:
        """Agents with rollups in the range."""
        query = select(kpi_minutes.c.agent).distinct().order_by(kpi_minutes.c.agent)
        query = query.where(*self._range(kpi_minutes, since, until))
        with self._connect() as conn:
            return [str(a) for a in conn.execute(query).scalars()]

    def counts(
        self,
        metric: str,
        agent: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[CountRow]:
        """Counts of one metric over the range, by subject and key, largest first. Metrics:
        `tool_error` (tool, code), `rule_hit` (policy rule, effect), `policy_hit` (policy id,
        effect), `verdict` (check, effect), `decision` (kind, code)."""
        total = func.sum(kpi_counts.c.count)
        query = (
            select(kpi_counts.c.subject, kpi_counts.c.key, total.label("n"))
            .where(kpi_counts.c.metric == metric, *self._range(kpi_counts, since, until))
            .group_by(kpi_counts.c.subject, kpi_counts.c.key)
            .order_by(total.desc(), kpi_counts.c.subject, kpi_counts.c.key)
        )
        if agent is not None:
            query = query.where(kpi_counts.c.agent == agent)
        with self._connect() as conn:
            return [CountRow(str(s), str(k), int(n)) for s, k, n in conn.execute(query)]

    def tool_error_counts(
        self, agent: str | None = None, since: float | None = None, until: float | None = None
    ) -> list[CountRow]:
        """Failed tool calls by tool (`subject`) and error code (`key`)."""
        return self.counts("tool_error", agent, since, until)

    def rule_hit_counts(
        self, agent: str | None = None, since: float | None = None, until: float | None = None
    ) -> list[CountRow]:
        """Policy verdicts by determining rule (`subject`) and effect (`key`)."""
        return self.counts("rule_hit", agent, since, until)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _range(table: Table, since: float | None, until: float | None) -> list[Any]:
        # both ends round down to their minute, the rollups' grain: rounded alike, windows
        # that meet share a boundary minute and partition the runs, whatever second they meet at
        out = []
        if since is not None:
            out.append(table.c.minute >= minute_of(since))
        if until is not None:
            out.append(table.c.minute < minute_of(until))
        return out

    def _filters(
        self,
        table: Table,
        agent: str | None,
        since: float | None,
        until: float | None,
        release: str | None,
    ) -> Any:
        conditions = self._range(table, since, until)
        if agent is not None:
            conditions.append(table.c.agent == agent)
        if release is not None:
            conditions.append(table.c.release == (release or NO_RELEASE))
        return and_(true(), *conditions)

    def _grouped(
        self,
        table: Table,
        step_s: int,
        agent: str | None,
        since: float | None,
        until: float | None,
        release: str | None,
    ) -> dict[int, dict[str, float]]:
        start = (table.c.minute - table.c.minute % step_s).label("t")
        sums = [func.sum(table.c[c]).label(c) for c in _VALUE_COLUMNS]
        query = (
            select(start, *sums)
            .where(self._filters(table, agent, since, until, release))
            .group_by(start)
        )
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {int(r["t"]): {c: float(r[c] or 0) for c in _VALUE_COLUMNS} for r in rows}

    def _latency(
        self,
        step_s: int,
        agent: str | None,
        since: float | None,
        until: float | None,
        release: str | None,
    ) -> dict[int, dict[int, int]]:
        t = kpi_latency
        start = (t.c.minute - t.c.minute % step_s).label("t")
        query = (
            select(start, t.c.bucket, func.sum(t.c.count).label("n"))
            .where(self._filters(t, agent, since, until, release))
            .group_by(start, t.c.bucket)
        )
        out: dict[int, dict[int, int]] = defaultdict(dict)
        with self._connect() as conn:
            for s, bucket, n in conn.execute(query):
                out[int(s)][int(bucket)] = int(n)
        return out

    def _begin(self) -> Any:
        try:
            return self.engine.begin()
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"KPI store: {exc.orig}") from None

    def _connect(self) -> Any:
        try:
            return self.engine.connect()
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"KPI store: {exc.orig}") from None
