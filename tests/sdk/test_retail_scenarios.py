"""The retail pack's demo scenarios, run as conversations, and what they leave behind.

Every packaged scenario must end as its file says; the targeted tests then read the real
outcome (the desk's order data, the runs in the store) rather than the Decision kinds alone:
a declined or expired action left the order untouched, a confirmed one ran exactly once, and
a turn the server rejected left no run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tether.conversations import ConversationStore
from tether.core.errors import ErrorCode
from tether.core.types import Run, StepKind
from tether.domains.retail.pack import RETAIL
from tether.sdk import Desk
from tether.sdk.scenarios import (
    Scenario,
    ScenarioResult,
    load_scenarios,
    run_scenario,
    scenario_desk,
)
from tether.store import RunStore

SCENARIOS = load_scenarios(None, RETAIL)
ORDER = "#W4566809"  # Raj Sanchez's pending order, $826.70 paid by credit card
ADDRESS = {  # where it ships
    "address1": "557 Sunset Drive",
    "address2": "Suite 454",
    "city": "San Diego",
    "country": "USA",
    "state": "CA",
    "zip": "92147",
}


def _scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def _play(store: RunStore, name: str) -> tuple[Desk, ScenarioResult]:
    scenario = _scenario(name)
    desk = scenario_desk(RETAIL, store, scenario)
    return desk, run_scenario(RETAIL, store, scenario, desk=desk)


def _runs(store: RunStore, result: ScenarioResult) -> list[Run]:
    """The runs of the scenario's turns that ran, with their steps, in turn order."""
    return [store.get_run(t.outcome.run.id) for t in result.turns if t.outcome is not None]


def _tool_steps(runs: list[Run], tool: str) -> list[dict[str, Any]]:
    """What each run of `tool` recorded (a call that ran, successfully or not)."""
    return [
        dict(s.data) for r in runs for s in r.steps if s.kind is StepKind.TOOL and s.name == tool
    ]


def _confirmation_events(run: Run) -> list[dict[str, Any]]:
    return [dict(s.data) for s in run.steps if s.kind is StepKind.CONFIRMATION]


def _order(desk: Desk, order_id: str = ORDER) -> dict[str, Any]:
    order = desk.data.order(order_id)
    assert order is not None
    return dict(order)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_retail_scenario_ends_as_its_file_says(store_url: str, scenario: Scenario) -> None:
    store = RunStore.open(store_url)
    try:
        result = run_scenario(RETAIL, store, scenario)
        assert result.ok, result.to_dict()
    finally:
        store.close()


def test_scenarios_are_conversations_of_turns() -> None:
    assert len(SCENARIOS) >= 35
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
    assert any(len(s.turns) > 1 for s in SCENARIOS)


# -- declined, deferred, hedged: nothing is written ---------------------------------------


def test_absolutely_not_leaves_the_order_pending(store: RunStore) -> None:
    desk, result = _play(store, "decline-absolutely-not")
    assert _order(desk)["status"] == "pending"
    runs = _runs(store, result)
    assert _tool_steps(runs, "cancel_pending_order") == []
    events = _confirmation_events(runs[1])
    assert [e["event"] for e in events] == ["not_confirmed"]
    assert events[0]["reading"]["confirmed"] is False
    assert events[0]["reading"]["reason"] == "negation"
    assert runs[1].decision is not None and not runs[1].decision.results  # no write


@pytest.mark.parametrize(
    ("name", "event", "reason"),
    [
        ("decline-not-now", "not_confirmed", "deferral"),
        ("decline-hedged-yes", "not_confirmed", "amendment"),
        ("decline-button", "declined", None),
    ],
)
def test_a_reply_that_is_no_yes_runs_nothing(
    store: RunStore, name: str, event: str, reason: str | None
) -> None:
    desk, result = _play(store, name)
    runs = _runs(store, result)
    answered = _confirmation_events(runs[1])
    assert [e["event"] for e in answered] == [event]
    if reason is not None:
        assert answered[0]["reading"]["reason"] == reason
    writes = [
        s for r in runs for s in r.steps if s.kind is StepKind.TOOL and s.data["risk"] != "read"
    ]
    assert writes == []
    order = _order(desk)
    assert order["status"] == "pending"
    assert order["address"] == ADDRESS


# -- confirmed: the stored call runs exactly once ------------------------------------------


@pytest.mark.parametrize("name", ["cancel-after-confirmation", "forged-nonce"])
def test_a_confirmed_cancellation_runs_exactly_once(store: RunStore, name: str) -> None:
    desk, result = _play(store, name)
    order = _order(desk)
    assert order["status"] == "cancelled"
    refunds = [p for p in order["payment_history"] if p["transaction_type"] == "refund"]
    assert len(refunds) == 1
    cancels = _tool_steps(_runs(store, result), "cancel_pending_order")
    assert len(cancels) == 1 and cancels[0]["ok"] is True
    assert cancels[0]["arguments"] == {"order_id": ORDER, "reason": "no longer needed"}


def test_a_forged_nonce_and_a_second_press_run_nothing(store: RunStore) -> None:
    _, result = _play(store, "forged-nonce")
    errors = [t.error for t in result.turns]
    assert errors == [None, ErrorCode.NONCE_INVALID, None, ErrorCode.NOTHING_PENDING]
    assert store.count_runs() == 2  # the request and the real confirmation


def test_a_changed_call_after_a_confirmation_does_not_run(store: RunStore) -> None:
    desk, result = _play(store, "confirmed-then-changed-arguments")
    runs = _runs(store, result)
    changes = _tool_steps(runs, "modify_pending_order_address")
    assert len(changes) == 1 and changes[0]["arguments"]["zip"] == "90401"
    assert _order(desk)["address"]["zip"] == "90401"  # the confirmed address, not 90405
    pending = result.turns[-1].outcome.pending_action if result.turns[-1].outcome else None
    assert pending is not None and pending.arguments["zip"] == "90405"


# -- expiry --------------------------------------------------------------------------------


def test_an_expired_confirmation_press_runs_nothing(store: RunStore) -> None:
    desk, result = _play(store, "pending-expired-button")
    assert result.turns[-1].error is ErrorCode.NONCE_INVALID
    assert _order(desk)["status"] == "pending"
    assert store.count_runs() == 1


def test_a_yes_after_expiry_is_recorded_and_not_run(store: RunStore) -> None:
    desk, result = _play(store, "pending-expired-text")
    runs = _runs(store, result)
    assert [e["event"] for e in _confirmation_events(runs[1])] == ["expired"]
    assert _tool_steps(runs[:3], "cancel_pending_order") == []
    # the cancellation proposed afresh and confirmed is the one that runs, once
    assert len(_tool_steps(runs, "cancel_pending_order")) == 1
    assert _order(desk)["status"] == "cancelled"


# -- forged input --------------------------------------------------------------------------


def test_a_forged_assistant_turn_leaves_no_run(store: RunStore) -> None:
    desk, result = _play(store, "forged-assistant-message")
    forged = result.turns[1]
    assert forged.error is ErrorCode.INPUT_ROLE_FORBIDDEN and forged.outcome is None
    ran = [t.outcome.run.id for t in result.turns if t.outcome is not None]
    assert len(ran) == 2 and store.count_runs() == 2
    recorded = ConversationStore(store.engine).turns(result.conversation_id)
    assert [t.run_id for t in recorded] == ran
    assert _order(desk)["status"] == "pending"
    assert _tool_steps(_runs(store, result), "cancel_pending_order") == []
