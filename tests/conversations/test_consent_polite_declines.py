"""A reply that politely declines ("C'est bon, merci", "All good, thanks") is no consent.

In French "c'est bon, merci" answering an offer is the usual way of saying "no thanks, I'm
fine"; in English "all good, thanks" says the same ("no need"). Neither is unambiguous consent
to the action now, so the pending cancellation must not run. Checked end to end over HTTP on a
real server, on both stores: the order stays pending and the tool ledger has no cancellation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, serve
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore

ORDER = "#W4566809"
CANCEL_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
]
AFTER_REPLY: list[dict[str, Any]] = [{"answer": "Understood, I have left the order as it is."}]


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    yield desk
    store.close()


@pytest.mark.parametrize("reply", ["C'est bon, merci", "All good, thanks"])
def test_a_polite_decline_never_runs_the_cancellation(desk: Desk, reply: str) -> None:
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        started = c.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
        assert started.status_code in (200, 201), started.text
        conv = started.json()["id"]
        first = c.post(
            f"/v1/conversations/{conv}/messages",
            params={"wait": 30},
            json={
                "text": f"Please cancel order {ORDER}. raj.sanchez2046@example.com",
                "script": CANCEL_SCRIPT,
            },
        )
        assert first.status_code == 200, first.text
        assert first.json()["decision"]["kind"] == "confirmation"
        assert first.json()["pending_action"]["tool"] == "cancel_pending_order"

        answered = c.post(
            f"/v1/conversations/{conv}/messages",
            params={"wait": 30},
            json={"text": reply, "script": AFTER_REPLY},
        )
        assert answered.status_code == 200, answered.text
        run = c.get(f"/v1/runs/{answered.json()['run_id']}").json()

    ran = [s for s in run["steps"] if s["kind"] == "tool" and s["name"] == "cancel_pending_order"]
    assert ran == [], f"{reply!r} was read as consent: the cancellation ran"
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "pending", order["status"]
