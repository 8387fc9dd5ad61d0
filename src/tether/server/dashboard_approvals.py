"""The approvals inbox: escalated actions waiting for a person, and the approve/reject forms.

The dashboard talks to approvals through `ApprovalInbox`, a two-method protocol; `ServiceInbox`
adapts `tether.approvals.ApprovalService` (durable requests, separation of duties, resuming the
run exactly once) to it. Without a service the page still lists the approval requests that runs
recorded in their policy verdicts, read-only, and says that deciding needs the service.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tether.access.operators import Operator, Permission
from tether.approvals import ApprovalService, Approver
from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import unstorable
from tether.core.types import Run, RunStatus, StepKind
from tether.server.problems import problem_status
from tether.store.runs import RunFilter, RunStore

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

MAX_LISTED = 100
MAX_NOTE_CHARS = 1000
# a browser percent-encodes each UTF-8 byte of a note as 3 characters: up to 12 for a character
# (an emoji), beside the hidden fields (the anti-forgery token and the argument hash)
MAX_DECISION_FORM_BYTES = MAX_NOTE_CHARS * 12 + 512
VERDICTS = ("approve", "reject")


@dataclass(frozen=True)
class PendingApproval:
    """One action waiting for a decision: exactly what would run, why it needs a person, who
    may decide, and until when."""

    id: str  # "" for a request read from a run's record (nothing to decide through)
    run_id: str
    principal: str
    tool: str
    arguments: Mapping[str, Any]
    argument_hash: str
    reasons: tuple[str, ...]
    policies: tuple[str, ...]
    approver_role: str
    requested_at: float
    expires_at: float | None
    requested_by: str = ""  # who started the run (may not decide it)
    queue: str = ""
    risk: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingApproval:
        """From a service's JSON view of a request (`id`, `run_id`, `principal`, `tool`,
        `arguments`, `argument_hash`, `reasons`, `policies`, `approver_role`, `created_at`,
        `expires_at`, and optionally `requested_by`, `queue`, `risk`)."""
        expires = data.get("expires_at")
        return cls(
            id=str(data["id"]),
            run_id=str(data.get("run_id", "")),
            principal=str(data.get("principal", "")),
            tool=str(data.get("tool", "")),
            arguments=dict(data.get("arguments") or {}),
            argument_hash=str(data.get("argument_hash", "")),
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
            policies=tuple(str(p) for p in data.get("policies") or ()),
            approver_role=str(data.get("approver_role", "")),
            requested_at=float(data.get("created_at") or 0.0),
            expires_at=float(expires) if isinstance(expires, int | float) else None,
            requested_by=str(data.get("requested_by") or ""),
            queue=str(data.get("queue") or ""),
            risk=str(data.get("risk") or ""),
        )

    @classmethod
    def from_request(
        cls, approval_id: str, request: Mapping[str, Any], requested_at: float
    ) -> PendingApproval:
        """From the approval request a policy verdict records (`facts["approval"]`)."""
        expires_in = request.get("expires_in_s")
        return cls(
            id=approval_id,
            run_id=str(request.get("run_id", "")),
            principal=str(request.get("principal", "")),
            tool=str(request.get("tool", "")),
            arguments=dict(request.get("arguments") or {}),
            argument_hash=str(request.get("argument_hash", "")),
            reasons=tuple(str(r) for r in request.get("reasons") or ()),
            policies=tuple(str(p) for p in request.get("policies") or ()),
            approver_role=str(request.get("approver_role", "")),
            requested_at=requested_at,
            expires_at=requested_at + float(expires_in)
            if isinstance(expires_in, int | float)
            else None,
        )


@runtime_checkable
class ApprovalInbox(Protocol):
    """What the dashboard needs from the approvals service."""

    def pending(self, limit: int) -> Sequence[PendingApproval]:
        """Open requests, oldest first."""
        ...

    def decide(
        self,
        approval_id: str,
        approve: bool,
        operator: Operator,
        note: str,
        argument_hash: str | None,
    ) -> None:
        """Approve or reject one request as `operator`, who reviewed the arguments whose hash
        is `argument_hash`; raises TetherError (unknown, expired, already decided, decided by
        its requester, the arguments changed since they were reviewed, ...)."""
        ...


SETTLE_S = 10.0


class ServiceInbox:
    """The inbox over `tether.approvals.ApprovalService`: deciding resumes the run."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    def pending(self, limit: int) -> list[PendingApproval]:
        now = self.service.clock.now()
        return [PendingApproval.from_dict(a.to_dict(now)) for a in self.service.list(limit=limit)]

    def decide(
        self,
        approval_id: str,
        approve: bool,
        operator: Operator,
        note: str,
        argument_hash: str | None,
    ) -> None:
        approver = Approver(operator.actor, operator.role.value, operator.name)
        decided = self.service.decide(approval_id, approve, approver, note, argument_hash)
        # a worker continues the run: give it a moment (up to SETTLE_S), so the page the
        # approver lands on shows how the run ended rather than that it is running
        deadline = time.monotonic() + SETTLE_S
        run = decided.run
        while run.status is RunStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
            run = self.service.run_now(run.id)


def as_inbox(found: object) -> ApprovalInbox | None:
    """`found` as an inbox: an `ApprovalInbox` as it is, an `ApprovalService` adapted."""
    if isinstance(found, ApprovalService):
        return ServiceInbox(found)
    return found if isinstance(found, ApprovalInbox) else None


def recorded_requests(store: RunStore, limit: int = MAX_LISTED) -> list[PendingApproval]:
    """Approval requests that runs recorded in their policy verdicts (runs suspended for one,
    then runs that ended escalated), newest first; read-only."""
    waiting = store.list_runs(RunFilter(status=RunStatus.SUSPENDED), limit=limit)
    escalated = store.list_runs(
        RunFilter(decision_code=ErrorCode.POLICY_ESCALATED.value), limit=limit
    )
    out: list[PendingApproval] = []
    for summary in [*waiting, *escalated][:limit]:
        request = _approval_facts(store.get_run(summary.id))
        if request is not None:
            out.append(PendingApproval.from_request("", request, summary.updated_at))
    return out


def _approval_facts(run: Run) -> Mapping[str, Any] | None:
    for step in reversed(run.steps):
        if step.kind is not StepKind.GUARD:
            continue
        for verdict in step.data.get("verdicts", ()):
            request = (verdict.get("facts") or {}).get("approval")
            if isinstance(request, Mapping):
                return request
    return None


def add_approval_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /approvals` (the inbox) and `POST /approvals/{id}/{approve|reject}`."""

    @router.get("/approvals", response_class=HTMLResponse, name="dashboard_approvals")
    def approvals_page(request: Request, decided: str = "", id: str = "") -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        inbox = dash.approvals(request)
        if inbox is not None:
            items = list(inbox.pending(MAX_LISTED))
        else:
            items = recorded_requests(dash.desk.store)
        context = {
            "items": [_view(a) for a in items],
            "live": inbox is not None,
            "decided": decided if decided in VERDICTS else "",
            "decided_id": id[:128],
        }
        return dash.render(request, "approvals.html", context)

    @router.post("/approvals/{approval_id}/{verdict}", name="dashboard_decide")
    async def decide(request: Request, approval_id: str, verdict: str) -> Response:
        gate = await run_in_threadpool(dash.gate, request, Permission.APPROVALS_DECIDE)
        if not isinstance(gate, Operator):
            return gate
        if verdict not in VERDICTS:
            return dash.error(
                request, 404, ErrorCode.BAD_REQUEST, "approve or reject, nothing else"
            )
        body = await request.body()
        if len(body) > MAX_DECISION_FORM_BYTES:
            return dash.error(request, 413, ErrorCode.INPUT_TOO_LARGE, "the form is too large")
        form = parse_qs(body.decode("utf-8", "replace"))
        refused = dash.refuse_forgery(request, form)  # another site, or no session token
        if refused is not None:
            return refused
        note = (form.get("note") or [""])[0].strip()
        reviewed = (form.get("argument_hash") or [""])[0].strip() or None
        if len(note) > MAX_NOTE_CHARS:
            detail = f"the note is longer than {MAX_NOTE_CHARS} characters"
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
        unfit = unstorable(note + (reviewed or ""))
        if unfit is not None:
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, f"the form: {unfit}")
        inbox = dash.approvals(request)
        if inbox is None:
            detail = "no approvals service is connected to this server; nothing can be decided"
            return dash.error(request, 503, ErrorCode.CONFIG_INVALID, detail)
        try:
            await run_in_threadpool(
                inbox.decide, approval_id, verdict == "approve", gate, note, reviewed
            )
        except TetherError as exc:
            return dash.error(request, problem_status(exc.code), exc.code, exc.message)
        target = request.url_for("dashboard_approvals").include_query_params(
            decided=verdict, id=approval_id
        )
        return RedirectResponse(str(target), status_code=303)


def _view(a: PendingApproval) -> dict[str, Any]:
    return {
        "id": a.id,
        "run_id": a.run_id,
        "principal": a.principal,
        "tool": a.tool,
        "arguments": dict(a.arguments),
        "argument_hash": a.argument_hash,
        "reasons": list(a.reasons),
        "policies": list(a.policies),
        "approver_role": a.approver_role,
        "requested_at": a.requested_at,
        "expires_at": a.expires_at,
        "requested_by": a.requested_by,
        "queue": a.queue,
        "risk": a.risk,
    }
