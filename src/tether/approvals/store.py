"""The approval repository: requests opened with the step that suspends their run, decided
exactly once, and the decision written as a step of the run in the same transaction.

Every change of status is one conditional UPDATE from `pending` (`WHERE status = 'pending'`
plus the expiry condition), so of two concurrent decisions, or a decision racing the expiry,
exactly one changes the row; the others see why they lost. The winner, in the same
transaction, records an `approval` step on the run, sets the run back to running (from
suspended, conditionally too), appends the audit event and queues the queue's notice.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from tether.access.audit import AuditEvent, AuditLog
from tether.access.storage import begin, connect
from tether.approvals.notices import NoticeOutbox
from tether.approvals.requests import Approval, ApprovalStatus, Approver
from tether.approvals.routing import EscalationConfig
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus, StepKind
from tether.store.approvals_schema import approvals
from tether.store.schema import runs, steps

EXPIRY_ACTOR = "system:expiry"
MAX_NOTE_CHARS = 1000
# failed attempts worth an audit event: someone tried to decide and was refused
_AUDITED_REFUSALS = frozenset(
    {
        ErrorCode.APPROVAL_NOT_FOUND,
        ErrorCode.APPROVAL_ALREADY_DECIDED,
        ErrorCode.APPROVAL_EXPIRED,
        ErrorCode.APPROVER_IS_REQUESTER,
        ErrorCode.ROLE_FORBIDDEN,
        ErrorCode.ARGUMENTS_NOT_APPROVED,
    }
)
REPLIES = {
    ApprovalStatus.REJECTED: "A supervisor reviewed this request and did not approve it, so "
    "nothing was changed.",
    ApprovalStatus.EXPIRED: "The approval this request needed was not given in time, so "
    "nothing was changed.",
}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decided_step(
    approval: Approval, status: ApprovalStatus, actor: str, now: float
) -> dict[str, Any]:
    """The data of the step a decision adds to the run (what the resumed run acts on)."""
    data: dict[str, Any] = {
        "approval_id": approval.id,
        "call": approval.call().to_dict(),
        "status": status.value,
        "tool": approval.tool,
        "arguments": dict(approval.arguments),
        "argument_hash": approval.argument_hash,
        "policies": list(approval.policies),
        "decided_by": actor,
        "note": approval.note or "",
        "waited_s": round(max(0.0, now - approval.created_at), 3),
    }
    if status is ApprovalStatus.REJECTED:
        why = f": {approval.note}" if approval.note else ""
        data["code"] = ErrorCode.APPROVAL_REJECTED.value
        data["message"] = f"{actor} rejected {approval.tool}{why}"
    elif status is ApprovalStatus.EXPIRED:
        data["code"] = ErrorCode.APPROVAL_EXPIRED.value
        data["message"] = f"nobody decided {approval.tool} before {approval.expires_at:.0f}"
    if status in REPLIES:
        data["reply"] = REPLIES[status]
    return data


class ApprovalStore:
    """Opens, reads and decides approval requests in the system of record."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        outbox: NoticeOutbox,
        config: EscalationConfig,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self.outbox = outbox
        self.config = config
        self.clock = clock or SystemClock()

    # -- opening (inside the transaction of the step that suspends the run) ---------------

    def open_in(self, conn: Connection, approval: Approval) -> None:
        conn.execute(insert(approvals).values(approval.row()))
        facts = {
            "approval_id": approval.id,
            "tool": approval.tool,
            "argument_hash": approval.argument_hash,
            "policies": list(approval.policies),
            "approver_role": approval.approver_role,
            "queue": approval.queue,
            "expires_at": approval.expires_at,
        }
        event = AuditEvent("approval.requested", approval.requested_by, facts, approval.run_id)
        self.audit.append_in(conn, [event])
        payload = {"approval": approval.to_dict()}
        self.outbox.add_in(
            conn, "approval.requested", approval.queue, approval.run_id, payload, approval.id
        )

    # -- reads --------------------------------------------------------------------------

    def get(self, approval_id: str) -> Approval:
        """The request; APPROVAL_NOT_FOUND if there is none."""
        with connect(self.engine) as conn:
            row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings()
            found = row.first()
        if found is None:
            raise TetherError(
                ErrorCode.APPROVAL_NOT_FOUND, f"no approval request with id {approval_id!r}"
            )
        return Approval.from_row(found)

    def list(
        self,
        status: ApprovalStatus | None = ApprovalStatus.PENDING,
        queue: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Approval]:
        """Requests with `status` (None: all); pending ones oldest first, others newest first."""
        order = approvals.c.created_at
        query = self._filtered(select(approvals), status, queue, run_id)
        query = query.order_by(order if status is ApprovalStatus.PENDING else order.desc())
        with connect(self.engine) as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [Approval.from_row(r) for r in rows]

    def count(
        self,
        status: ApprovalStatus | None = ApprovalStatus.PENDING,
        queue: str | None = None,
        run_id: str | None = None,
    ) -> int:
        query = self._filtered(select(func.count()).select_from(approvals), status, queue, run_id)
        with connect(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def overdue(self, limit: int = 100) -> builtins.list[str]:
        """Ids of pending requests past their expiry."""
        query = (
            select(approvals.c.id)
            .where(
                approvals.c.status == ApprovalStatus.PENDING.value,
                approvals.c.expires_at <= self.clock.now(),
            )
            .order_by(approvals.c.expires_at)
            .limit(limit)
        )
        with connect(self.engine) as conn:
            return [str(v) for v in conn.execute(query).scalars().all()]

    @staticmethod
    def _filtered(
        query: Any, status: ApprovalStatus | None, queue: str | None, run_id: str | None
    ) -> Any:
        if status is not None:
            query = query.where(approvals.c.status == status.value)
        if queue is not None:
            query = query.where(approvals.c.queue == queue)
        if run_id is not None:
            query = query.where(approvals.c.run_id == run_id)
        return query

    # -- decisions ----------------------------------------------------------------------

    def decide(
        self,
        approval_id: str,
        approve: bool,
        approver: Approver,
        note: str = "",
        argument_hash: str | None = None,
    ) -> Approval:
        """Approve or reject a pending request, exactly once; the run becomes runnable again.

        Raises APPROVAL_NOT_FOUND, APPROVAL_ALREADY_DECIDED, APPROVAL_EXPIRED,
        APPROVER_IS_REQUESTER, ROLE_FORBIDDEN (the approver's role may not decide it) or
        ARGUMENTS_NOT_APPROVED (`argument_hash`, the hash the approver reviewed, differs)."""
        target = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        note = " ".join(note.split())[:MAX_NOTE_CHARS]
        now = self.clock.now()
        try:
            with begin(self.engine) as conn:
                # the write comes first: it takes the row (or SQLite's write lock) before any read
                claim = (
                    update(approvals)
                    .where(
                        approvals.c.id == approval_id,
                        approvals.c.status == ApprovalStatus.PENDING.value,
                        approvals.c.expires_at > now,
                    )
                    .values(
                        status=target.value, decided_at=now, decided_by=approver.actor, note=note
                    )
                )
                won = conn.execute(claim).rowcount == 1
                approval = self._read(conn, approval_id)
                if not won:
                    raise self._not_open(approval, now)
                self._may_decide(approval, approver, argument_hash)
                self._record_decision(conn, approval, target, approver.actor, now)
                return approval
        except TetherError as exc:
            if exc.code in _AUDITED_REFUSALS:
                self.audit_refusal(approval_id, approver, exc)
            raise

    def expire(self, approval_id: str) -> Approval | None:
        """End a pending request past its expiry; None if it was decided or is not yet due."""
        now = self.clock.now()
        with begin(self.engine) as conn:
            claim = (
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.status == ApprovalStatus.PENDING.value,
                    approvals.c.expires_at <= now,
                )
                .values(
                    status=ApprovalStatus.EXPIRED.value, decided_at=now, decided_by=EXPIRY_ACTOR
                )
            )
            if conn.execute(claim).rowcount != 1:
                return None
            approval = self._read(conn, approval_id)
            self._record_decision(conn, approval, ApprovalStatus.EXPIRED, EXPIRY_ACTOR, now)
            return approval

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _read(conn: Connection, approval_id: str) -> Approval:
        row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings()
        found = row.first()
        if found is None:
            raise TetherError(
                ErrorCode.APPROVAL_NOT_FOUND, f"no approval request with id {approval_id!r}"
            )
        return Approval.from_row(found)

    @staticmethod
    def _not_open(approval: Approval, now: float) -> TetherError:
        state = approval.state(now)
        if state is ApprovalStatus.EXPIRED:
            return TetherError(
                ErrorCode.APPROVAL_EXPIRED,
                f"approval {approval.id} expired before anyone decided it",
                {"expires_at": approval.expires_at},
            )
        return TetherError(
            ErrorCode.APPROVAL_ALREADY_DECIDED,
            f"approval {approval.id} was already {state.value} by {approval.decided_by}",
            {"status": state.value, "decided_by": approval.decided_by},
        )

    def _may_decide(self, approval: Approval, who: Approver, argument_hash: str | None) -> None:
        if who.actor in (approval.requested_by, f"principal:{approval.principal_id}"):
            raise TetherError(
                ErrorCode.APPROVER_IS_REQUESTER,
                f"{who.actor} requested this action and may not decide its approval",
            )
        roles = self.config.deciding_roles(approval.approver_role)
        if who.role not in roles:
            raise TetherError(
                ErrorCode.ROLE_FORBIDDEN,
                f"role {who.role!r} may not decide approvals for a {approval.approver_role} "
                f"(allowed: {', '.join(roles)})",
                {"role": who.role, "allowed": list(roles)},
            )
        if argument_hash is not None and argument_hash != approval.argument_hash:
            raise TetherError(
                ErrorCode.ARGUMENTS_NOT_APPROVED,
                "the request's arguments are not the ones that were reviewed",
                {"argument_hash": approval.argument_hash},
            )

    def _record_decision(
        self, conn: Connection, approval: Approval, status: ApprovalStatus, actor: str, now: float
    ) -> None:
        decided = dataclasses.replace(approval, status=status, decided_at=now)
        data = decided_step(decided, status, actor, now)
        run = conn.execute(
            select(runs.c.status, runs.c.step_count, runs.c.checkpoint).where(
                runs.c.id == approval.run_id
            )
        ).first()
        if run is None or run.status != RunStatus.SUSPENDED.value:
            state = "missing" if run is None else run.status
            raise TetherError(
                ErrorCode.INTERNAL,
                f"run {approval.run_id} is {state}, not waiting for approval {approval.id}",
            )
        seq = int(run.step_count) + 1
        checkpoint = {**json.loads(run.checkpoint), "seq": seq}
        conn.execute(
            insert(steps).values(
                run_id=approval.run_id,
                seq=seq,
                kind=StepKind.APPROVAL.value,
                name=status.value,
                started_at=now,
                ended_at=now,
                data=_dumps(data),
            )
        )
        resumed = conn.execute(
            update(runs)
            .where(runs.c.id == approval.run_id, runs.c.status == RunStatus.SUSPENDED.value)
            .values(
                status=RunStatus.RUNNING.value,
                step_count=seq,
                updated_at=now,
                checkpoint=_dumps(checkpoint),
            )
        )
        if resumed.rowcount != 1:
            raise TetherError(ErrorCode.INTERNAL, f"run {approval.run_id} changed concurrently")
        facts = {
            "approval_id": approval.id,
            "tool": approval.tool,
            "argument_hash": approval.argument_hash,
            "note": approval.note or "",
            "waited_s": data["waited_s"],
        }
        event = AuditEvent(f"approval.{status.value}", actor, facts, approval.run_id)
        self.audit.append_in(conn, [event])
        payload = {"approval": decided.to_dict(), "decision": status.value}
        self.outbox.add_in(
            conn, "approval.decided", approval.queue, approval.run_id, payload, approval.id
        )

    def audit_refusal(self, approval_id: str, who: Approver, exc: TetherError) -> None:
        """Record a refused attempt to decide `approval_id` (`approval.refused`), whoever
        refused it: this store, or the control plane before it (a role without the right)."""
        run_id = ""
        with contextlib.suppress(TetherError):  # an unknown id belongs to no run
            run_id = self.get(approval_id).run_id
        facts: Mapping[str, Any] = {
            "approval_id": approval_id[:64],
            "code": exc.code.value,
            "role": who.role,
        }
        self.audit.append([AuditEvent("approval.refused", who.actor, facts, run_id)])
