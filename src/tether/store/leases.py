"""Run leases in the store: who executes a RUNNING run, and until when.

A process that executes a run holds its lease and renews it while it works; every step it
writes is fenced by the lease (`RunStore.append_steps(lease=...)`), so a process that stalled
past its lease cannot write over the worker that took the run over. A run ends, or waits for a
person, without a lease. A RUNNING run whose lease expired, or that never had one and has not
moved for a grace period (written before leases existed, or between an approval's decision and
its resume), is recovered by any worker.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.store.db import read_row
from tether.store.schema import runs

_RUNNING = RunStatus.RUNNING.value
_CANCEL_REQUESTED = "SELECT cancel_requested FROM runs WHERE id = ?"
_QUEUED = RunStatus.QUEUED.value

# how long a run in this process goes between model turns without rereading whether someone
# asked to cancel it, unless a cancellation was asked in this process meanwhile (see
# `cancels_asked`): one asked in another process (an API replica, a second worker) is seen at
# the run's next commit or at its first model turn this long after its last look
CANCEL_POLL_S = 0.05
# a run no desk of its agent has touched for this long is any sweep's to end (UNKNOWN_AGENT):
# its pack left the store, or its agent left the pack, and it must still end in a Decision
ORPHANED_AFTER_S = 3600.0

_asked = [0]
_asked_lock = threading.Lock()


def cancels_asked() -> int:
    """How many cancellations this process has recorded: a run reads this before it looks at
    its row, and need not look again before its next model turn while it is unchanged (and
    CANCEL_POLL_S has not passed)."""
    return _asked[0]


def _count_cancel() -> None:
    with _asked_lock:
        _asked[0] += 1


@dataclass(frozen=True)
class Lease:
    owner: str  # unique per execution: a process, a thread and a nonce
    expires_at: float  # epoch seconds


class RunLeases:
    """Claim, renew and free run leases; list the runs a recovery should pick up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, run_id: str, lease: Lease, now: float, grace_s: float | None = None) -> bool:
        """Take `run_id`'s lease if it is QUEUED (it starts RUNNING), or RUNNING and nobody live
        holds it: its lease expired, or it has none (with `grace_s`, only once it has not moved
        for that long, which is how a recovery sweep claims; without, at once, which is how an
        approval's resume does)."""
        values = {
            "run_id": run_id,
            "now": now,
            "owner": lease.owner,
            "expires_at": lease.expires_at,
            "moved_before": None if grace_s is None else now - grace_s,
        }
        with self._begin() as conn:
            return int(conn.execute(_CLAIM[grace_s is not None], values).rowcount) == 1

    def renew(self, owners: Mapping[str, str], expires_at: float) -> set[str]:
        """Extend the leases `owners` (owner -> run id) still hold. Returned: the owners whose
        run is still RUNNING without their lease (another worker took it over, or it was let
        go). A run that ended or waits for a person meanwhile is not lost, and not returned:
        its lease ended with it."""
        if not owners:
            return set()
        statement = (
            update(runs)
            .where(runs.c.lease_owner.in_(list(owners)), runs.c.status == _RUNNING)
            .values(lease_expires_at=expires_at)
        )
        rows = select(runs.c.id, runs.c.status, runs.c.lease_owner).where(
            runs.c.id.in_(set(owners.values()))
        )
        with self._begin() as conn:
            conn.execute(statement)
            now = {row.id: (row.status, row.lease_owner) for row in conn.execute(rows)}
        return {
            owner
            for owner, run_id in owners.items()
            if run_id in now and now[run_id][0] == _RUNNING and now[run_id][1] != owner
        }

    def free(self, run_id: str, owner: str) -> None:
        """Let go of a lease without ending the run (a worker stopping, a store error), so a
        recovery may take it at once rather than when it expires."""
        statement = (
            update(runs)
            .where(runs.c.id == run_id, runs.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        self._write(statement)

    def recoverable(
        self,
        now: float,
        grace_s: float,
        limit: int = 50,
        skip: Sequence[str] = (),
        agents: Collection[str] | None = None,
    ) -> list[str]:
        """RUNNING runs nobody live holds, oldest first, but for those in `skip`; with
        `agents`, only runs of those agents (the ones the sweeping desk can host) and runs of
        any agent that have not moved for `ORPHANED_AFTER_S`."""
        unleased = and_(runs.c.lease_owner.is_(None), runs.c.updated_at < now - grace_s)
        query = (
            select(runs.c.id)
            .where(runs.c.status == _RUNNING, or_(runs.c.lease_expires_at < now, unleased))
            .order_by(runs.c.created_at)
            .limit(limit)
        )
        if skip:
            query = query.where(runs.c.id.not_in(skip))
        if agents is not None:
            orphaned = runs.c.updated_at < now - ORPHANED_AFTER_S
            query = query.where(or_(runs.c.agent.in_(list(agents)), orphaned))
        with self._begin() as conn:
            return [row[0] for row in conn.execute(query)]

    def request_cancel(self, run_id: str, actor: str) -> bool:
        """Ask for a run to be cancelled (first asker kept); False if it has already ended."""
        statement = (
            update(runs)
            .where(runs.c.id == run_id, runs.c.status != RunStatus.COMPLETED.value)
            .values(cancel_requested=func.coalesce(runs.c.cancel_requested, actor[:256]))
        )
        marked = self._write(statement) == 1
        _count_cancel()  # after the commit: a run that then looks at its row finds it
        return marked

    def cancel_requested(self, run_id: str) -> str | None:
        """Who asked to cancel the run, if anyone has (read before a run's model turns)."""
        row = read_row(self.engine, _CANCEL_REQUESTED, (run_id,))
        return str(row[0]) if row is not None and row[0] is not None else None

    def stale_queued(
        self, now: float, grace_s: float, limit: int = 50, agents: Collection[str] | None = None
    ) -> list[str]:
        """QUEUED runs accepted more than `grace_s` ago, oldest first (a queue that died with
        its process may have held them); with `agents`, only runs of those agents and runs of
        any agent accepted more than `ORPHANED_AFTER_S` ago."""
        query = (
            select(runs.c.id)
            .where(runs.c.status == _QUEUED, runs.c.created_at < now - grace_s)
            .order_by(runs.c.created_at)
            .limit(limit)
        )
        if agents is not None:
            orphaned = runs.c.created_at < now - ORPHANED_AFTER_S
            query = query.where(or_(runs.c.agent.in_(list(agents)), orphaned))
        with self._begin() as conn:
            return [row[0] for row in conn.execute(query)]

    def holder(self, run_id: str) -> Lease | None:
        query = select(runs.c.lease_owner, runs.c.lease_expires_at).where(runs.c.id == run_id)
        with self._begin() as conn:
            row = conn.execute(query).first()
        if row is None or row[0] is None:
            return None
        return Lease(row[0], float(row[1]))

    def _write(self, statement: Any) -> int:
        with self._begin() as conn:
            return int(conn.execute(statement).rowcount)

    def _begin(self) -> Any:
        try:
            return self.engine.begin()
        except OperationalError as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"the database is unavailable ({type(exc).__name__})"
            ) from None


def _claim(after_grace: bool) -> Any:
    """`RunLeases.claim`'s statement, built once per kind: a sweep's claim (`after_grace`)
    takes a run without a lease only once it has not moved since `moved_before`."""
    unleased: ColumnElement[bool] = runs.c.lease_owner.is_(None)
    if after_grace:
        unleased = and_(unleased, runs.c.updated_at < bindparam("moved_before"))
    free = or_(
        unleased,
        runs.c.lease_expires_at < bindparam("now"),
        runs.c.lease_owner == bindparam("owner"),
    )
    return (
        update(runs)
        .where(
            runs.c.id == bindparam("run_id"),
            or_(runs.c.status == _QUEUED, and_(runs.c.status == _RUNNING, free)),
        )
        .values(
            status=_RUNNING,
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("expires_at"),
        )
    )


_CLAIM = {after_grace: _claim(after_grace) for after_grace in (False, True)}
