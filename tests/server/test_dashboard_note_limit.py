"""The approvals inbox's note takes up to 1,000 characters (`maxlength="1000"`, the approvals
store's own limit) in any script: a browser percent-encodes each UTF-8 byte outside ASCII as 3,
so a CJK character is 9 bytes of the form and an emoji 12. A note at the limit in Japanese and
emoji decides the request from the dashboard; one character more is refused as too long (400
naming the limit), not as a form too large (413)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI

from tests.approvals.escalated_return import PROPOSE_RETURN
from tests.server.conftest import open_desk
from tether.server.app import create_app

RETURN_SCRIPT = PROPOSE_RETURN


def _escalate(client: httpx.Client) -> str:
    """A large return the house rules send to a supervisor: the approval request's id."""
    made = client.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
    conversation = made.json()["id"]
    text = "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147."
    first = client.post(
        f"/v1/conversations/{conversation}/messages?wait=10",
        json={"text": text, "script": RETURN_SCRIPT},
    )
    nonce = first.json()["pending_action"]["nonce"]
    second = client.post(
        f"/v1/conversations/{conversation}/messages?wait=10",
        json={"confirm": nonce, "script": [{"answer": "Your return is requested [tool:3]."}]},
    )
    assert second.json()["status"] == "suspended", second.text
    (approval,) = client.get("/v1/approvals?status=pending").json()["approvals"]
    return str(approval["id"])


def test_a_note_at_the_limit_in_any_script_decides_from_the_dashboard(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    app = create_app(open_desk(tmp_path))
    admin = serve_app(app)
    approval_id = _escalate(admin)
    approver, _ = app.state.operators.create("approver", name="supervisor", actor="tests")
    url = str(admin.base_url).rstrip("/")
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as browser:
        login = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token is not None
        logged_in = browser.post(
            "/login",
            data={"key": approver, "csrf_token": token.group(1)},
            headers={"Origin": url},
        )
        assert logged_in.status_code == 303
        inbox = browser.get("/approvals").text
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', inbox)
        argument_hash = re.search(r'name="argument_hash" value="([^"]+)"', inbox)
        assert form_token is not None and argument_hash is not None
        fields = {"argument_hash": argument_hash.group(1), "csrf_token": form_token.group(1)}

        def reject(note: str) -> httpx.Response:
            return browser.post(
                f"/approvals/{approval_id}/reject",
                content=urlencode({**fields, "note": note}),
                headers={"Origin": url, "Content-Type": "application/x-www-form-urlencoded"},
            )

        too_long = reject("\U0001f600" * 1001)  # 12 bytes each, one over the limit
        assert too_long.status_code == 400, too_long.text[:400]
        assert "longer than 1000 characters" in too_long.text
        note = "返品額が大きいため却下します。" * 40 + "\U0001f600" * 400
        assert len(note) == 1000
        decided = reject(note)
        assert decided.status_code == 303, decided.text[:400]
    shown = admin.get(f"/v1/approvals/{approval_id}").json()
    assert shown["status"] == "rejected" and shown["note"] == note
