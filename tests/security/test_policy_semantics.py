"""An escalation or a confirmation never turns a default deny into an allow: `@escalate` and
`@confirm` forbids take effect only where a permit would otherwise allow the request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.core.types import Effect
from tether.policy.engine import PolicyEngine, PolicyRequest, entity

SCHEMA = """
entity User;
entity Refund = { amount: Long };
type Ctx = { confirmed: Bool };
action refund appliesTo { principal: User, resource: Refund, context: Ctx };
"""
# no permit at all: everything is denied by default, whatever the soft forbids say
NO_PERMIT = """
@id("large-refunds")
@escalate("a large refund needs a supervisor")
forbid (principal, action == Action::"refund", resource) when { resource.amount > 500 };

@id("confirm-refunds")
@confirm("the customer confirms a refund")
forbid (principal, action == Action::"refund", resource) unless { context.confirmed };
"""
WITH_PERMIT = (
    NO_PERMIT
    + """
@id("refunds")
permit (principal, action == Action::"refund", resource);
"""
)


def _engine(tmp_path: Path, policies: str) -> PolicyEngine:
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "p.cedar").write_text(policies)
    return PolicyEngine.from_files(tmp_path / "s.cedarschema", [tmp_path / "p.cedar"])


def _refund(amount: int, confirmed: bool = True) -> PolicyRequest:
    resource = entity("Refund", "r1", amount=amount)
    return PolicyRequest(
        ("User", "ann"), "refund", ("Refund", "r1"), {"confirmed": confirmed}, [resource]
    )


@pytest.mark.parametrize(
    ("amount", "confirmed"),
    [(10, True), (942, True), (10, False), (942, False)],
)
def test_without_a_permit_every_refund_is_denied(
    tmp_path: Path, amount: int, confirmed: bool
) -> None:
    decision = _engine(tmp_path, NO_PERMIT).decide(_refund(amount, confirmed))
    # a large or unconfirmed refund is not escalated or held for a yes: nothing permits it
    assert decision.effect is Effect.DENY


def test_with_a_permit_the_soft_forbids_escalate_and_confirm(tmp_path: Path) -> None:
    engine = _engine(tmp_path, WITH_PERMIT)
    assert engine.decide(_refund(10)).effect is Effect.ALLOW
    assert engine.decide(_refund(942)).effect is Effect.ESCALATE
    assert engine.decide(_refund(10, confirmed=False)).effect is Effect.CONFIRM
