"""The approvals endpoints: `GET /v1/approvals`, `GET /v1/approvals/{id}`, and
`POST /v1/approvals/{id}/approve|reject`, plus the dashboard inbox over the same service.

Reading needs `runs:read` (viewers see what waits); deciding needs `approvals:decide`
(approvers and admins). A decision resumes the run before the response is sent, so the
response carries the run as the decision left it (usually ended).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tether.access.operators import Operator, Permission
from tether.approvals.requests import Approval, ApprovalStatus, Approver
from tether.approvals.service import ApprovalService, Decided
from tether.approvals.store import MAX_NOTE_CHARS
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.server.dashboard_approvals import PendingApproval
from tether.server.inputs import MAX_OFFSET, StoredText
from tether.server.operator_auth import OperatorAuthError
from tether.server.problems import problem_responses
from tether.server.run_events import MAX_WAIT_S

AUTH = (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID, ErrorCode.ROLE_FORBIDDEN)
DECIDE_ERRORS = (
    ErrorCode.BAD_REQUEST,
    ErrorCode.APPROVAL_NOT_FOUND,
    ErrorCode.APPROVAL_ALREADY_DECIDED,
    ErrorCode.APPROVAL_EXPIRED,
    ErrorCode.APPROVER_IS_REQUESTER,
    ErrorCode.STORE_UNAVAILABLE,
    *AUTH,
)


class ApprovalOut(BaseModel):
    """An approval request: the exact action, why it needs a person, who may decide, until
    when, and (once decided) by whom."""

    id: str
    run_id: str
    step_seq: int = Field(description="the step that suspended the run")
    status: ApprovalStatus
    tool: str
    arguments: dict[str, Any]
    argument_hash: str = Field(description="sha256 of the canonical tool and arguments")
    call_id: str
    principal: str
    requested_by: str = Field(description="may not decide this request")
    agent: str
    reasons: list[str]
    policies: list[str]
    approver_role: str
    queue: str
    risk: str
    created_at: float
    expires_at: float
    decided_at: float | None
    decided_by: str | None
    note: str | None


class ApprovalPage(BaseModel):
    approvals: list[ApprovalOut]
    total: int
    limit: int
    offset: int


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: StoredText = Field(default="", max_length=MAX_NOTE_CHARS, description="why (audited)")


class ApproveIn(RejectIn):
    argument_hash: StoredText | None = Field(
        default=None,
        max_length=80,
        description="the hash the approver reviewed; refused if the request's differs",
    )


class DecidedOut(BaseModel):
    approval: ApprovalOut
    run: dict[str, Any] = Field(description="the run as the decision left it, without steps")


def approver(operator: Operator) -> Approver:
    return Approver(actor=operator.actor, role=operator.role.value, name=operator.name)


# waits for a decided run to settle: (run id, seconds) → the run then
Settle = Callable[[str, float], Awaitable[Run]]
WAIT = Query(0.0, ge=0, le=MAX_WAIT_S, description="seconds to wait for the run to end (0-60)")


def approvals_router(
    service: ApprovalService,
    reader: Callable[..., Awaitable[Operator]],
    caller: Callable[..., Awaitable[Operator]],
    settle: Settle | None = None,
) -> APIRouter:
    """The endpoints over `service`; `reader` authenticates the caller and checks its role,
    `caller` only authenticates it (401), as `tether.server.operator_auth.require` makes them:
    the decide routes check the role themselves, so a refusal is audited. A decided run
    continues on a worker; `?wait=SECONDS` answers once it has settled (`settle`), or with it as
    it is then."""
    router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
    can_read = Depends(reader)

    async def decider(approval_id: StoredText, operator: Operator = Depends(caller)) -> Operator:
        """403 ROLE_FORBIDDEN unless the key may decide approvals (checked before the body is
        read); the attempt is audited (`approval.refused`) like any refused decision."""
        try:
            operator.require(Permission.APPROVALS_DECIDE)
        except TetherError as exc:
            await run_in_threadpool(service.refused, approval_id, approver(operator), exc)
            raise OperatorAuthError(exc.code, exc.message) from None
        return operator

    @router.get(
        "",
        response_model=ApprovalPage,
        summary="List approval requests (pending ones oldest first)",
        responses=problem_responses(ErrorCode.BAD_REQUEST, ErrorCode.STORE_UNAVAILABLE, *AUTH),
        dependencies=[can_read],
    )
    def list_approvals(
        status: Literal["pending", "approved", "rejected", "expired", "all"] = Query("pending"),
        queue: StoredText | None = Query(None, max_length=64),
        run_id: StoredText | None = Query(None, max_length=64),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ) -> dict[str, Any]:
        wanted = None if status == "all" else ApprovalStatus(status)
        found = service.list(wanted, queue, run_id, limit, offset)
        now = service.clock.now()
        return {
            "approvals": [a.to_dict(now) for a in found],
            "total": service.count(wanted, queue, run_id),
            "limit": limit,
            "offset": offset,
        }

    @router.get(
        "/{approval_id}",
        response_model=ApprovalOut,
        summary="One approval request",
        responses=problem_responses(
            ErrorCode.BAD_REQUEST, ErrorCode.APPROVAL_NOT_FOUND, ErrorCode.STORE_UNAVAILABLE, *AUTH
        ),
        dependencies=[can_read],
    )
    def get_approval(approval_id: StoredText) -> dict[str, Any]:
        return service.get(approval_id).to_dict(service.clock.now())

    @router.post(
        "/{approval_id}/approve",
        response_model=DecidedOut,
        summary="Approve: the approved call runs, then the run continues",
        responses=problem_responses(ErrorCode.ARGUMENTS_NOT_APPROVED, *DECIDE_ERRORS),
    )
    async def approve(
        approval_id: StoredText,
        body: ApproveIn | None = None,
        wait: float = WAIT,
        operator: Operator = Depends(decider),
    ) -> dict[str, Any]:
        given = body or ApproveIn()
        decided = await run_in_threadpool(
            service.approve, approval_id, approver(operator), given.note, given.argument_hash
        )
        return await _settled(decided, wait)

    @router.post(
        "/{approval_id}/reject",
        response_model=DecidedOut,
        summary="Reject: the run ends in a refusal",
        responses=problem_responses(*DECIDE_ERRORS),
    )
    async def reject(
        approval_id: StoredText,
        body: RejectIn | None = None,
        wait: float = WAIT,
        operator: Operator = Depends(decider),
    ) -> dict[str, Any]:
        note = (body or RejectIn()).note
        decided = await run_in_threadpool(service.reject, approval_id, approver(operator), note)
        return await _settled(decided, wait)

    async def _settled(decided: Decided, wait: float) -> dict[str, Any]:
        out = decided.to_dict(service.clock.now())
        if settle is not None and wait > 0 and decided.run.status is RunStatus.RUNNING:
            out["run"] = (await settle(decided.run.id, wait)).to_dict()
        return out

    return router


class ApprovalsInbox:
    """The dashboard's `ApprovalInbox` over the approvals service."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    def pending(self, limit: int) -> Sequence[PendingApproval]:
        return [_pending(a) for a in self.service.list(ApprovalStatus.PENDING, limit=limit)]

    def decide(self, approval_id: str, approve: bool, operator: Operator, note: str) -> None:
        self.service.decide(approval_id, approve, approver(operator), note)


def _pending(a: Approval) -> PendingApproval:
    return PendingApproval(
        id=a.id,
        run_id=a.run_id,
        principal=a.principal_id,
        tool=a.tool,
        arguments=dict(a.arguments),
        argument_hash=a.argument_hash,
        reasons=a.reasons,
        policies=a.policies,
        approver_role=a.approver_role,
        requested_at=a.created_at,
        expires_at=a.expires_at,
    )
