"""The run repository: runs, their steps and checkpoints, written one step per transaction.

The rows a run and its steps are kept as, and the statements that write them, are in
`tether.store.run_rows`; here are the store, the filter runs are listed by, and the reads."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, or_, select
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Run, RunStatus, Step
from tether.store.db import create_store_engine, default_url, driver_sql, migrate
from tether.store.in_flight import IN_FLIGHT_OF, InFlight, Quota
from tether.store.leases import Lease, RunLeases
from tether.store.run_rows import (
    _INSERT_STEP,
    _RUN_UPDATES,
    NewRun,
    _dumps,
    _insert_run,
    _step,
    decision_from_dict,
    read_input,
    step_json,
)
from tether.store.schema import runs, steps

log = logging.getLogger("tether.store")

_KNOWN_STATUSES = {s.value: s for s in RunStatus if s is not RunStatus.UNKNOWN}
# A run whose Decision names a kind or code this version does not know is read as unknown
# (`decision_from_dict`); its columns copy them, so the status filter finds it in SQL too.
_DECISION_KNOWN = and_(
    or_(runs.c.decision_kind.is_(None), runs.c.decision_kind.in_([k.value for k in DecisionKind])),
    or_(runs.c.decision_code.is_(None), runs.c.decision_code.in_([c.value for c in ErrorCode])),
)


def _unavailable(exc: OperationalError) -> str:
    """A one-line reason, without driver internals or file paths."""
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return f"the database is unavailable ({type(exc.orig).__name__ if exc.orig else 'error'}: {first[:200]})"


# The reads on every request's and run's path, built once: a statement built per call costs
# more than the read itself (SQLAlchemy keys its compiled form by the statement's structure).
_RUN_BY_ID = select(runs).where(runs.c.id == bindparam("run_id"))
_STEPS_OF_RUN = select(steps).where(steps.c.run_id == bindparam("run_id")).order_by(steps.c.seq)


@dataclass(frozen=True)
class RunFilter:
    decision: DecisionKind | None = None
    agent: str | None = None
    principal_id: str | None = None
    status: RunStatus | None = None
    since: float | None = None
    until: float | None = None
    decision_code: str | None = None  # the code of the decision's reason, e.g. STEP_LIMIT
    release: str | None = None  # the release id the run executed under


class RunStore:
    """Persists runs. Every step is committed together with the run's new checkpoint."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.leases = RunLeases(engine)

    @classmethod
    def open(cls, url: str | None = None) -> RunStore:
        """Open (and migrate) the store at `url`, or the configured default."""
        engine = create_store_engine(url or default_url())
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------

    def create_run(
        self,
        run: Run,
        checkpoint: Mapping[str, Any],
        lease: Lease | None = None,
        quota: Quota | None = None,
    ) -> None:
        """Insert a new run; `lease`: held by the process that will execute it. With `quota`,
        only if its principal and operator key are under it, counted and inserted as one
        decision (`tether.store.in_flight`); QUOTA_EXCEEDED, with nothing written, if not."""
        with self._begin() as conn:
            _insert_run(conn, NewRun(run, lease, quota), checkpoint)

    def forget_queued(self, run_id: str) -> bool:
        """Delete `run_id` if it is QUEUED and untouched (no lease, no step): a run the queue
        refused, removed as if never accepted, so that a retry of its request may store it
        again. False when a worker took it meanwhile (it then runs as accepted)."""
        query = delete(runs).where(
            runs.c.id == run_id,
            runs.c.status == RunStatus.QUEUED.value,
            runs.c.lease_owner.is_(None),
            runs.c.step_count == 0,
        )
        with self._begin() as conn:
            return bool(conn.execute(query).rowcount)

    def append_step(
        self,
        step: Step,
        checkpoint: Mapping[str, Any],
        decision: Decision | None = None,
        status: RunStatus | None = None,
        lease: str | None = None,
    ) -> str | None:
        """Record one step and the checkpoint after it, atomically; a decision ends the run."""
        return self.append_steps([step], checkpoint, decision, status, lease=lease)

    def append_steps(
        self,
        new_steps: Sequence[Step],
        checkpoint: Mapping[str, Any],
        decision: Decision | None = None,
        status: RunStatus | None = None,
        hook: Callable[[Connection], None] | None = None,
        lease: str | None = None,
        texts: Mapping[int, str] | None = None,
        create: NewRun | None = None,
    ) -> str | None:
        """Record consecutive steps of one run and the checkpoint after the last, atomically;
        who asked to cancel the run, if anyone has, is returned. With `create`, the run's row
        is inserted first, in the same transaction.

        `hook` runs inside the same transaction after the steps are written (audit events of
        these steps commit with them, or not at all). With `lease` (its owner), nothing is
        written unless the writer still holds the run's lease: LEASE_LOST otherwise, as when a
        stalled process finds its run taken over. A decision, or a wait, frees the lease.
        `texts`: steps' data already serialised by `step_json`, by sequence number."""
        last = new_steps[-1]
        texts = texts or {}
        step_rows = [
            (
                step.run_id,
                step.seq,
                step.kind.value,
                step.name,
                step.started_at,
                step.ended_at,
                texts.get(step.seq) or step_json(step.data),
            )
            for step in new_steps
        ]
        run_row: dict[str, Any] = {
            "step_count": last.seq,
            "updated_at": last.ended_at,
            "checkpoint": _dumps(dict(checkpoint)),
        }
        if decision is not None:
            run_row["status"] = RunStatus.COMPLETED.value
            run_row["decision"] = _dumps(decision.to_dict())
            run_row["decision_kind"] = decision.kind.value
            run_row["decision_code"] = decision.reason.code.value if decision.reason else None
            kind = "finish"
        elif status is not None:
            run_row["status"] = status.value
            kind = "status"
        else:
            kind = "advance"
        sql, columns = _RUN_UPDATES[lease is not None, kind]
        params = (*(run_row[c] for c in columns), last.run_id, *(() if lease is None else (lease,)))
        # a new run's row advanced by these steps is inserted as they leave it, with no update
        # after: nobody can have asked to cancel a run that did not exist, and it holds the
        # lease given
        inserted_as_left = (
            create is not None
            and kind == "advance"
            and (lease is None or (create.lease is not None and create.lease.owner == lease))
        )
        cancel: str | None = None
        with self._begin() as conn:
            if create is not None:
                at = (last.seq, last.ended_at) if inserted_as_left else (0, None)
                _insert_run(conn, create, run_row["checkpoint"], *at)
            if not inserted_as_left:
                written = conn.exec_driver_sql(driver_sql(conn.dialect, sql), params).first()
                if written is None:  # rolls the transaction back: nothing of it is kept
                    if lease is None:
                        raise TetherError(
                            ErrorCode.RUN_NOT_FOUND, f"no run with id {last.run_id!r}"
                        )
                    raise TetherError(
                        ErrorCode.LEASE_LOST, f"run {last.run_id} is no longer held by this process"
                    )
                cancel = None if written[0] is None else str(written[0])
            conn.exec_driver_sql(driver_sql(conn.dialect, _INSERT_STEP), step_rows)
            if hook is not None:
                hook(conn)
        return cancel

    # -- reads --------------------------------------------------------------------------

    def get_run(self, run_id: str, with_steps: bool = True) -> Run:
        key = {"run_id": run_id}
        with self._connect() as conn:
            row = conn.execute(_RUN_BY_ID, key).mappings().first()
            if row is None:
                raise TetherError(ErrorCode.RUN_NOT_FOUND, f"no run with id {run_id!r}")
            step_rows: Sequence[Any] = ()
            if with_steps:
                step_rows = conn.execute(_STEPS_OF_RUN, key).mappings().all()
        return self._run(row, step_rows)

    def listed_decision(self, run_id: str) -> str | None:
        """The decision a run's row is listed and counted by (`kind` or `kind CODE`), or None;
        the columns copy its Decision when it ends."""
        query = select(runs.c.decision_kind, runs.c.decision_code).where(runs.c.id == run_id)
        with self._connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.decision_kind is None:
            return None
        return " ".join(str(v) for v in (row.decision_kind, row.decision_code) if v)

    def steps_after(self, run_id: str, seq: int) -> list[Step]:
        """The steps of `run_id` recorded after step `seq`, in order."""
        query = (
            select(steps).where(steps.c.run_id == run_id, steps.c.seq > seq).order_by(steps.c.seq)
        )
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_step(row) for row in rows]

    def checkpoint(self, run_id: str) -> dict[str, Any]:
        with self._connect() as conn:
            value = conn.execute(select(runs.c.checkpoint).where(runs.c.id == run_id)).scalar()
        if value is None:
            raise TetherError(ErrorCode.RUN_NOT_FOUND, f"no run with id {run_id!r}")
        loaded: dict[str, Any] = json.loads(value)
        return loaded

    def list_runs(
        self, filt: RunFilter | None = None, limit: int = 50, offset: int = 0
    ) -> list[Run]:
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc())
        query = self._filtered(query, filt or RunFilter()).limit(limit).offset(offset)
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [self._run(r, ()) for r in rows]

    def count_runs(self, filt: RunFilter | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(runs), filt or RunFilter())
        with self._connect() as conn:
            return int(conn.execute(query).scalar_one())

    def in_flight(self, principal_id: str | None, operator: str | None) -> InFlight:
        """How many runs are queued or running for `principal_id` and for the operator key
        `operator` (0 for one not given): one statement, each count on its own index."""
        both = IN_FLIGHT_OF[principal_id is not None, operator is not None]
        with self._connect() as conn:
            row = conn.execute(both, {"principal": principal_id, "operator": operator}).one()
        return InFlight(int(row[0]), int(row[1]))

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _filtered(query: Any, f: RunFilter) -> Any:
        if f.decision is not None:
            query = query.where(runs.c.decision_kind == f.decision.value)
        if f.decision_code is not None:
            query = query.where(runs.c.decision_code == f.decision_code)
        if f.agent is not None:
            query = query.where(runs.c.agent == f.agent)
        if f.principal_id is not None:
            query = query.where(runs.c.principal_id == f.principal_id)
        if f.status is RunStatus.UNKNOWN:
            query = query.where(or_(runs.c.status.not_in(list(_KNOWN_STATUSES)), ~_DECISION_KNOWN))
        elif f.status is not None:
            query = query.where(runs.c.status == f.status.value, _DECISION_KNOWN)
        if f.release is not None:
            query = query.where(runs.c.release_id == f.release)
        if f.since is not None:
            query = query.where(runs.c.created_at >= f.since)
        if f.until is not None:
            query = query.where(runs.c.created_at < f.until)
        return query

    @staticmethod
    def _run(row: Mapping[str, Any], step_rows: Sequence[Mapping[str, Any]]) -> Run:
        status = _KNOWN_STATUSES.get(row["status"], RunStatus.UNKNOWN)
        try:
            run_input = read_input(row["input"])
            decision = decision_from_dict(json.loads(row["decision"])) if row["decision"] else None
        except (ValueError, KeyError, TypeError, AttributeError):
            # a newer version's Decision or input, or a row cut short: listed as a run whose
            # state this version does not know (never acted on or replayed), hiding no other
            log.warning("run %s is stored in a form this version cannot read", row["id"])
            run_input, decision, status = {}, None, RunStatus.UNKNOWN
        return Run(
            id=row["id"],
            agent=row["agent"],
            principal_id=row["principal_id"],
            status=status,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            input=run_input,
            decision=decision,
            trace_id=row["trace_id"],
            step_count=row["step_count"],
            steps=tuple(_step(s) for s in step_rows),
            release=row["release_id"] or "",
        )

    def _begin(self) -> Any:
        try:
            return self.engine.begin()
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, _unavailable(exc)) from None

    def _connect(self) -> Any:
        try:
            return self.engine.connect()
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, _unavailable(exc)) from None
