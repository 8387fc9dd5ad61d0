"""A write's idempotency key is "sha256(scope, tool, canonical JSON arguments)", the arguments
"canonical as the tool's schema validates them ... so any two calls that do the same thing
share a key". A `Decimal` parameter takes a number or its string, and keeps the spelling's
exponent: `5.5` and `"5.50"` are the same amount (the function gets Decimal('5.5') and
Decimal('5.50'), which are equal), so they share a key and the same refund proposed again
with the amount written as money is written runs once. Only the key folds the spelling."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Message, Principal, tool
from tether.core.types import RiskClass, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.once import _canonical, execute_once
from tether.runtime.seams import RunRequest
from tether.sdk import Domain, DomainParts, build_desk
from tether.store import RunStore
from tether.store.tool_results import ToolResultLedger
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, idempotency_key
from tether.tools.shared_state import InProcessState

from .conftest import ask, make_runtime


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


def _keyed(tool_fn: Any) -> Any:
    made = make_tool(tool_fn, risk=RiskClass.IRREVERSIBLE)
    return lambda args: idempotency_key("run_1", made.name, _canonical(made, args))


def _refund(order: str, amount: Decimal, parts: list[Decimal] | None = None) -> None:
    """Refund an order."""


SAME_AMOUNT = [
    (5.5, "5.50"),
    ("5.5", "5.500000"),
    ("550E-2", 5.5),
    (500, "5E+2"),
    ("500.00", 500),
    (0, "-0.00"),
    ("0E-5", 0.0),
]


@pytest.mark.parametrize(("one", "other"), SAME_AMOUNT)
def test_equal_decimals_share_a_key(one: Any, other: Any) -> None:
    key = _keyed(_refund)
    assert key({"order": "o1", "amount": one}) == key({"order": "o1", "amount": other})


def test_equal_decimals_inside_a_list_share_a_key() -> None:
    key = _keyed(_refund)
    one = {"order": "o1", "amount": 1, "parts": [0.5, "0.50"]}
    assert key(one) == key({"order": "o1", "amount": "1.0", "parts": ["0.500", 0.5]})


DIFFERENT_AMOUNT = [
    (5.5, 5.51),
    ("5.5", "55"),
    (500, 50),
    ("1.0000000000000000000000000000001", 1),  # more digits than the default precision
    ("123456789012345678901234567890.5", "123456789012345678901234567891"),
    (0, "1E-30"),
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT_AMOUNT)
def test_unequal_decimals_never_share_a_key(one: Any, other: Any) -> None:
    key = _keyed(_refund)
    assert key({"order": "o1", "amount": one}) != key({"order": "o1", "amount": other})


def test_the_arguments_recorded_and_passed_keep_their_spelling() -> None:
    """Only the key folds decimals: guards, records and the function see what was given."""
    made = make_tool(_refund, risk=RiskClass.IRREVERSIBLE)
    assert made.validate({"order": "o1", "amount": "5.50"})["amount"] == "5.50"
    assert str(made.bind({"order": "o1", "amount": "5.50"})["amount"]) == "5.50"


def test_a_write_the_previous_version_started_with_a_decimal_keeps_its_key(
    tmp_path: Path,
) -> None:
    """The version before decimals were spelled alike keyed "5.50" as written: a write it
    started, resumed now, finds that row and never runs again."""
    applied: list[Decimal] = []

    def refund(order: str, amount: Decimal) -> dict[str, int]:
        """Refund an order."""
        applied.append(amount)
        return {"refund": len(applied)}

    made = make_tool(refund, risk=RiskClass.IRREVERSIBLE)
    store = RunStore.open(f"sqlite:///{tmp_path}/store.db")
    run_id = ask(make_runtime(store, [made]), [{"answer": "ok"}]).id
    args = {"order": "o1", "amount": "5.50"}
    previous = idempotency_key(run_id, "refund", made.validate(args, defaults=True))
    ledger = ToolResultLedger(store.engine)
    assert ledger.begin(previous, run_id, 2, "refund")
    ledger.finish(previous, run_id, 2, "refund", {"ok": True, "output": {"refund": 1}})
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    outcome = execute_once(executor, ledger, made, args, CallContext(run_id, 2, "alice"))
    assert applied == [] and outcome.replayed and outcome.idempotency_key == previous
    store.close()
