"""README, *Operator dashboard*: "everything a run recorded is shown as text", and a run whose
stored input this version cannot read is shown as it is. The conversation page builds each
turn's "sent" line with `m.get(...)` on every item of the turn's run's `messages`
(`dashboard_conversations._sent`): one turn whose run stored messages that are not a list of
objects (hand-edited, or a later version's shape) makes the whole conversation page 500, while
the API shows the same conversation without trouble."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import ORDER_QUESTION, ORDER_SCRIPT, open_desk, serve_app  # noqa: F401
from tether.server.app import create_app


def test_one_odd_turn_does_not_break_the_conversation_page(
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
    with desk.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET input = :v WHERE id = :id"),
            {"v": '{"messages": "a later version\'s transcript"}', "id": run_id},
        )
    assert client.get(f"/v1/conversations/{conversation}").status_code == 200  # the API shows it

    page = client.get(f"/conversations/{conversation}")
    assert page.status_code == 200, page.text[:500]
    assert run_id in page.text
