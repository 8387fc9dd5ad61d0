"""Durable approvals and escalation paths.

An escalated call suspends its run and opens an `Approval` (the exact action, its argument
hash, the reasons, the approver role, an expiry); `ApprovalService` lists, approves and
rejects requests exactly once and resumes the run in whichever process decides. Escalations
are routed to queues by `EscalationConfig`; a queue may notify a webhook with signed payloads.
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "Approval": "tether.approvals.requests",
        "ApprovalService": "tether.approvals.service",
        "ApprovalStatus": "tether.approvals.requests",
        "ApprovalStore": "tether.approvals.store",
        "Approver": "tether.approvals.requests",
        "Decided": "tether.approvals.service",
        "DurableApprovals": "tether.approvals.gate",
        "EscalationConfig": "tether.approvals.routing",
        "Notice": "tether.approvals.notices",
        "NoticeDispatcher": "tether.approvals.notices",
        "NoticeOutbox": "tether.approvals.notices",
        "WebhookSender": "tether.approvals.webhooks",
        "escalations_from_env": "tether.approvals.routing",
        "load_escalations": "tether.approvals.routing",
        "parse_escalations": "tether.approvals.routing",
        "signature": "tether.approvals.webhooks",
        "verify_signature": "tether.approvals.webhooks",
    },
)
