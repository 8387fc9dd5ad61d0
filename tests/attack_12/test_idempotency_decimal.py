"""A write's idempotency key is "sha256(scope, tool, canonical JSON arguments)", the arguments
"canonical as the tool's schema validates them ... so any two calls that do the same thing
share a key". A `Decimal` parameter takes a number or its string, and keeps the spelling's
exponent: `5.5` and `"5.50"` are the same amount (the function gets Decimal('5.5') and
Decimal('5.50'), which are equal), yet they key differently, so the same refund proposed again
in the same run with the amount written as money is written runs a second time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tether import Agent, Message, Principal, tool
from tether.core.types import RiskClass, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import Domain, DomainParts, build_desk
from tether.store import RunStore


class _Members:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="shop", roles=("member",))


def test_the_same_refund_with_the_amount_spelled_as_money_runs_once(tmp_path: Path) -> None:
    effects: list[tuple[str, Decimal]] = []

    def setup(ctx: Any) -> DomainParts:
        @tool(risk=RiskClass.WRITE, scopes=("shop:write",))
        def refund(order_id: str, amount: Decimal) -> dict[str, str]:
            """Refund part of an order."""
            effects.append((order_id, amount))
            return {"refunded": str(amount)}

        return DomainParts(
            tools=[refund], principals=_Members(), rights={"member": ("shop:write",)}
        )

    agent = Agent("desk", "You refund.", ("refund",), allow_writes_without_policy=True)
    domain = Domain(name="shop", version="1.0", setup=setup, agents=(agent,))
    desk = build_desk(domain, RunStore.open(f"sqlite:///{tmp_path}/store.db"))
    script = parse_script(
        [
            {"tool": "refund", "args": {"order_id": "o1", "amount": 5.5}},
            {"tool": "refund", "args": {"order_id": "o1", "amount": "5.50"}},
            {"refuse": "done"},
        ]
    )
    run = desk.runtime.run(
        RunRequest("alice", [Message("user", "refund 5.50 on o1")]), ScriptedModel(script)
    )
    tool_steps = [s.data for s in run.steps if s.kind is StepKind.TOOL]
    assert len(tool_steps) == 2, tool_steps
    assert Decimal("5.5") == Decimal("5.50")  # one amount, as the function receives it
    assert len(effects) == 1, (
        f"the refund of one amount ran {len(effects)} times: {effects}; "
        f"keys {[s.get('idempotency_key') for s in tool_steps]}"
    )
