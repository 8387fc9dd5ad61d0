"""Durable approvals and escalation paths.

An escalated call suspends its run and opens an `Approval` (the exact action, its argument
hash, the reasons, the approver role, an expiry); `ApprovalService` lists, approves and
rejects requests exactly once and resumes the run in whichever process decides. Escalations
are routed to queues by `EscalationConfig`; a queue may notify a webhook with signed payloads.
"""

from tether.approvals.gate import DurableApprovals
from tether.approvals.notices import Notice, NoticeDispatcher, NoticeOutbox
from tether.approvals.requests import Approval, ApprovalStatus, Approver
from tether.approvals.routing import (
    EscalationConfig,
    escalations_from_env,
    load_escalations,
    parse_escalations,
)
from tether.approvals.service import ApprovalService, Decided
from tether.approvals.store import ApprovalStore
from tether.approvals.webhooks import WebhookSender, signature, verify_signature

__all__ = [
    "Approval",
    "ApprovalService",
    "ApprovalStatus",
    "ApprovalStore",
    "Approver",
    "Decided",
    "DurableApprovals",
    "EscalationConfig",
    "Notice",
    "NoticeDispatcher",
    "NoticeOutbox",
    "WebhookSender",
    "escalations_from_env",
    "load_escalations",
    "parse_escalations",
    "signature",
    "verify_signature",
]
