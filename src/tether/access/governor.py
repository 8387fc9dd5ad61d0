"""What the run loop asks of the access layer: a run's grant, the token's verification at
execution (see `tether.access.execution`), and the audit events of its steps, written in the
same transaction as the steps themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tether.access.audit import AuditEvent, AuditLog
from tether.access.checks import ResourceCallback, ResourceOwners
from tether.access.execution import ExecutionGate
from tether.access.revocation import Revocations
from tether.access.rights import RoleRights, effective_rights
from tether.access.tokens import CapabilityClaims, CapabilityTokens
from tether.core.guard import GuardContext, GuardResult
from tether.core.types import Agent, Principal, Step, StepKind, ToolCall, ToolSpec

# step kinds whose audit event depends only on the step itself
_BLOCKING = ("deny", "escalate")
APPROVAL_CHECK = "approval"  # the check that uses an approved call's single-use token


@dataclass(frozen=True)
class RunGrant:
    """A run's capability: the signed token (kept in memory only) and its claims."""

    token: str
    claims: CapabilityClaims

    @property
    def tools(self) -> tuple[str, ...]:
        return self.claims.tools

    def facts(self) -> dict[str, Any]:
        """What the scope step records: the token's id, scopes, tools and expiry."""
        return self.claims.facts()


class RunGovernor:
    """Mints each run's token from its effective rights and audits its security events."""

    def __init__(
        self,
        tokens: CapabilityTokens,
        rights: RoleRights,
        audit: AuditLog,
        revocations: Revocations,
    ) -> None:
        self.tokens = tokens
        self.rights = rights
        self.audit = audit
        self.revocations = revocations
        self.gate = ExecutionGate(tokens)

    def bind_resources(
        self,
        owners: ResourceOwners | None,
        selectors: Mapping[str, ResourceCallback] | None = None,
    ) -> None:
        """The domain's ownership data, for checking the token's resource claim at execution."""
        self.gate.bind(owners, selectors)

    def open_run(
        self, run_id: str, principal: Principal, agent: Agent, specs: Iterable[ToolSpec]
    ) -> RunGrant:
        """Effective rights (agent grants ∩ principal rights) as a signed run token."""
        rights = effective_rights(agent, specs, self.rights.scopes_for(principal))
        token, claims = self.tokens.mint_run(
            run_id, principal, agent.name, rights.tools, rights.scopes
        )
        return RunGrant(token, claims)

    def principal_rights(self, principal: Principal) -> list[str]:
        """The scopes the principal's roles confer (what the scope step records)."""
        return sorted(self.rights.scopes_for(principal))

    def regrant(
        self,
        run_id: str,
        principal: Principal,
        agent: Agent,
        specs: Iterable[ToolSpec],
        rights: Iterable[str],
        held: tuple[str, float, float],
    ) -> RunGrant:
        """The grant a recorded run had, for its replay: agent grants ∩ the principal's rights
        as recorded, under the recorded token's `(id, issued_at, expires_at)` (so the token
        checks decide as they did, and their facts name the same token)."""
        granted = effective_rights(agent, specs, frozenset(rights))
        token_id, issued_at, expires_at = held
        token, claims = self.tokens.reissue(
            run_id,
            principal,
            agent.name,
            granted.tools,
            granted.scopes,
            token_id=token_id,
            issued_at=issued_at,
            expires_at=expires_at,
        )
        return RunGrant(token, claims)

    def resume_run(
        self,
        run_id: str,
        principal: Principal,
        agent: Agent,
        specs: Iterable[ToolSpec],
        steps: Sequence[Step],
    ) -> tuple[RunGrant, list[AuditEvent]]:
        """A fresh token for a run resumed by another process; the old one is revoked."""
        grant = self.open_run(run_id, principal, agent, specs)
        # the grant in force when the run stopped: the scope step's, or the latest renewal's
        previous = next(
            (s.data["capability"] for s in reversed(steps) if "capability" in s.data), None
        )
        if isinstance(previous, Mapping) and previous.get("id"):
            self.revocations.revoke(str(previous["id"]), float(previous["expires_at"]))
        facts = {
            "token": grant.facts(),
            "previous_token_id": previous.get("id") if isinstance(previous, Mapping) else None,
        }
        return grant, [AuditEvent("run.resumed", f"principal:{principal.id}", facts, run_id)]

    def recheck(self, ctx: GuardContext, call: ToolCall) -> GuardResult:
        """Verify the token that travels with the call at the moment of execution, from its
        serialized form and the key alone, resource claim included (see `ExecutionGate`)."""
        return GuardResult((self.gate(ctx, call),))

    def observe(self, step: Step, principal: Principal, grant: RunGrant | None) -> list[AuditEvent]:
        """The audit events a recorded step gives rise to (most steps give none)."""
        data = step.data
        actor = f"principal:{principal.id}"
        if step.kind is StepKind.SCOPE:
            facts = {
                "principal": principal.id,
                "tenant": principal.tenant,
                "roles": list(principal.roles),
                "agent": data.get("agent"),
                "model": data.get("model"),
                "requested_by": data.get("requested_by"),
                "token": grant.facts() if grant else None,
            }
            return [
                AuditEvent(
                    "run.started", str(data.get("requested_by") or actor), facts, step.run_id
                )
            ]
        if step.kind is StepKind.GUARD and data.get("effect") in _BLOCKING:
            return [_verdict_event(step, actor)]
        if step.kind is StepKind.GUARD and data.get("effect") == "allow":
            return _token_used(step, actor)
        if step.kind is StepKind.TOOL and data.get("risk", "read") != "read":
            facts = {
                "tool": data.get("tool"),
                "call_id": data.get("call_id"),
                "arguments": data.get("arguments"),
                "ok": data.get("ok"),
                "code": (data.get("error") or {}).get("code"),
                "token_id": grant.claims.id if grant else None,
            }
            return [AuditEvent("tool.write", actor, facts, step.run_id)]
        if step.kind is StepKind.CONFIRMATION:  # proposed, confirmed, declined, expired
            pending = data.get("pending_action") or {}
            facts = {
                "event": data.get("event"),
                "nonce": data.get("nonce") or pending.get("nonce"),
                "tool": data.get("tool") or pending.get("tool"),
                "argument_hash": pending.get("argument_hash"),
                "by": data.get("by"),
                "reading": (data.get("reading") or {}).get("reason"),
            }
            return [AuditEvent(f"confirmation.{data.get('event')}", actor, facts, step.run_id)]
        if step.kind is StepKind.DECISION:
            decision: Mapping[str, Any] = data.get("decision") or {}
            reason = decision.get("reason") or {}
            facts = {"kind": decision.get("kind"), "code": reason.get("code")}
            return [AuditEvent("run.decided", actor, facts, step.run_id)]
        return []

    def commit_hook(
        self, events: Sequence[AuditEvent], closing: RunGrant | None = None
    ) -> Callable[[Connection], None] | None:
        """A hook that appends `events` (and revokes a finished run's token) inside the
        transaction that records the steps; None when there is nothing to write."""
        if not events and closing is None:
            return None
        pending = list(events)

        def write(conn: Connection) -> None:
            if closing is not None:
                # a finished run's token must not be usable by anyone who captured it
                self.revocations.revoke(closing.claims.id, closing.claims.expires_at, conn=conn)
            if pending:  # last: the chain's head stays locked until the commit
                self.audit.append_in(conn, pending)

        return write


def _token_used(step: Step, actor: str) -> list[AuditEvent]:
    """An approved call's single-use token was used: recorded with the guard step that used it,
    so the event and the step commit (or roll back) together."""
    for verdict in step.data.get("verdicts") or ():
        if verdict.get("check") == APPROVAL_CHECK and verdict.get("effect") == "allow":
            facts = verdict.get("facts") or {}
            used = {"approval_id": facts.get("approval_id"), "token": facts.get("token")}
            return [AuditEvent("approval.token_used", actor, used, step.run_id)]
    return []


def _verdict_event(step: Step, actor: str) -> AuditEvent:
    data = step.data
    verdicts = data.get("verdicts") or [{}]
    final = verdicts[-1]
    reason = (final.get("reasons") or [{}])[0]
    call = data.get("call") or {}
    facts = {
        "subject": step.name,
        "check": data.get("decided_by"),
        "stage": data.get("stage", "guard"),
        "code": reason.get("code"),
        "message": reason.get("message"),
        "arguments": call.get("arguments"),
    }
    return AuditEvent(f"guard.{data.get('effect')}", actor, facts, step.run_id)
