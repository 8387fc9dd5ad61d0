"""A reply that politely declines ("C'est bon, merci", "All good, thanks") is no consent.

In French "c'est bon, merci" answering an offer is the usual way of saying "no thanks, I'm
fine"; in English "all good, thanks" says the same ("no need"). Neither is unambiguous consent
to the action now, so the pending cancellation must not run. Checked end to end over HTTP on a
real server, on both stores: the order stays pending and the tool ledger has no cancellation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conversations.conftest import answer_the_pending_action
from tether.sdk import Desk

ORDER = "#W4566809"
CANCEL_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
]
AFTER_REPLY: list[dict[str, Any]] = [{"answer": "Understood, I have left the order as it is."}]


@pytest.mark.parametrize("reply", ["C'est bon, merci", "All good, thanks"])
def test_a_polite_decline_never_runs_the_cancellation(desk: Desk, reply: str) -> None:
    ask = f"Please cancel order {ORDER}. raj.sanchez2046@example.com"
    first, run = answer_the_pending_action(
        desk, "raj_sanchez_2970", (ask, CANCEL_SCRIPT), (reply, AFTER_REPLY)
    )
    assert first["decision"]["kind"] == "confirmation"
    assert first["pending_action"]["tool"] == "cancel_pending_order"
    ran = [s for s in run["steps"] if s["kind"] == "tool" and s["name"] == "cancel_pending_order"]
    assert ran == [], f"{reply!r} was read as consent: the cancellation ran"
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "pending", order["status"]
