"""What a customer named by an end-user token can reach: their own conversations, and nothing
of another customer's, through every route, on both stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.server.conftest import serve
from tether.access.end_users import EndUserKey, EndUserVerifier
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore

SECRET = "an-application-secret-of-at-least-32-bytes"
AUDIENCE = "tether-tests"
ALICE = "raj_sanchez_2970"  # owns #W4566809
BOB = "james_johnson_9321"
ALICE_QUESTION = "What is the status of order #W4566809? My email is raj.sanchez2046@example.com"
ALICE_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


def end_user_token(principal: str, expires_in: float = 600) -> str:
    claims = {"sub": principal, "aud": AUDIENCE, "exp": time.time() + expires_in}
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "app"})


class Api:
    def __init__(self, url: str, keys: dict[str, str]) -> None:
        self.url, self.keys = url, keys

    def client(self, role: str, principal: str | None = None, **headers: str) -> httpx.Client:
        headers["Authorization"] = f"Bearer {self.keys[role]}"
        if principal is not None:
            headers["X-End-User-Token"] = end_user_token(principal)
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    """The API over a retail desk on `store_url` that verifies end-user tokens."""
    store = RunStore.open(store_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    verifier = EndUserVerifier([EndUserKey("app", "HS256", SECRET.encode())], AUDIENCE)
    app = create_app(desk, end_users=verifier, allow_scripts=True, workers=2)
    keys = {
        role: app.state.operators.create(role, name=role, actor="tests")[0]
        for role in ("viewer", "service")
    }
    try:
        with serve(app) as url:
            yield Api(url, keys)
    finally:
        store.close()


def start_conversation(api: Api, principal: str) -> str:
    with api.client("service", principal) as service:
        started = service.post("/v1/conversations", json={})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def test_a_replayed_idempotency_key_does_not_hand_one_customers_turn_to_another(
    api: Api,
) -> None:
    """The customer's app sends each customer's turns under its one service key. Bob's request
    on Alice's conversation must be refused as any request of his on it is, whatever
    Idempotency-Key it carries; it must never get Alice's turn back."""
    conversation = start_conversation(api, ALICE)
    path = f"/v1/conversations/{conversation}/messages?wait=30"
    body = {"text": ALICE_QUESTION, "script": ALICE_SCRIPT}
    key = {"Idempotency-Key": "turn-1"}
    with api.client("service", ALICE, **key) as alice:
        first = alice.post(path, json=body)
    assert first.status_code == 200, first.text
    assert "#W4566809 is pending" in first.text

    with api.client("service", BOB, **key) as bob:
        again = bob.post(path, json=body)
    assert again.status_code == 403, again.text
    assert again.json()["code"] == "CONVERSATION_FORBIDDEN"
    assert "#W4566809" not in again.text


def test_a_replayed_idempotency_key_does_not_accept_an_expired_end_user_token(api: Api) -> None:
    """An expired token is 401 END_USER_TOKEN_INVALID on every request, a retry included."""
    conversation = start_conversation(api, ALICE)
    path = f"/v1/conversations/{conversation}/messages?wait=30"
    body = {"text": ALICE_QUESTION, "script": ALICE_SCRIPT}
    with api.client("service", ALICE, **{"Idempotency-Key": "turn-1"}) as alice:
        assert alice.post(path, json=body).status_code == 200
        expired = {"X-End-User-Token": end_user_token(ALICE, expires_in=-3600)}
        again = alice.post(path, json=body, headers=expired)
    assert again.status_code == 401, again.text
    assert again.json()["code"] == "END_USER_TOKEN_INVALID"


def test_a_retry_with_a_fresh_token_of_the_same_customer_is_replayed(api: Api) -> None:
    """The customer's app refreshes the customer's token between attempts: the retry is still
    the same request of the same customer, answered from the first, not a second turn."""
    conversation = start_conversation(api, ALICE)
    path = f"/v1/conversations/{conversation}/messages?wait=30"
    body = {"text": ALICE_QUESTION, "script": ALICE_SCRIPT}
    with api.client("service", ALICE, **{"Idempotency-Key": "turn-1"}) as alice:
        first = alice.post(path, json=body)
        fresh = {"X-End-User-Token": end_user_token(ALICE, expires_in=900)}
        again = alice.post(path, json=body, headers=fresh)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    with api.client("viewer", ALICE) as reader:
        turns = reader.get(f"/v1/conversations/{conversation}").json()["turns"]
    assert len(turns) == 1
