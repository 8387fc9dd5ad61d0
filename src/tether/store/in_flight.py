"""Runs in flight (queued or running), per principal and per operator key: how many there are,
and a quota on them held as a new run's row is inserted.

The count and the insert are one decision: they share a transaction that first takes a lock
which every other insert under the same principal or operator key waits for, so requests sent
at once, to one replica or to many, cannot all find room for one more run. On PostgreSQL the
lock is a transaction-level advisory lock per principal and per operator key, taken in one
order (so no two inserts wait for each other); on SQLite it is the database's write lock,
taken before the count (`BEGIN IMMEDIATE`: pysqlite begins a transaction only at its first
write, and a count read before it would be read outside the lock). An insert with no quota
takes no lock and counts nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, func, literal_column, select

from tether.core.types import RunStatus
from tether.store.db import driver_sql
from tether.store.schema import runs

_IN_FLIGHT = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def _in_flight(column: Any, name: str | None) -> Any:
    """A scalar subquery counting the runs queued or running whose `column` is the parameter
    `name` (0 without one)."""
    if name is None:
        return literal_column("0")
    query = select(func.count()).select_from(runs)
    return query.where(column == bindparam(name), runs.c.status.in_(_IN_FLIGHT)).scalar_subquery()


# (by principal, by operator) → one statement counting both, each on its own index; built once
# (SQLAlchemy keys its compiled form by the statement's structure)
IN_FLIGHT_OF = {
    (by_principal, by_operator): select(
        _in_flight(runs.c.principal_id, "principal" if by_principal else None),
        _in_flight(runs.c.operator, "operator" if by_operator else None),
    )
    for by_principal in (False, True)
    for by_operator in (False, True)
}


@dataclass(frozen=True)
class InFlight:
    """Runs queued or running: one principal's, and one operator key's."""

    principal: int
    operator: int


class Quota(Protocol):
    """How many runs a principal and an operator key may have in flight."""

    def admit(self, held: InFlight, principal: str) -> None:
        """Raise (QUOTA_EXCEEDED) unless one more run of `principal`, asked for by the operator
        key the count `held` is of, fits beside the runs `held`."""
        ...


def lock_key(kind: str, name: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit key) of one quota's subject: the same in
    every process, unlike `hash()`."""
    digest = hashlib.blake2b(f"tether.quota.{kind}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold(conn: Connection, quota: Quota, principal: str, operator: str | None) -> None:
    """Before a new run of `principal` (asked for by the operator key `operator`, if any) is
    inserted on `conn`: take its quota's lock until `conn`'s transaction ends, count the runs in
    flight under it, and let `quota` refuse, which rolls the transaction back. The first
    statement of its transaction, so that the count is read under the lock."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        subjects = {lock_key("principal", principal)}
        if operator is not None:
            subjects.add(lock_key("operator", operator))
        keys = tuple(sorted(subjects))  # one order for every insert: none waits on another
        locks = ", ".join("pg_advisory_xact_lock(?)" for _ in keys)
        conn.exec_driver_sql(driver_sql(conn.dialect, f"SELECT {locks}"), keys)
    both = IN_FLIGHT_OF[True, operator is not None]
    row = conn.execute(both, {"principal": principal, "operator": operator}).one()
    quota.admit(InFlight(int(row[0]), int(row[1])), principal)
