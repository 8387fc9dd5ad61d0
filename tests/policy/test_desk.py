"""The policy check in the desk's guard chain: real runs over a fresh store, every verdict
persisted with its step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tether.core.types import DecisionKind, Run
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.policy.check import argument_hash
from tether.sdk.scenarios import load_scenarios
from tether.sdk.scenarios import run_scenario as sdk_run_scenario
from tether.store.runs import RunStore


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def run_scenario(store: RunStore, name: str) -> tuple[Run, RetailDB]:
    """The scenario's conversation on a fresh copy of the data: its last run, and the data."""
    [scenario] = [s for s in load_scenarios(None, RETAIL) if s.name == name]
    db = RetailDB.fresh_copy()
    desk = open_retail_desk(store, db=db)
    result = sdk_run_scenario(RETAIL, store, scenario, desk=desk)
    return result.run, db


def policy_verdicts(run: Run) -> dict[str, dict[str, Any]]:
    """The policy verdict of each guarded call, by tool name (the last one wins)."""
    found: dict[str, dict[str, Any]] = {}
    for step in run.steps:
        for verdict in step.data.get("verdicts", ()):
            if verdict["check"] == "policy":
                found[step.name] = verdict
    return found


def test_an_unconfirmed_cancellation_waits_for_the_customer_and_nothing_changes(
    store: RunStore,
) -> None:
    db = RetailDB.fresh_copy()
    desk = open_retail_desk(store, db=db)
    conversation = desk.runtime.converse("raj_sanchez_2970")
    script = [
        {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
        {
            "tool": "cancel_pending_order",
            "args": {"order_id": "#W4566809", "reason": "no longer needed"},
        },
    ]
    text = "Cancel #W4566809, I no longer need it. raj.sanchez2046@example.com"
    run = conversation.send(text, ScriptedModel(parse_script(script))).run
    assert run.decision is not None and run.decision.kind is DecisionKind.CONFIRMATION
    verdict = policy_verdicts(run)["cancel_pending_order"]
    assert verdict["effect"] == "confirm"
    assert verdict["facts"]["policies"] == ["confirm-before-write"]
    assert verdict["reasons"][0]["code"] == "CONFIRMATION_REQUIRED"
    assert verdict["facts"]["request"]["context"]["confirmed"] is False
    assert not any(s.kind.value == "tool" and s.name == "cancel_pending_order" for s in run.steps)
    order = db.order("#W4566809")
    assert order is not None and order["status"] == "pending"
    # the runtime, not the model, tells the customer exactly what would happen
    assert run.decision.text.startswith("I am about to cancel pending order")
    assert "#W4566809" in run.decision.text and "no longer needed" in run.decision.text


def test_a_large_return_escalates_with_what_an_approval_needs(store: RunStore) -> None:
    run, db = run_scenario(store, "large-return-escalated")  # confirmed, then escalated
    decision = run.decision
    assert decision is not None and decision.kind is DecisionKind.ESCALATION
    assert decision.reason is not None and decision.reason.code.value == "POLICY_ESCALATED"
    verdict = policy_verdicts(run)["return_delivered_order_items"]
    assert verdict["effect"] == "escalate"
    assert verdict["facts"]["request"]["context"]["confirmed"] is True
    approval = verdict["facts"]["approval"]
    arguments = {
        "order_id": "#W1067251",
        "item_ids": ["7848293342"],
        "payment_method_id": "credit_card_3362387",
    }
    assert approval["arguments"] == arguments
    assert approval["argument_hash"] == argument_hash("return_delivered_order_items", arguments)
    assert approval["approver_role"] == "supervisor"
    # the item id also reached the model through graph evidence (system text), which the
    # provenance rule counts as untrusted, so untrusted-arguments may co-fire
    assert "supervisor-approval-large-return" in approval["policies"]
    assert approval["principal"] == "raj_sanchez_2970" and approval["run_id"] == run.id
    order = db.order("#W1067251")
    assert order is not None and order["status"] == "delivered"


def test_a_confirmed_cancellation_is_allowed_with_the_facts_it_used(store: RunStore) -> None:
    run, db = run_scenario(store, "cancel-after-confirmation")
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    verdicts = policy_verdicts(run)
    context = verdicts["cancel_pending_order"]["facts"]["request"]["context"]
    assert context["authMethod"] == "lookup:email"
    assert context["confirmed"] is True
    assert context["amountCents"] == 82670
    assert verdicts["answer"]["effect"] == "allow"
    order = db.order("#W4566809")
    assert order is not None and order["status"] == "cancelled"
