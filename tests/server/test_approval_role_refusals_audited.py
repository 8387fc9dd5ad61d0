"""Refused attempts to decide an approval are audited (`approval.refused`), including those
of a key whose role may decide nothing (a viewer, the service key of the app that asked): over
HTTP each approve or reject is 403 ROLE_FORBIDDEN and leaves an audit event naming the key. An
approver's decision still goes through, with no refusal recorded."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.approvals.escalated_return import PROPOSE_RETURN
from tests.server.conftest import open_desk, serve
from tether.server.app import create_app

TURN_1 = PROPOSE_RETURN


def test_role_refusal_is_audited(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    try:
        app = create_app(desk)
        operators = app.state.operators
        service_key, _ = operators.create("service", name="shop-app", actor="tests")
        viewer_key, _ = operators.create("viewer", name="watcher", actor="tests")
        approver_key, _ = operators.create("approver", name="sam", actor="tests")
        with serve(app) as url:
            app_client = {"Authorization": f"Bearer {service_key}"}
            with httpx.Client(base_url=url, timeout=60, headers=app_client) as shop:
                made = shop.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
                conversation = made.json()["id"]
                path = f"/v1/conversations/{conversation}/messages?wait=30"
                first = shop.post(
                    path,
                    json={
                        "text": "I want to return the grill from order #W1067251. "
                        "I'm Raj Sanchez, zip 92147.",
                        "script": TURN_1,
                    },
                )
                nonce = first.json()["pending_action"]["nonce"]
                second = shop.post(
                    path,
                    json={"confirm": nonce, "script": [{"answer": "Requested [tool:3]."}]},
                )
                assert second.json()["status"] == "suspended", second.json()
                run_id = second.json()["run_id"]
                [approval] = desk.approvals.list(run_id=run_id)
                for key, verb in (
                    (service_key, "approve"),
                    (viewer_key, "approve"),
                    (viewer_key, "reject"),
                ):
                    tried = httpx.post(
                        f"{url}/v1/approvals/{approval.id}/{verb}",
                        json={"argument_hash": approval.argument_hash},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    assert tried.status_code == 403, tried.text
                    assert tried.json()["code"] == "ROLE_FORBIDDEN"
                decided = httpx.post(
                    f"{url}/v1/approvals/{approval.id}/approve",
                    json={"argument_hash": approval.argument_hash},
                    headers={"Authorization": f"Bearer {approver_key}"},
                )
                assert decided.status_code == 200, decided.text
        events = desk.access.audit.events(run_id=run_id, limit=1000)
        assert [e.kind for e in events].count("approval.approved") == 1
        refused = [e for e in events if e.kind == "approval.refused"]
        assert len(refused) == 3, f"refused attempts audited: {[e.actor for e in refused]}"
        assert {json.loads(e.data)["code"] for e in refused} == {"ROLE_FORBIDDEN"}
    finally:
        desk.store.close()
