"""README, *Operator dashboard*: a run whose stored input this version cannot read is shown as it
is. A turn whose run stored messages that are not a list of objects (hand-edited, or a later
version's shape) is read as an unknown run: the conversation page shows the turn and the
others, where it built the turn's "sent" line with `m.get(...)` on every item and answered 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import ORDER_QUESTION, ORDER_SCRIPT, open_desk
from tether.server.app import create_app


def test_an_unreadable_turn_is_shown_on_the_conversation_page(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]
) -> None:
    desk = open_desk(tmp_path)
    client = serve_app(create_app(desk))
    made = client.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
    assert made.status_code == 201, made.text
    conversation = made.json()["id"]
    turn = client.post(
        f"/v1/conversations/{conversation}/messages?wait=10",
        json={"text": ORDER_QUESTION, "script": ORDER_SCRIPT},
    )
    assert turn.status_code == 200, turn.text
    run_id = turn.json()["run_id"]
    later = client.post(
        f"/v1/conversations/{conversation}/messages?wait=10",
        json={"text": "Thanks, and when will it ship?", "script": [{"answer": "Soon."}]},
    )
    assert later.status_code == 200, later.text
    with desk.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET input = :v WHERE id = :id"),
            {"v": '{"messages": "a later version\'s transcript"}', "id": run_id},
        )
    assert client.get(f"/v1/conversations/{conversation}").status_code == 200  # the API shows it

    page = client.get(f"/conversations/{conversation}")
    assert page.status_code == 200, page.text[:500]
    assert run_id in page.text
    assert "when will it ship?" in page.text  # the readable turn is shown as ever
