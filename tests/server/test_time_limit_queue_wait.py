"""Time a run spent queued does not count against its time limit, also when it resumes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT, open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore

from .conftest import HELD, HeldModel, serve

LIMIT_S = 3.0
QUEUED_S = 4.0

RETURN = {
    "order_id": "#W1067251",
    "item_ids": ["7848293342"],
    "payment_method_id": "credit_card_3362387",
}
FIRST_TURN: list[dict[str, Any]] = [
    {
        "tool": "find_user_id_by_name_zip",
        "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    },
    {"tool": "get_order_details", "args": {"order_id": "#W1067251"}},
    {"tool": "return_delivered_order_items", "args": RETURN},
]
CONFIRM_TURN: list[dict[str, Any]] = [
    {"answer": "A supervisor approved it: your return of the grill is requested [tool:3]."}
]


def _settled(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run = client.get(f"/v1/runs/{run_id}", params={"wait": 5}).json()
        if run["status"] in ("completed", "suspended") or time.monotonic() > deadline:
            return run


def test_a_run_that_waited_in_the_queue_and_then_for_an_approval_is_not_ended_for_time(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(store_url)
    agent = dataclasses.replace(
        RETAIL_AGENT, limits=dataclasses.replace(RETAIL_AGENT.limits, max_seconds=LIMIT_S)
    )
    desk = open_retail_desk(store, db=RetailDB.fresh_copy(), agent=agent)
    app = create_app(desk, model_factory=HeldModel, allow_scripts=True, workers=1)
    service, _ = app.state.operators.create("admin", name="svc", actor="tests")
    approver, _ = app.state.operators.create("approver", name="sam", actor="tests")
    try:
        with (
            serve(app) as url,
            httpx.Client(
                base_url=url, timeout=60, headers={"Authorization": f"Bearer {service}"}
            ) as client,
        ):
            conv = client.post("/v1/conversations", json={"principal": "raj_sanchez_2970"}).json()
            path = f"/v1/conversations/{conv['id']}/messages"
            text = "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147."
            first = client.post(path, json={"text": text, "script": FIRST_TURN}).json()
            first_run = _settled(client, first["run_id"])
            assert first_run["decision"]["reason"]["code"] == "CONFIRMATION_REQUIRED"
            nonce = client.get(f"/v1/conversations/{conv['id']}").json()["pending_action"]["nonce"]

            # the only worker is busy: the confirmation's turn waits in the queue
            client.post(
                "/v1/runs",
                json={
                    "principal": "raj_sanchez_2970",
                    "messages": [{"role": "user", "content": "hi"}],
                },
            )
            time.sleep(0.3)
            turn = client.post(path, json={"confirm": nonce, "script": CONFIRM_TURN}).json()
            time.sleep(QUEUED_S)
            HELD.set()
            waiting = _settled(client, turn["run_id"])
            assert waiting["status"] == "suspended", waiting.get("decision")
            pending = client.get("/v1/approvals", params={"run_id": turn["run_id"]}).json()
            approval = pending["approvals"][0]
            decided = client.post(
                f"/v1/approvals/{approval['id']}/approve",
                json={"note": "checked", "argument_hash": approval["argument_hash"]},
                params={"wait": 10},
                headers={"Authorization": f"Bearer {approver}"},
            )
            assert decided.status_code == 200, decided.text
            run = _settled(client, turn["run_id"])
        # the run worked well under its limit of 3 s; it waited 4 s in the queue, which the
        # README says does not count
        assert run["status"] == "completed"
        assert run["decision"]["kind"] == "action", run["decision"]["reason"]
    finally:
        HELD.set()
        store.close()
