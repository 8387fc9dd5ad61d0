"""Every resource a call names must be one the principal owns, checked on the id the tool
will act on: a spelling that the tool's own declared type turns into another customer's id
(stripped, upper-cased) is refused like that id itself, and nothing of it is shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, StringConstraints

from tether import Agent, Message, Principal, tool
from tether.core.types import DecisionKind, Run, StepKind
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.runtime.replay import Replayer
from tether.sdk import Desk, Domain, DomainParts, build_desk
from tether.sdk.domain import DeskContext
from tether.store import RunStore

ORDERS: dict[str, dict[str, str]] = {
    "W-1001": {"owner": "alice", "address": "2 Alice Road"},
    "W-2002": {"owner": "bob", "address": "1 Bob Street, flat 4"},
}

# the ids as the desk stores them: upper case, no spaces (what a model copies from text may not be)
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]


class OrderRef(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, str_to_upper=True)
    order_id: str


class Customers:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="shop", roles=("customer",))


class Owners:
    def owner_of(self, kind: str, resource_id: str) -> str | None:
        order = ORDERS.get(resource_id) if kind == "order" else None
        return None if order is None else order["owner"]


SEEN: list[str] = []


def setup(ctx: DeskContext) -> DomainParts:
    @tool(resources={"order_id": "order"})
    def get_order(order_id: OrderId) -> dict[str, Any]:
        """One order, with its shipping address."""
        SEEN.append(order_id)
        return {"order_id": order_id, **ORDERS.get(order_id, {})}

    @tool(resources={"ref.order_id": "order"})
    def get_order_by_ref(ref: OrderRef) -> dict[str, Any]:
        """One order, named by a reference object."""
        SEEN.append(ref.order_id)
        return {"order_id": ref.order_id, **ORDERS.get(ref.order_id, {})}

    @tool(resources={"refs[].order_id": "order"})
    def get_orders(refs: list[OrderRef]) -> list[dict[str, Any]]:
        """Several orders, named by reference objects."""
        SEEN.extend(r.order_id for r in refs)
        return [{"order_id": r.order_id, **ORDERS.get(r.order_id, {})} for r in refs]

    return DomainParts(
        tools=[get_order, get_order_by_ref, get_orders],
        principals=Customers(),
        rights={"customer": ()},
        owners=Owners(),
    )


SHOP = Domain(
    name="shop",
    version="1.0",
    setup=setup,
    agents=(
        Agent(
            "shop-desk",
            "Help customers with their own orders.",
            ("get_order", "get_order_by_ref", "get_orders"),
            require_grounding=False,
        ),
    ),
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A store for the shop's runs; the tool's record of ids it was called with, emptied."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    SEEN.clear()
    s = RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield s
    s.close()


def alice_asks(desk: Desk, turns: list[dict[str, Any]]) -> Run:
    model = ScriptedModel(parse_script(turns))
    return desk.runtime.run(RunRequest("alice", [Message("user", "my order?")]), model)


@pytest.mark.parametrize(
    "call",
    [
        {"tool": "get_order", "args": {"order_id": " w-2002"}},
        {"tool": "get_order_by_ref", "args": {"ref": {"order_id": "w-2002 "}}},
        {"tool": "get_orders", "args": {"refs": [{"order_id": "W-1001"}, {"order_id": "w-2002"}]}},
    ],
    ids=["spaced-lowercase", "nested-spaced-lowercase", "second-of-a-list"],
)
def test_another_customers_order_is_refused_however_spelled(
    store: RunStore, call: dict[str, Any]
) -> None:
    run = alice_asks(build_desk(SHOP, store), [call, {"answer": "Here is the order."}])
    steps = store.get_run(run.id).steps
    assert SEEN == [], "the tool ran on bob's order for alice"
    assert not any(s.kind is StepKind.TOOL and s.data.get("ok") for s in steps)
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None
    assert run.decision.reason.code.value == "PERMISSION_DENIED"


def test_her_own_order_spelled_loosely_runs_and_replays_identical(store: RunStore) -> None:
    # the guard and tool steps record the id the tool received ("W-1001"); replay holds each
    # guard's call to the call the model proposed (" w-1001 ") as the tool receives it
    desk = build_desk(SHOP, store)
    call = {"tool": "get_order_by_ref", "args": {"ref": {"order_id": " w-1001 "}}}
    run = alice_asks(desk, [call, {"answer": "It goes to 2 Alice Road."}])
    report = Replayer(desk.runtime).replay(store.get_run(run.id))
    assert SEEN == ["W-1001"]
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    assert report.identical, report.diffs
