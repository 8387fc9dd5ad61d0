"""A conversation records how its customer was named (an operator's `principals:act_as`, or
an end-user token), and every later request on it must name the customer the same way
(README, *HTTP API*: `403 CONVERSATION_FORBIDDEN` otherwise)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.server.conftest import ORDER_QUESTION, ORDER_SCRIPT, open_desk, serve
from tether.access.end_users import EndUserKey, EndUserVerifier
from tether.server.app import create_app

SECRET = b"an end-user signing secret of 40 bytes!!"
AUDIENCE = "customer-named-the-same-way"


def token_for(principal: str) -> str:
    claims = {"sub": principal, "aud": AUDIENCE, "exp": time.time() + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[tuple[str, dict[str, httpx.Client]]]:
    """A server that verifies end-user tokens, and a client per operator role."""
    desk = open_desk(tmp_path)
    verifier = EndUserVerifier([EndUserKey("k1", "HS256", SECRET)], AUDIENCE)
    app = create_app(desk, end_users=verifier)
    clients: dict[str, httpx.Client] = {}
    try:
        with serve(app) as url:
            for role in ("service", "viewer"):
                key, _ = app.state.operators.create(role, name=role, actor="tests")
                headers = {"Authorization": f"Bearer {key}"}
                clients[role] = httpx.Client(base_url=url, headers=headers, timeout=30)
            yield url, clients
    finally:
        for c in clients.values():
            c.close()
        desk.store.close()


def test_a_token_cannot_take_over_a_conversation_an_operator_started(
    keys: tuple[str, dict[str, httpx.Client]],
) -> None:
    _, clients = keys
    service, viewer = clients["service"], clients["viewer"]
    started = service.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
    assert started.status_code == 201, started.text
    assert started.json()["principal_source"] == "operator"
    cid = started.json()["id"]
    token = {"X-End-User-Token": token_for("raj_sanchez_2970")}

    # a viewer key may not act as a customer: without a token it cannot read the thread ...
    assert viewer.get(f"/v1/conversations/{cid}").status_code == 403
    # ... and naming the customer another way than the conversation recorded is refused too
    read = viewer.get(f"/v1/conversations/{cid}", headers=token)
    assert read.status_code == 403, read.text
    assert read.json()["code"] == "CONVERSATION_FORBIDDEN"

    sent = service.post(
        f"/v1/conversations/{cid}/messages",
        headers=token,
        json={"text": ORDER_QUESTION, "script": ORDER_SCRIPT},
    )
    assert sent.status_code == 403, sent.text
    assert sent.json()["code"] == "CONVERSATION_FORBIDDEN"
    turns = service.get(f"/v1/conversations/{cid}", headers=token)
    assert turns.status_code == 403 or turns.json()["turns"] == []
    # named the way it was started (an act_as key, no token), the conversation still serves
    same_way = service.post(
        f"/v1/conversations/{cid}/messages?wait=20",
        json={"text": ORDER_QUESTION, "script": ORDER_SCRIPT},
    )
    assert same_way.status_code == 200, same_way.text
    assert same_way.json()["turn"] == 1, same_way.text
