"""Runs record the operator key that asked for them (`runs.operator`, revision 0017), and the
store counts a principal's and an operator's runs in flight in one statement, on an index, on
SQLite and PostgreSQL. Runs started from Python (CLI, demo, SDK) leave the column empty and
pay no extra statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select

from tests.store.statements import statements
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Message, Run, RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.store.db import _alembic_config, migrate
from tether.store.in_flight import InFlight
from tether.store.runs import RunStore
from tether.store.schema import runs

ALICE, BOB = "operator:k_alice", "operator:k_bob"


def _run(run_id: str, status: RunStatus, principal: str, operator: str | None) -> Run:
    metadata = {"operator": operator} if operator is not None else {}
    return Run(
        id=run_id,
        agent="a",
        principal_id=principal,
        status=status,
        created_at=100.0,
        updated_at=100.0,
        input={"messages": [], "metadata": metadata},
        trace_id=f"trace-{run_id}",
    )


def _operators(store: RunStore) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(runs.c.id, runs.c.operator)).all())


def test_runs_in_flight_per_principal_and_operator(store_url: str) -> None:
    store = RunStore.open(store_url)
    try:
        for run_id, status, principal, operator in [
            ("r1", RunStatus.QUEUED, "u1", ALICE),
            ("r2", RunStatus.RUNNING, "u2", ALICE),
            ("r3", RunStatus.SUSPENDED, "u1", ALICE),  # waits for a person: not in flight
            ("r4", RunStatus.COMPLETED, "u1", ALICE),
            ("r5", RunStatus.RUNNING, "u1", BOB),
            ("r6", RunStatus.QUEUED, "u1", None),  # started from Python
        ]:
            store.create_run(_run(run_id, status, principal, operator), {})
        assert _operators(store) == {
            "r1": ALICE,
            "r2": ALICE,
            "r3": ALICE,
            "r4": ALICE,
            "r5": BOB,
            "r6": None,
        }
        with statements(store.engine) as seen:
            counted = store.in_flight("u1", ALICE)
        assert (counted.principal, counted.operator) == (3, 2)  # u1: r1, r5, r6
        assert len(seen) == 1  # both counts, one statement
        other = store.in_flight("u2", BOB)
        assert (other.principal, other.operator) == (1, 1)
        assert store.in_flight(None, "operator:k_nobody").operator == 0
        assert store.in_flight("nobody", None).principal == 0
    finally:
        store.close()


def test_the_operator_count_reads_only_its_index(store_url: str) -> None:
    store = RunStore.open(store_url)
    try:
        with statements(store.engine) as seen:
            store.in_flight(None, ALICE)
        ((statement, params),) = seen
        with store.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                detail = " ".join(str(row[-1]) for row in plan)
                assert "COVERING INDEX ix_runs_operator_status" in detail, detail
            else:  # an empty table would be scanned anyway; the index must be usable
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
                detail = " ".join(str(row[0]) for row in plan)
                assert "ix_runs_operator_status" in detail, detail
    finally:
        store.close()


def test_python_api_runs_leave_the_operator_empty_and_count_nothing(tmp_path: Path) -> None:
    desk = open_retail_desk(
        RunStore.open(f"sqlite:///{tmp_path / 't.db'}"), db=RetailDB.fresh_copy()
    )
    try:
        request = RunRequest("raj_sanchez_2970", [Message("user", "hello")])
        model = ScriptedModel(parse_script([{"answer": "Hello! How can I help?"}]))
        with statements(desk.store.engine) as seen:
            queued = desk.runtime.submit(request)
            ran = desk.runtime.run(request, model)
        assert ran.status is RunStatus.COMPLETED
        assert _operators(desk.store) == {queued.id: None, ran.id: None}
        assert not [s for s, _ in seen if "count(" in s.lower()]
        inserts = [s for s, _ in seen if s.lstrip().upper().startswith("INSERT INTO RUNS ")]
        assert len(inserts) == 2  # one row each, the operator column within it
    finally:
        desk.store.close()


def test_revision_0017_adds_the_column_and_comes_off_again(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    try:
        store.create_run(_run("old", RunStatus.QUEUED, "u1", None), {})
        cfg = _alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0017-1")
        assert "operator" not in {c["name"] for c in inspect(store.engine).get_columns("runs")}
        migrate(store.engine)
        indexes = {i["name"]: i["column_names"] for i in inspect(store.engine).get_indexes("runs")}
        assert indexes["ix_runs_operator_status"] == ["operator", "status"]
        assert _operators(store) == {"old": None}
        assert store.get_run("old").status is RunStatus.QUEUED
    finally:
        store.close()


class _AtMost:
    """A quota of `limit` runs in flight per principal and per operator key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: list[InFlight] = []

    def admit(self, held: InFlight, principal: str) -> None:
        self.seen.append(held)
        if max(held.principal, held.operator) >= self.limit:
            raise TetherError(ErrorCode.QUOTA_EXCEEDED, f"{principal} is at its limit")


def test_a_run_inserted_under_a_quota_is_counted_under_its_lock_and_refused_whole(
    store_url: str,
) -> None:
    store = RunStore.open(store_url)
    quota = _AtMost(2)
    try:
        with statements(store.engine) as free:
            store.create_run(_run("r0", RunStatus.QUEUED, "u1", ALICE), {})
        assert len(free) == 1  # no quota: the insert alone, no lock and no count
        with statements(store.engine) as seen:
            store.create_run(_run("r1", RunStatus.QUEUED, "u1", ALICE), {}, quota=quota)
        sql = [s.split()[0:2] for s, _ in seen]
        lock = ["BEGIN", "IMMEDIATE"] if store.engine.dialect.name == "sqlite" else None
        if lock is not None:  # the write lock comes before the count reads
            assert sql[0] == lock, sql
        else:
            assert "pg_advisory_xact_lock" in seen[0][0], seen
        assert len(seen) == 3 and seen[2][0].startswith("INSERT INTO runs"), seen
        assert quota.seen == [InFlight(1, 1)]  # r0, counted before r1 was inserted
        with pytest.raises(TetherError) as caught:
            store.create_run(_run("r2", RunStatus.QUEUED, "u2", ALICE), {}, quota=quota)
        assert caught.value.code is ErrorCode.QUOTA_EXCEEDED
        assert set(_operators(store)) == {"r0", "r1"}  # the refused run was not stored
        store.create_run(_run("r3", RunStatus.QUEUED, "u3", BOB), {}, quota=quota)  # another key
    finally:
        store.close()
