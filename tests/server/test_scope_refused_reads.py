"""A customer who names another customer's record is refused, and their own conversation,
read with their end-user token, holds nothing of that record."""

from __future__ import annotations

import json

from tests.server.test_scope_end_user_tokens import ALICE, BOB, Api, api, start_conversation

__all__ = ["api"]  # the fixture

BOB_ORDER = "#W1006327"  # 593 Cedar Avenue, Chicago


def test_a_customer_who_names_another_customers_order_reads_nothing_of_it(api: Api) -> None:
    """Alice names Bob's order; the guard refuses the lookup. Her own conversation, read with
    her token, must hold nothing of Bob's order: not his address, not his user id."""
    conversation = start_conversation(api, ALICE)
    script = [{"tool": "get_order_details", "args": {"order_id": BOB_ORDER}}]
    with api.client("service", ALICE) as alice:
        turn = alice.post(
            f"/v1/conversations/{conversation}/messages?wait=30",
            json={"text": f"What is in order {BOB_ORDER}?", "script": script},
        )
    assert turn.status_code == 200, turn.text
    assert turn.json()["decision"]["reason"]["code"] == "PERMISSION_DENIED"
    assert "593 Cedar Avenue" not in turn.text and BOB not in turn.text

    with api.client("viewer", ALICE) as reader:
        detail = reader.get(f"/v1/conversations/{conversation}")
    assert detail.status_code == 200, detail.text
    shown = json.dumps(detail.json())
    assert "593 Cedar Avenue" not in shown
    assert BOB not in shown
    # what the refusing check read is named, so a reader sees what was looked up
    guards = [
        step
        for t in detail.json()["turns"]
        for step in t["run"]["steps"]
        if step["kind"] == "guard" and step["data"].get("reads")
    ]
    assert any(f"retail_orders:{BOB_ORDER}" in step["data"]["reads"] for step in guards)
