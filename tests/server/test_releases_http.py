"""Releases over HTTP: `GET /v1/runs?release=` and the runs page filter by the release a run
executed under (a value that is not a release id is 400), the run and conversation pages show
it, and a conversation's JSON carries the release it started under and, per turn, whether the
turn ran under another one."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.server.conftest import admin_headers, open_desk, order_run_body, serve
from tests.server.test_dashboard import assert_html, run_links, start_run
from tether.core.types import Run, RunStatus
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.conversations_schema import conversations

OTHER_RELEASE = "rel_00000000000000aa"  # a release id no run of the desk executed under
UNUSED_RELEASE = "rel_0000000000000000"
HELLO = [{"answer": "Hello! How can I help?"}]


@dataclass
class Released:
    client: httpx.Client
    desk: Desk
    release: str  # the configuration in force: what the desk's runs record
    run: dict[str, Any]  # a run it executed
    older: str  # the id of a run recorded under OTHER_RELEASE


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Released]:
    desk = open_desk(Path(tmp_path_factory.mktemp("releases")))
    assert desk.release is not None
    app = create_app(desk)
    headers = admin_headers(app)
    # a run from before the last change of configuration, as a replica of then stored it
    older = Run(
        id="run_00000000000000000000000000000001",
        agent="support",
        principal_id="raj_sanchez_2970",
        status=RunStatus.COMPLETED,
        created_at=1.0,
        updated_at=1.0,
        input={"messages": [{"role": "user", "content": "an older question"}]},
        trace_id="0" * 32,
        release=OTHER_RELEASE,
    )
    desk.store.create_run(older, {})
    try:
        with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            run = start_run(c, order_run_body())
            yield Released(c, desk, desk.release.configuration, run, older.id)
    finally:
        desk.store.close()


def listed(client: httpx.Client, **params: str) -> dict[str, Any]:
    response = client.get("/v1/runs", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_runs_record_and_the_api_filters_by_release(released: Released) -> None:
    c, release = released.client, released.release
    assert released.run["release"] == release
    mine = listed(c, release=release)  # (a conversation's turns may have run here too)
    assert released.run["id"] in [r["id"] for r in mine["runs"]]
    assert {r["release"] for r in mine["runs"]} == {release}
    assert mine["total"] == len(mine["runs"]) == listed(c)["total"] - 1
    older = listed(c, release=OTHER_RELEASE)
    assert [(r["id"], r["release"]) for r in older["runs"]] == [(released.older, OTHER_RELEASE)]
    assert older["total"] == 1
    assert listed(c, release=UNUSED_RELEASE) == {"runs": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize(
    "value", ["production", "rel_", "REL_00000000000000AA", "rel_00000000000000aa0", " "]
)
def test_the_api_refuses_a_release_that_is_not_an_id(released: Released, value: str) -> None:
    response = released.client.get("/v1/runs", params={"release": value})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BAD_REQUEST"
    assert "release" in response.text


def test_the_runs_page_shows_and_filters_by_release(released: Released) -> None:
    c, release, run_id = released.client, released.release, released.run["id"]
    everything = assert_html(c.get("/"))
    assert {run_id, released.older} <= set(run_links(everything))
    assert f'title="{release}"' in everything and f"<code>{release[:12]}</code>" in everything
    assert f"<code>{OTHER_RELEASE[:12]}</code>" in everything

    mine = assert_html(c.get("/", params={"release": release}))
    assert run_id in run_links(mine) and released.older not in run_links(mine)
    assert f'name="release" value="{release}"' in mine  # the form keeps the filter
    older_only = assert_html(c.get("/", params={"release": OTHER_RELEASE}))
    assert run_links(older_only) == [released.older] and "page 1 of 1 · 1 runs" in older_only
    older = assert_html(c.get("/", params={"release": OTHER_RELEASE, "decision": "refusal"}))
    assert run_links(older) == [] and "No runs match." in older
    unused = assert_html(c.get("/", params={"release": UNUSED_RELEASE}))
    assert run_links(unused) == [] and "No runs match." in unused


@pytest.mark.parametrize("value", ["production", "rel_xyz", "<b>rel</b>"])
def test_the_runs_page_refuses_a_release_that_is_not_an_id(released: Released, value: str) -> None:
    page = assert_html(released.client.get("/", params={"release": value}), 400)
    assert "BAD_REQUEST" in page and "is not a release id" in html.unescape(page)
    assert "<b>rel</b>" not in page  # shown escaped


def test_the_run_page_shows_its_release(released: Released) -> None:
    page = assert_html(released.client.get(f"/runs/{released.run['id']}"))
    assert f"<code>{released.release}</code>" in page
    assert f"?release={released.release}" in page  # to the runs under the same release


def test_a_conversation_records_its_release_and_flags_a_turn_under_another(
    released: Released,
) -> None:
    c, release = released.client, released.release
    created = c.post("/v1/conversations", json={"principal": "raj_sanchez_2970"})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["release"] == release
    turn = c.post(f"/v1/conversations/{cid}/messages?wait=30", json={"text": "hi", "script": HELLO})
    assert turn.status_code == 200, turn.text
    detail = c.get(f"/v1/conversations/{cid}").json()
    assert detail["release"] == release
    assert [(t["release"], t["release_changed"]) for t in detail["turns"]] == [(release, False)]
    found = c.get("/v1/conversations", params={"principal": "raj_sanchez_2970"}).json()
    assert [x["release"] for x in found["conversations"] if x["id"] == cid] == [release]
    page = assert_html(c.get(f"/conversations/{cid}"))
    assert f"<code>{release}</code>" in page and f"release {release[:12]}" in page
    assert "not the one it started under" not in page

    # the conversation started under an earlier release; its turn ran under this one
    with released.desk.store.engine.begin() as conn:
        conn.execute(
            update(conversations).where(conversations.c.id == cid).values(release_id=OTHER_RELEASE)
        )
    detail = c.get(f"/v1/conversations/{cid}").json()
    assert detail["release"] == OTHER_RELEASE
    assert [(t["release"], t["release_changed"]) for t in detail["turns"]] == [(release, True)]
    page = assert_html(c.get(f"/conversations/{cid}"))
    assert f"<code>{OTHER_RELEASE}</code>" in page
    assert "release-changed" in page and "not the one it started under" in page
