"""Approval requests as values: what waits for a decision, who asked, who decides."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tether.core.types import ToolCall


class ApprovalStatus(StrEnum):
    """Where an approval request is."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Approver:
    """Who decides: as the audit trail names them, and the operator role they hold."""

    actor: str  # "operator:<key id>", "cli:<user>", ...
    role: str  # an operator role: approver, admin, ...
    name: str = ""


@dataclass(frozen=True)
class Approval:
    """One escalated call waiting for (or given) a person's decision."""

    id: str
    run_id: str
    step_seq: int
    call_id: str
    tool: str
    arguments: Mapping[str, Any]
    argument_hash: str
    principal_id: str
    requested_by: str
    agent: str
    reasons: tuple[str, ...]
    policies: tuple[str, ...]
    approver_role: str
    queue: str
    risk: str
    status: ApprovalStatus
    created_at: float
    expires_at: float
    decided_at: float | None = None
    decided_by: str | None = None
    note: str | None = None

    def is_open(self, now: float) -> bool:
        """Still pending and not yet expired: it can be approved or rejected now."""
        return self.status is ApprovalStatus.PENDING and now < self.expires_at

    def state(self, now: float) -> ApprovalStatus:
        """The status as of `now` (a pending request past its expiry reads as expired)."""
        if self.status is ApprovalStatus.PENDING and now >= self.expires_at:
            return ApprovalStatus.EXPIRED
        return self.status

    def call(self) -> ToolCall:
        return ToolCall(self.call_id, self.tool, dict(self.arguments))

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "step_seq": self.step_seq,
            "status": (self.state(now) if now is not None else self.status).value,
            "tool": self.tool,
            "arguments": dict(self.arguments),
            "argument_hash": self.argument_hash,
            "call_id": self.call_id,
            "principal": self.principal_id,
            "requested_by": self.requested_by,
            "agent": self.agent,
            "reasons": list(self.reasons),
            "policies": list(self.policies),
            "approver_role": self.approver_role,
            "queue": self.queue,
            "risk": self.risk,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "note": self.note,
        }

    @staticmethod
    def from_row(row: Any) -> Approval:
        """From a row of the `approvals` table."""
        return Approval(
            id=row["id"],
            run_id=row["run_id"],
            step_seq=int(row["step_seq"]),
            call_id=row["call_id"],
            tool=row["tool"],
            arguments=json.loads(row["arguments"]),
            argument_hash=row["argument_hash"],
            principal_id=row["principal_id"],
            requested_by=row["requested_by"],
            agent=row["agent"],
            reasons=tuple(json.loads(row["reasons"])),
            policies=tuple(json.loads(row["policies"])),
            approver_role=row["approver_role"],
            queue=row["queue"],
            risk=row["risk"],
            status=ApprovalStatus(row["status"]),
            created_at=float(row["created_at"]),
            expires_at=float(row["expires_at"]),
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            note=row["note"],
        )

    def row(self) -> dict[str, Any]:
        """The columns of a new request."""
        out = self.to_dict()
        for key in ("principal", "step_seq", "status"):
            out.pop(key)
        out.update(
            principal_id=self.principal_id,
            step_seq=self.step_seq,
            status=self.status.value,
            arguments=_json(dict(self.arguments)),
            reasons=_json(list(self.reasons)),
            policies=_json(list(self.policies)),
        )
        return out


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
