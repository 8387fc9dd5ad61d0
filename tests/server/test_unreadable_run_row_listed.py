"""One run row this version cannot read (a Decision of a kind a newer version records, or one
cut short) must not hide every other run from operators."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.server.conftest import admin_headers, serve
from tether.core.types import Message
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store import RunStore

USER = "yusuf_rossi_9620"
DAMAGED = {
    "newer kind": '{"kind":"deferral","text":"later","reason":{"code":"DEFERRED","message":"m"}}',
    "cut short": '{"kind":"answer","te',
}


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    yield open_retail_desk(store, db=RetailDB.fresh_copy())
    store.close()


def _run(desk: Desk, words: str) -> str:
    model = ScriptedModel(parse_script([{"answer": "Hello, how can I help?"}]))
    request = RunRequest(principal_id=USER, messages=[Message(role="user", content=words)])
    return desk.runtime.run(request, model).id


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_one_unreadable_run_row_leaves_the_others_listed(desk: Desk, damage: str) -> None:
    healthy = _run(desk, "hello")
    odd = _run(desk, "hello again")
    with desk.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET decision = :d WHERE id = :id"), {"d": DAMAGED[damage], "id": odd}
        )
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        listed = client.get("/v1/runs")
        shown = client.get(f"/v1/runs/{healthy}")

    assert shown.status_code == 200, shown.text
    # before: 500 INTERNAL for the whole list, for every operator, while the row stays
    assert listed.status_code == 200, listed.text
    by_id = {r["id"]: r for r in listed.json()["runs"]}
    assert healthy in by_id
    # the unreadable one is listed as a run whose state this version does not know
    assert by_id[odd]["status"] == "unknown" and by_id[odd]["decision"] is None, by_id[odd]
