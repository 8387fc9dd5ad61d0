"""A state the passage says a record keeps or comes to: "the order won't stay pending" and
"will no longer be pending" contradict "the order stays pending"; "goes back to pending"
contradicts "the status becomes exchange requested"."""

from __future__ import annotations

import json

import pytest

from tests.grounding.common import MOVE, desk
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL

EXCHANGE = (
    "After you confirm, the status becomes **exchange requested** and an e-mail tells you how "
    "to send the original items back. You do not need to place a new order."
)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The order stays pending while we switch the payment.", False),
        ("The order is still pending after the switch.", False),
        ("After the switch your order will no longer be pending.", True),
        ("The order won't remain pending while we make the switch.", True),
        ("The order doesn't stay pending once you switch.", True),
    ],
)
def test_a_state_the_evidence_keeps_cannot_be_said_to_end(answer: str, flagged: bool) -> None:
    assert desk(answer, MOVE).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Once you confirm, the status changes to exchange requested.", False),
        ("Once you confirm, your order goes back to pending until the jacket reaches us.", True),
        ("After you confirm, the order reverts to processed.", True),
    ],
)
def test_a_state_said_to_come_back_is_a_transition(answer: str, flagged: bool) -> None:
    assert desk(answer, EXCHANGE).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The order won't stop being pending when the payment moves.", False),
        ("Your order doesn't leave pending when we switch the payment.", False),
        ("The order then leaves pending once the payment moves.", True),
        ("After the switch the order stops being pending.", True),
        ("Moving it is fine, though the order then goes into processing.", True),
    ],
)
def test_a_state_said_to_be_left_or_entered(answer: str, flagged: bool) -> None:
    assert desk(answer, MOVE).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("No cancelling, it stays pending, and the gift card gets the money back at once.", False),
        ("Cancelling and ordering again: not needed; the order stays pending meanwhile.", False),
        ("No cancelling, but it won't stay pending once the payment moves.", True),
        ("Cancelling isn't needed; the order then doesn't stay pending.", True),
    ],
)
def test_a_denial_in_another_clause_leaves_the_state_kept(answer: str, flagged: bool) -> None:
    # "No cancelling" denies its own clause: "it stays pending" after it keeps the state
    assert desk(answer, MOVE).flagged is flagged


ORDER = {
    "order_id": "#W5767256",
    "status": "processed",
    "items": [{"name": "Hiking Boots", "price": 239.99}],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Your boots have already been processed.", False),
        ("The boots already on your order are processed.", False),
        ("Your boots are already on your doorstep.", True),
        ("The boots are at your door.", True),
    ],
)
def test_a_parcel_at_the_door_has_been_delivered(answer: str, flagged: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is flagged
