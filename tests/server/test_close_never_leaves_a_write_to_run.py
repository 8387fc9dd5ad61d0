"""Closing a conversation stops it: no more turns, and what it had pending is dropped. An
escalated action still waiting for a supervisor is the conversation's pending action too; a
customer who closed the thread must not have the write performed on their behalf later, so
the close is refused (APPROVAL_PENDING) until the approval is rejected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, open_desk, serve
from tether.server.app import create_app

IDENTIFY = "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147."
PROPOSE_RETURN: list[dict[str, Any]] = [
    {
        "tool": "find_user_id_by_name_zip",
        "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    },
    {"tool": "get_order_details", "args": {"order_id": "#W1067251"}},
    {
        "tool": "return_delivered_order_items",
        "args": {
            "order_id": "#W1067251",
            "item_ids": ["7848293342"],
            "payment_method_id": "credit_card_3362387",
        },
    },
]
AFTER: list[dict[str, Any]] = [{"answer": "Your return is requested [tool:3]."}]


@pytest.fixture
def two_admins(tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    desk = open_desk(tmp_path)
    app = create_app(desk)
    try:
        with (
            serve(app) as url,
            httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as asker,
            httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as supervisor,
        ):
            yield asker, supervisor
    finally:
        desk.store.close()


def test_closing_while_a_return_awaits_approval_means_it_never_runs(
    two_admins: tuple[httpx.Client, httpx.Client],
) -> None:
    asker, supervisor = two_admins
    cid = asker.post("/v1/conversations", json={"principal": "raj_sanchez_2970"}).json()["id"]
    first = asker.post(
        f"/v1/conversations/{cid}/messages?wait=20",
        json={"text": IDENTIFY, "script": PROPOSE_RETURN},
    )
    nonce = first.json()["pending_action"]["nonce"]
    second = asker.post(
        f"/v1/conversations/{cid}/messages?wait=20", json={"confirm": nonce, "script": AFTER}
    )
    assert second.json()["status"] == "suspended", second.text
    run_id = second.json()["run_id"]
    approval = supervisor.get("/v1/approvals", params={"run_id": run_id}).json()["approvals"][0]

    closed = asker.post(f"/v1/conversations/{cid}/close")
    if closed.status_code == 409:  # refused while a person decides: nothing changed
        assert closed.json()["code"] == "APPROVAL_PENDING"
        assert asker.get(f"/v1/conversations/{cid}").json()["status"] == "open"
        rejected = supervisor.post(
            f"/v1/approvals/{approval['id']}/reject?wait=20", json={"note": "customer left"}
        )
        assert rejected.status_code == 200, rejected.text
        ended = supervisor.get(f"/v1/runs/{run_id}").json()
        assert ended["status"] == "completed", ended["status"]
        closed = asker.post(f"/v1/conversations/{cid}/close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        return
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    decided = supervisor.post(
        f"/v1/approvals/{approval['id']}/approve?wait=20",
        json={"argument_hash": approval["argument_hash"], "note": "looks fine"},
    )
    run = supervisor.get(f"/v1/runs/{run_id}").json()
    results = (run["decision"] or {}).get("results") or []
    wrote = [r for r in results if r["tool"] == "return_delivered_order_items"]
    assert not wrote, (decided.status_code, run["decision"]["kind"])
    assert decided.status_code in (409, 410), decided.text
