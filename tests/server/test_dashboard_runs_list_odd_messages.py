"""README, *HTTP API* / *Operator dashboard*: a run whose stored input this version cannot read
is listed as `unknown`, and the other runs are listed as ever. Input whose `messages` are not a
list of message objects (hand-edited, or a later version's shape) is such input: the store reads
the run as unknown, where the dashboard's runs list built each row's preview with `m.get(...)`
on every item and one such run made the whole page 500, hiding every other run on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.edited_runs import two_runs_one_edited


@pytest.mark.parametrize(
    "stored",
    ['{"messages": "hello"}', '{"messages": [1, 2]}', '{"messages": {"role": "user"}}'],
)
def test_a_run_whose_messages_are_not_objects_is_unknown_on_the_runs_page(
    tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client], stored: str
) -> None:
    client, odd, fine = two_runs_one_edited(tmp_path, serve_app, input=stored)

    listed = {r["id"]: r["status"] for r in client.get("/v1/runs").json()["runs"]}
    assert listed == {odd: "unknown", fine: "completed"}

    page = client.get("/")
    assert page.status_code == 200, page.text[:500]
    assert fine in page.text and odd in page.text
