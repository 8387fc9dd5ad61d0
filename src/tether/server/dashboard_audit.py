"""The audit page: the hash chain verified end to end on every visit (events, links, head and
signed checkpoints), and the newest events, filterable by kind and run, paged by sequence."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, select

from tether.access.audit import StoredEvent
from tether.access.operators import Operator, Permission
from tether.access.storage import connect
from tether.core.errors import ErrorCode, TetherError
from tether.server.inputs import plain_digits
from tether.store.access_schema import audit_events

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

EVENTS_SHOWN = 50
MAX_FILTER_CHARS = 64
MAX_SEQ_DIGITS = 18


def newest_events(
    engine: Engine, before: int | None, kind: str, run_id: str, limit: int = EVENTS_SHOWN
) -> list[StoredEvent]:
    """Events newest first, below sequence `before` when given, of one kind or run if asked."""
    query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_events.c.seq < before)
    if kind:
        query = query.where(audit_events.c.kind == kind)
    if run_id:
        query = query.where(audit_events.c.run_id == run_id)
    with connect(engine) as conn:
        return [StoredEvent(*row) for row in conn.execute(query).all()]


def _check(before: str, kind: str, run: str) -> int | None:
    if before and (not plain_digits(before) or len(before) > MAX_SEQ_DIGITS):
        raise TetherError(ErrorCode.BAD_REQUEST, "before must be an event sequence number")
    if len(kind) > MAX_FILTER_CHARS or len(run) > MAX_FILTER_CHARS:
        detail = f"kind and run are at most {MAX_FILTER_CHARS} characters"
        raise TetherError(ErrorCode.BAD_REQUEST, detail)
    return int(before) if before else None


def add_audit_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /audit` (needs the audit:read permission)."""

    @router.get("/audit", response_class=HTMLResponse, name="dashboard_audit")
    def audit_page(
        request: Request, before: str = "", kind: str = "", run: str = ""
    ) -> HTMLResponse:
        gate = dash.gate(request, Permission.AUDIT_READ)
        if not isinstance(gate, Operator):
            return gate
        kind, run = kind.strip(), run.strip()
        try:
            below = _check(before.strip(), kind, run)
        except TetherError as exc:
            return dash.error(request, 400, exc.code, exc.message)
        access = dash.access
        started = time.perf_counter()
        report = access.verify_audit()
        verify_ms = (time.perf_counter() - started) * 1000
        events = newest_events(access.engine, below, kind, run)
        older: str | None = None
        if len(events) == EVENTS_SHOWN:
            params: dict[str, Any] = {"before": events[-1].seq, "kind": kind, "run": run}
            url = request.url_for("dashboard_audit")
            older = str(url.include_query_params(**{k: v for k, v in params.items() if v}))
        head_seq: int | str
        try:
            head_seq, head_hash = access.audit.head()
        except (TypeError, ValueError):  # a rewritten head row: the verification names it
            head_seq, head_hash = "unreadable", ""
        context = {
            "report": report,
            "reason": report.reason,
            "verify_ms": verify_ms,
            "head_seq": head_seq,
            "head_hash": head_hash,
            "checkpoints": [c.to_dict() for c in reversed(access.audit.checkpoints()[-5:])],
            "events": [e.to_dict() for e in events],
            "kind": kind,
            "run": run,
            "older_url": older,
            "paged": below is not None,
        }
        return dash.render(request, "audit.html", context)
