"""A retail desk on both stores, and a conversation whose pending action is answered over a
real server."""

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


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    yield desk
    store.close()


def answer_the_pending_action(
    desk: Desk,
    principal: str,
    ask: tuple[str, list[dict[str, Any]]],
    reply: tuple[str, list[dict[str, Any]]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ask (text and script) for an action that waits for the customer's yes, then reply
    (text and script): the first turn's answer, and the run of the reply with its steps."""
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        started = c.post("/v1/conversations", json={"principal": principal})
        assert started.status_code == 201, started.text
        turns = f"/v1/conversations/{started.json()['id']}/messages"
        first = c.post(turns, params={"wait": 30}, json={"text": ask[0], "script": ask[1]})
        assert first.status_code == 200, first.text
        answered = c.post(turns, params={"wait": 30}, json={"text": reply[0], "script": reply[1]})
        assert answered.status_code == 200, answered.text
        run = c.get(f"/v1/runs/{answered.json()['run_id']}").json()
    return first.json(), run
