"""Feedback on runs (resolved or not, CSAT, a note, who gave it), rolled into the KPIs.

A feedback row and its KPI contribution are written in one transaction: the rollup of the
minute the feedback arrived in, for the run's agent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.observe.kpi import minute_of
from tether.observe.kpi_store import add_minute
from tether.store.kpi_schema import NO_RELEASE, run_feedback
from tether.store.schema import runs

MAX_NOTE = 2000
MAX_GIVEN_BY = 256


@dataclass(frozen=True)
class Feedback:
    """One piece of feedback on a run."""

    id: int
    run_id: str
    resolved: bool
    csat: int | None
    note: str | None
    given_by: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "resolved": self.resolved,
            "csat": self.csat,
            "note": self.note,
            "given_by": self.given_by,
            "created_at": self.created_at,
        }


def check_feedback(resolved: object, csat: object, note: object, given_by: object) -> None:
    """Raise BAD_REQUEST unless the values are in range (the API validates them too)."""
    if not isinstance(resolved, bool):
        raise TetherError(ErrorCode.BAD_REQUEST, "resolved must be true or false")
    if csat is not None and (
        isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5
    ):
        raise TetherError(ErrorCode.BAD_REQUEST, "csat must be an integer from 1 to 5, or null")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise TetherError(ErrorCode.BAD_REQUEST, f"note must be at most {MAX_NOTE} characters")
    if not isinstance(given_by, str) or not given_by.strip() or len(given_by) > MAX_GIVEN_BY:
        raise TetherError(ErrorCode.BAD_REQUEST, f"given_by must be 1 to {MAX_GIVEN_BY} characters")


class FeedbackStore:
    """Stores feedback on runs and adds it to the run's agent's KPIs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        run_id: str,
        resolved: bool,
        csat: int | None,
        note: str | None,
        given_by: str,
        at: float | None = None,
    ) -> Feedback:
        """Record feedback on `run_id`; RUN_NOT_FOUND for an unknown run."""
        check_feedback(resolved, csat, note, given_by)
        now = time.time() if at is None else at
        row: dict[str, Any] = {
            "run_id": run_id,
            "resolved": resolved,
            "csat": csat,
            "note": note,
            "given_by": given_by,
            "created_at": now,
        }
        values: Mapping[str, float] = {
            "feedback": 1,
            "resolved": int(resolved),
            "csat_count": int(csat is not None),
            "csat_sum": float(csat or 0),
        }
        try:
            with self.engine.begin() as conn:
                found = conn.execute(
                    select(runs.c.agent, runs.c.release_id).where(runs.c.id == run_id)
                ).first()
                if found is None:
                    raise TetherError(ErrorCode.RUN_NOT_FOUND, f"no run with id {run_id!r}")
                new_id = conn.execute(insert(run_feedback).values(row)).inserted_primary_key
                # rolled up with the run's own counts: under the release it executed under
                release = found.release_id or NO_RELEASE
                add_minute(conn, minute_of(now), str(found.agent), release, values)
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"feedback: {exc.orig}") from None
        assert new_id is not None
        return Feedback(int(new_id[0]), **row)

    def for_run(self, run_id: str) -> list[Feedback]:
        """Feedback on a run, oldest first."""
        query = (
            select(run_feedback)
            .where(run_feedback.c.run_id == run_id)
            .order_by(run_feedback.c.created_at, run_feedback.c.id)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except OperationalError as exc:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"feedback: {exc.orig}") from None
        return [
            Feedback(
                int(r["id"]),
                r["run_id"],
                bool(r["resolved"]),
                r["csat"],
                r["note"],
                r["given_by"],
                float(r["created_at"]),
            )
            for r in rows
        ]
