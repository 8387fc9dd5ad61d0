"""What the run loop asks of durable approvals: open a request when a policy escalates a call,
the guard chain of a call once it is approved, and the routing of escalations that end a run.

The loop records the suspension step; `open` gives it the step's data and a hook that writes
the request (and its audit event and queue notice) in that step's transaction, so a run is
never suspended without a request, nor a request opened for a run that is not suspended.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from tether.access.audit import AuditEvent, AuditLog
from tether.access.single_use import CallTokenUses, call_token_id
from tether.access.tokens import CALL_AUDIENCE, CapabilityClaims, CapabilityTokens
from tether.approvals.requests import Approval, ApprovalStatus
from tether.approvals.routing import Escalation, EscalationConfig
from tether.approvals.store import ApprovalStore
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext, ToolCheck
from tether.core.types import (
    Decision,
    Effect,
    Run,
    Step,
    StepKind,
    ToolCall,
    Verdict,
)
from tether.policy.check import argument_hash

Hook = Callable[[Connection], None]
CALL_TOKEN_TTL_S = 60.0  # minted right before the approved call runs; used at most once


def requester(run: Run) -> str:
    """Who asked for the run's actions: the operator who started it, else its principal."""
    metadata = run.input.get("metadata") or {}
    operator = metadata.get("operator") if isinstance(metadata, Mapping) else None
    return str(operator) if operator else f"principal:{run.principal_id}"


def approval_request(verdict: Verdict) -> Mapping[str, Any] | None:
    """The approval request an escalating verdict carries, if any."""
    if verdict.effect is not Effect.ESCALATE:
        return None
    request = verdict.facts.get("approval")
    return request if isinstance(request, Mapping) else None


class DurableApprovals:
    """The loop's approval gate over an `ApprovalStore`."""

    def __init__(
        self,
        store: ApprovalStore,
        tokens: CapabilityTokens,
        risk_of: Callable[[str], str],
        clock: Clock | None = None,
        uses: CallTokenUses | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.risk_of = risk_of
        self.clock = clock or SystemClock()
        self.uses = uses or CallTokenUses(store.engine, tokens.revocations, self.clock)

    @property
    def config(self) -> EscalationConfig:
        return self.store.config

    @property
    def audit(self) -> AuditLog:
        return self.store.audit

    def suspends(self, verdict: Verdict) -> bool:
        """Whether this blocking verdict suspends the run (an escalation with a request)."""
        return approval_request(verdict) is not None

    def open(
        self, run: Run, call: ToolCall, verdict: Verdict, seq: int
    ) -> tuple[dict[str, Any], Hook]:
        """The suspension step's data, and the hook that opens the request with it."""
        request = approval_request(verdict)
        if request is None:
            raise TetherError(ErrorCode.INTERNAL, "only an escalation with a request suspends")
        now = self.clock.now()
        policies = tuple(str(p) for p in request.get("policies") or ())
        approver_role = str(request.get("approver_role") or "supervisor")
        risk = self.risk_of(call.name)
        codes = tuple(r.code.value for r in verdict.reasons)
        queue = self.config.route(Escalation(codes, policies, approver_role, call.name, risk))
        approval = Approval(
            id="apr_" + secrets.token_hex(10),
            run_id=run.id,
            step_seq=seq,
            call_id=call.id,
            tool=call.name,
            arguments=dict(call.arguments),
            argument_hash=argument_hash(call.name, call.arguments),
            principal_id=run.principal_id,
            requested_by=requester(run),
            agent=run.agent,
            reasons=tuple(str(r) for r in request.get("reasons") or ()),
            policies=policies,
            approver_role=approver_role,
            queue=queue,
            risk=risk,
            status=ApprovalStatus.PENDING,
            created_at=now,
            expires_at=now + float(request.get("expires_in_s") or 86_400),
        )
        data = {
            "approval_id": approval.id,
            "call": call.to_dict(),
            "status": ApprovalStatus.PENDING.value,
            "argument_hash": approval.argument_hash,
            "policies": list(policies),
            "reasons": list(approval.reasons),
            "approver_role": approver_role,
            "queue": queue,
            "requested_by": approval.requested_by,
            "expires_at": approval.expires_at,
        }
        return data, lambda conn: self.store.open_in(conn, approval)

    def checks(self, checks: Sequence[ToolCheck], approval: Mapping[str, Any]) -> list[ToolCheck]:
        """The guard chain for an approved call: every check runs again (things may have changed
        while it waited), the approved escalation is waived, and a single-use call token bound
        to the approved arguments must verify last."""
        waived: list[ToolCheck] = [ApprovedEscalation(c, approval) for c in checks]
        return [*waived, ApprovedCallToken(self.tokens, approval, self.uses)]

    def spend(
        self, ctx: GuardContext, call: ToolCall, approval: Mapping[str, Any]
    ) -> Callable[[Connection], bool]:
        """Use the approval's single-use token for `call` inside the transaction that marks
        the call as started (`execute_once`): spent exactly when the call starts."""
        check = ApprovedCallToken(self.tokens, approval, self.uses)

        def spend(conn: Connection) -> bool:
            found = check.token(ctx, call)
            if isinstance(found, Verdict):
                return False
            return self.uses.claim(found, check.approval_id, call.id, conn=conn)

        return spend

    def escalated(self, run: Run, decision: Decision, steps: Sequence[Step]) -> Hook | None:
        """The hook that routes a run ending in an escalation (a hand-off to a person, an
        unknown outcome, a limit) to its queue: an audit event, and the queue's notice."""
        reason = decision.reason
        code = reason.code.value if reason else ""
        tool = _last_tool(steps)
        risk = self.risk_of(tool) if tool else ""
        queue = self.config.route(Escalation((code,), (), "", tool, risk))
        facts = {"queue": queue, "code": code, "tool": tool, "risk": risk}
        summary = {
            "escalation": {
                **facts,
                "run_id": run.id,
                "principal": run.principal_id,
                "agent": run.agent,
                "message": reason.message if reason else "",
            }
        }

        def route(conn: Connection) -> None:
            event = AuditEvent("escalation.routed", requester(run), facts, run.id)
            self.audit.append_in(conn, [event])
            self.store.outbox.add_in(conn, "run.escalated", queue, run.id, summary)

        return route


def _last_tool(steps: Sequence[Step]) -> str:
    for step in reversed(steps):
        if step.kind is StepKind.TOOL:
            return str(step.data.get("tool", step.name))
        if step.kind is StepKind.GUARD and "call" in step.data:
            return str(step.data["call"].get("name", step.name))
    return ""


class ApprovedEscalation:
    """A check whose escalation is waived when it asks for exactly what was approved: the same
    arguments (by hash) and no policy beyond those the approver saw."""

    def __init__(self, inner: ToolCheck, approval: Mapping[str, Any]) -> None:
        self.inner = inner
        self.name = inner.name
        self.approval = approval

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        verdict = self.inner(ctx, call)
        request = approval_request(verdict)
        if verdict.effect is Effect.CONFIRM and verdict.facts.get("escalations"):
            # confirmed by the user and approved by a person: both halves are satisfied
            found = verdict.facts.get("approval")
            confirmed = ctx.is_confirmed(call) and isinstance(found, Mapping)
            request = found if confirmed and isinstance(found, Mapping) else None
        if request is None or not self._covers(request, call):
            return verdict
        approved = {
            "approval_id": self.approval.get("approval_id"),
            "decided_by": self.approval.get("decided_by"),
            "waived": [r.to_dict() for r in verdict.reasons],
        }
        return Verdict(verdict.check, Effect.ALLOW, (), {**verdict.facts, "approved": approved})

    def _covers(self, request: Mapping[str, Any], call: ToolCall) -> bool:
        approved_hash = self.approval.get("argument_hash")
        approved_policies = set(self.approval.get("policies") or ())
        return (
            request.get("argument_hash") == approved_hash
            and argument_hash(call.name, call.arguments) == approved_hash
            and set(request.get("policies") or ()) <= approved_policies
        )


class ApprovedCallToken:
    """The last check of an approved call: the approval's single-use capability token, bound to
    the hash of the approved arguments, is minted and verified against the call about to run,
    and must not have been used. It is used (once) where the call starts: the runtime spends
    it through `DurableApprovals.spend` in the transaction that opens the call's ledger row,
    so the use and the call's start are one fact. Its id derives from the approval, so once
    spent, any presentation (this call checked again, another call, another process) is
    refused with TOKEN_REPLAYED. The guard step recording this verdict carries the
    `approval.token_used` audit event in its transaction (see `RunGovernor.observe`)."""

    name = "approval"

    def __init__(
        self, tokens: CapabilityTokens, approval: Mapping[str, Any], uses: CallTokenUses
    ) -> None:
        self.tokens = tokens
        self.approval = approval
        self.uses = uses

    @property
    def approval_id(self) -> str:
        return str(self.approval.get("approval_id") or "")

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        found = self.token(ctx, call)
        if isinstance(found, Verdict):
            return found
        approval_id = self.approval_id
        if self.uses.used_by(approval_id) is not None:
            return Verdict.deny(
                self.name,
                ErrorCode.TOKEN_REPLAYED,
                f"the token of approval {approval_id} was already used",
                approval_id=approval_id,
            )
        # spent by the runtime when the call starts (`DurableApprovals.spend`), not here
        return Verdict.allow(self.name, approval_id=approval_id, token=found.facts())

    def token(self, ctx: GuardContext, call: ToolCall) -> CapabilityClaims | Verdict:
        """The approval's call token, minted and verified against `call`, or the deny."""
        tool = ctx.tools.get(call.name)
        scopes = tool.spec.required_scopes if tool is not None else ()
        approved_tool = str(self.approval.get("tool", ""))
        arguments = self.approval.get("arguments") or {}
        approval_id = self.approval_id
        if not approval_id:
            return Verdict.deny(self.name, ErrorCode.TOKEN_INVALID, "the call has no approval")
        try:
            token, claims = self.tokens.mint_call(
                ctx.run_id,
                ctx.principal,
                ctx.agent.name,
                approved_tool,
                arguments,
                scopes,
                ttl_s=CALL_TOKEN_TTL_S,
                token_id=call_token_id(approval_id),
            )
            self.tokens.verify(
                token,
                audience=CALL_AUDIENCE,
                run_id=ctx.run_id,
                principal=ctx.principal.id,
                tenant=ctx.principal.tenant,
                tool=call.name,
                required_scopes=scopes,
                arguments=call.arguments,
            )
        except TetherError as exc:
            return Verdict.deny(self.name, exc.code, exc.message, approval_id=approval_id)
        return claims
