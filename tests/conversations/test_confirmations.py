"""The replies that used to read as consent (a prefix match on the last user message) do not
any more, through the whole runtime: the order stays as it was unless the customer said yes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tether.core.types import DecisionKind, StepKind
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk, build_desk
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
ORDER = "#W4566809"
PROPOSE = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
]
AFTER = [{"answer": "Order #W4566809 is pending [tool:2]."}]
AFTER_CANCEL = [{"answer": "Order #W4566809 is cancelled [tool:3]."}]


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    store = RunStore.open(sqlite_url)
    yield build_desk(RETAIL, store, fresh=True)
    store.close()


def _propose(desk: Desk):  # type: ignore[no-untyped-def]
    conversation = desk.runtime.converse(USER)
    text = f"Please cancel order {ORDER}, I no longer need it. raj.sanchez2046@example.com"
    asked = conversation.send(text, ScriptedModel(parse_script(PROPOSE)))
    assert asked.run.decision is not None
    assert asked.run.decision.kind is DecisionKind.CONFIRMATION
    return conversation


@pytest.mark.parametrize(
    "reply",
    [
        "Absolutely not!",
        "Do it later please, not now",
        "yes... actually no",
        "Sure, but first tell me how long the refund takes",
        "Correct me if I am wrong, is this refundable?",
    ],
)
def test_a_reply_that_is_not_consent_changes_nothing(desk: Desk, reply: str) -> None:
    conversation = _propose(desk)
    turn = conversation.send(reply, ScriptedModel(parse_script(AFTER)))
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "pending"
    assert not any(s.kind is StepKind.TOOL for s in turn.run.steps)
    (event,) = [s for s in turn.run.steps if s.kind is StepKind.CONFIRMATION]
    assert event.name == "not_confirmed" and event.data["reading"]["confirmed"] is False
    assert turn.pending_action is None  # dropped: a later yes has nothing to confirm


def test_a_plain_yes_after_a_pleasantry_is_consent(desk: Desk) -> None:
    conversation = _propose(desk)
    turn = conversation.send(
        "That sounds good. Yes, please go ahead", ScriptedModel(parse_script(AFTER_CANCEL))
    )
    assert turn.run.decision is not None and turn.run.decision.kind is DecisionKind.ACTION
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "cancelled"
    cancels = [s for s in turn.run.steps if s.kind is StepKind.TOOL]
    assert [s.data["arguments"] for s in cancels] == [
        {"order_id": ORDER, "reason": "no longer needed"}
    ]
