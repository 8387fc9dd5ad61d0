"""Runs: the filtered, paginated list; one run (timeline, lineage, verdicts, tool attempts, the
token's scopes, feedback, audit events, the conversation turn it is); and one step in full."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run
from tether.release.bundle import is_release_id
from tether.server.dashboard_conversations import turns_of_runs
from tether.server.dashboard_core import page_number, parse_time_input
from tether.server.dashboard_lineage import capability, evidence_index, lineage
from tether.store.runs import RunFilter

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

PAGE_SIZE = 25
PREVIEW_CHARS = 90
MAX_TEXT_FILTER = 256
AUDIT_EVENTS_SHOWN = 200
CODES = tuple(c.value for c in ErrorCode)
KINDS = tuple(k.value for k in DecisionKind)


def _preview(run: Run) -> str:
    messages = run.input.get("messages") or []
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    text = " ".join(str(users[-1]).split()) if users else ""
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@dataclass(frozen=True)
class RunQuery:
    """The runs list's filters as the form sends them (strings), checked."""

    decision: str = ""
    code: str = ""
    agent: str = ""
    principal: str = ""
    since: str = ""
    until: str = ""
    release: str = ""

    def check(self) -> RunFilter:
        """The store filter; BAD_REQUEST naming the first bad field."""
        if self.decision and self.decision not in KINDS:
            raise TetherError(ErrorCode.BAD_REQUEST, f"decision must be one of {', '.join(KINDS)}")
        if self.code and self.code not in CODES:
            raise TetherError(ErrorCode.BAD_REQUEST, f"{self.code[:64]!r} is not an error code")
        for name in ("agent", "principal"):
            if len(getattr(self, name)) > MAX_TEXT_FILTER:
                detail = f"{name} is at most {MAX_TEXT_FILTER} characters"
                raise TetherError(ErrorCode.BAD_REQUEST, detail)
        if self.release and not is_release_id(self.release):
            detail = f"{self.release[:64]!r} is not a release id (rel_ and 16 hex digits)"
            raise TetherError(ErrorCode.BAD_REQUEST, detail)
        since = parse_time_input(self.since) if self.since else None
        until = parse_time_input(self.until) if self.until else None
        if since is not None and until is not None and until <= since:
            raise TetherError(ErrorCode.BAD_REQUEST, "until must be later than since")
        return RunFilter(
            decision=DecisionKind(self.decision) if self.decision else None,
            decision_code=self.code or None,
            agent=self.agent or None,
            principal_id=self.principal or None,
            since=since,
            until=until,
            release=self.release or None,
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def add_run_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /` (runs), `GET /runs/{id}` (one run), `GET /runs/{id}/steps/{seq}` (one step)."""
    store = dash.desk.store

    @router.get("/", response_class=HTMLResponse, name="dashboard_runs")
    def runs_page(
        request: Request,
        decision: str = "",
        code: str = "",
        agent: str = "",
        principal: str = "",
        since: str = "",
        until: str = "",
        release: str = "",
        page: str = "1",
    ) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        fields = (decision, code, agent, principal, since, until, release)
        query = RunQuery(*(v.strip() for v in fields))
        try:
            filt = query.check()
            number = page_number(page.strip())
        except TetherError as exc:
            return dash.error(request, 400, exc.code, exc.message)
        base = replace(filt, decision=None)  # the chips count every decision kind
        counts = {"all": store.count_runs(base)}
        for kind in DecisionKind:
            counts[kind.value] = store.count_runs(replace(base, decision=kind))
        total = counts[query.decision] if query.decision else counts["all"]
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if number > pages:
            detail = f"page {number} is past the last page ({pages})"
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
        runs = store.list_runs(filt, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        turns = turns_of_runs(store.engine, [r.id for r in runs])

        def link(**changes: Any) -> str:
            params: dict[str, Any] = {**query.params(), "page": number, **changes}
            kept = urlencode({k: v for k, v in params.items() if v not in ("", None, 1)})
            return str(request.url_for("dashboard_runs").replace(query=kept))

        context = {
            "runs": [
                {**r.to_dict(), "preview": _preview(r), "conversation": turns.get(r.id)}
                for r in runs
            ],
            "counts": counts,
            "kinds": KINDS,
            "codes": CODES,
            "agents": sorted(dash.desk.runtime.agents),
            "q": query,
            "filtered": bool(query.params()),
            "page": number,
            "pages": pages,
            "total": total,
            "prev_url": link(page=number - 1) if number > 1 else None,
            "next_url": link(page=number + 1) if number < pages else None,
            "kind_urls": {k: link(decision=k, page=1) for k in ["", *KINDS]},
        }
        return dash.render(request, "runs.html", context)

    def load(request: Request, run_id: str) -> Run | HTMLResponse:
        try:
            return store.get_run(run_id)
        except TetherError as exc:
            if exc.code is not ErrorCode.RUN_NOT_FOUND:
                raise
            return dash.error(request, 404, exc.code, exc.message)

    @router.get("/runs/{run_id}", response_class=HTMLResponse, name="dashboard_run")
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        run = load(request, run_id)
        if not isinstance(run, Run):
            return run
        scope = next((s for s in run.steps if s.kind.value == "scope"), None)
        events = dash.access.audit.events(run_id=run.id, limit=AUDIT_EVENTS_SHOWN)
        context = {
            "run": run.to_dict(with_steps=True),
            "model": scope.data.get("model", "") if scope else "",
            "evidence_index": evidence_index(run),
            "lineage": lineage(run),
            "token": capability(run),
            "feedback": [f.to_dict() for f in dash.feedback.for_run(run.id)],
            "audit": [e.to_dict() for e in events],
            "conversation": dash.conversations.conversation_of_run(run.id),
        }
        return dash.render(request, "run.html", context)

    @router.get("/runs/{run_id}/steps/{seq}", response_class=HTMLResponse, name="dashboard_step")
    def step_page(request: Request, run_id: str, seq: str) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        run = load(request, run_id)
        if not isinstance(run, Run):
            return run
        step = next((s for s in run.steps if str(s.seq) == seq), None)
        if step is None:
            detail = f"run {run.id} has no step {seq[:16]!r}"
            return dash.error(request, 404, ErrorCode.RUN_NOT_FOUND, detail)
        context = {
            "run": run.to_dict(),
            "step": step.to_dict(),
            "last": len(run.steps),
            "evidence_index": evidence_index(run),
        }
        return dash.render(request, "step.html", context)
