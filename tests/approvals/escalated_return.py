"""A retail return over the approval threshold, taken through a conversation to the point where
it waits for a supervisor: the tests of what may happen to it then (approvals racing, a cancel,
a close) start from here."""

from __future__ import annotations

from typing import Any

import httpx

CUSTOMER = "raj_sanchez_2970"
ORDER = "#W1067251"
WRITE = "return_delivered_order_items"
IDENTIFY = f"I want to return the grill from order {ORDER}. I'm Raj Sanchez, zip 92147."
PROPOSE_RETURN: list[dict[str, Any]] = [
    {
        "tool": "find_user_id_by_name_zip",
        "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    },
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {
        "tool": WRITE,
        "args": {
            "order_id": ORDER,
            "item_ids": ["7848293342"],
            "payment_method_id": "credit_card_3362387",
        },
    },
]
AFTER: list[dict[str, Any]] = [{"answer": "Your return is requested [tool:3]."}]


def escalated_return(client: httpx.Client) -> tuple[str, dict[str, Any]]:
    """A new conversation whose confirmed return now waits for a supervisor: its id, and the
    approval (as `GET /v1/approvals` lists it)."""
    cid = client.post("/v1/conversations", json={"principal": CUSTOMER}).json()["id"]
    first = client.post(
        f"/v1/conversations/{cid}/messages?wait=20",
        json={"text": IDENTIFY, "script": PROPOSE_RETURN},
    )
    nonce = first.json()["pending_action"]["nonce"]
    second = client.post(
        f"/v1/conversations/{cid}/messages?wait=20", json={"confirm": nonce, "script": AFTER}
    )
    assert second.json()["status"] == "suspended", second.text
    found = client.get("/v1/approvals", params={"run_id": second.json()["run_id"]})
    return cid, dict(found.json()["approvals"][0])
