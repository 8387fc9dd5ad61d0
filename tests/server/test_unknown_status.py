"""A run row whose status this version does not know (edited by hand, or written by a later
version): listings show it, filters find it, its detail says so, and a replay reports it as
not replayable and goes on with the others. Nothing answers 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.server.conftest import ORDER_SCRIPT, serve
from tether.core.errors import ErrorCode
from tether.core.types import Message, RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.runtime.replay import Replayer, replay_runs
from tether.sdk import Desk
from tether.sdk.gate import recorded_runs
from tether.server.app import create_app
from tether.store.runs import RunFilter, RunStore
from tether.store.schema import runs

TETHER = str(Path(sys.executable).parent / "tether")
USER = "raj_sanchez_2970"
ASK = "What is the status of order #W4566809? My email is raj.sanchez2046@example.com"


def record_runs(desk: Desk, count: int) -> list[str]:
    """`count` answered runs, oldest first."""
    ids = []
    for _ in range(count):
        model = ScriptedModel(parse_script(ORDER_SCRIPT, "script"))
        run = desk.runtime.run(RunRequest(USER, [Message("user", ASK)]), model)
        assert run.status is RunStatus.COMPLETED
        ids.append(run.id)
    return ids


def set_status(desk: Desk, run_id: str, status: str) -> None:
    with desk.store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(status=status))


@pytest.fixture
def edited(store_url: str) -> Iterator[tuple[Desk, list[str]]]:
    """Three answered runs; the middle one's status edited to `failed`."""
    desk = open_retail_desk(RunStore.open(store_url), db=RetailDB.fresh_copy())
    try:
        ids = record_runs(desk, 3)
        set_status(desk, ids[1], "failed")
        yield desk, ids
    finally:
        desk.store.close()


def test_the_store_lists_and_filters_a_run_of_unknown_status(
    edited: tuple[Desk, list[str]],
) -> None:
    desk, ids = edited
    store = desk.store
    listed = {r.id: r.status for r in store.list_runs(RunFilter())}
    assert listed == {
        ids[0]: RunStatus.COMPLETED,
        ids[1]: RunStatus.UNKNOWN,
        ids[2]: RunStatus.COMPLETED,
    }
    unknown = RunFilter(status=RunStatus.UNKNOWN)
    assert [r.id for r in store.list_runs(unknown)] == [ids[1]]
    assert store.count_runs(unknown) == 1
    assert store.count_runs(RunFilter(status=RunStatus.COMPLETED)) == 2
    detail = store.get_run(ids[1])
    assert detail.status is RunStatus.UNKNOWN and detail.steps  # its record is still there
    assert detail.to_dict()["status"] == "unknown"


def test_a_replay_of_all_reports_it_and_goes_on(edited: tuple[Desk, list[str]]) -> None:
    desk, ids = edited
    found = list(recorded_runs(desk.store, None))
    assert [r.id for r in found] == ids  # not skipped: it is reported
    summary = replay_runs(Replayer(desk.runtime), found)
    assert summary["runs"] == 3 and summary["identical"] == 2 and summary["diverged"] == 1
    (example,) = summary["examples"]
    assert example["run"] == ids[1]
    assert example["error"]["code"] == ErrorCode.RUN_NOT_REPLAYABLE


def test_the_api_and_dashboard_show_it(tmp_path: Path) -> None:
    desk = open_retail_desk(
        RunStore.open(f"sqlite:///{tmp_path / 't.db'}"), db=RetailDB.fresh_copy()
    )
    app = create_app(desk)
    key, _ = app.state.operators.create("admin", name="tests", actor="tests")
    try:
        ids = record_runs(desk, 2)
        set_status(desk, ids[0], "failed")
        with (
            serve(app) as url,
            httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c,
        ):
            listing = c.get("/v1/runs")
            filtered = c.get("/v1/runs", params={"status": "unknown"})
            detail = c.get(f"/v1/runs/{ids[0]}")
            cancel = c.post(f"/v1/runs/{ids[0]}/cancel")
            events = c.get(f"/v1/runs/{ids[0]}/events")
            page = c.get("/")
            run_page = c.get(f"/runs/{ids[0]}")
    finally:
        app.state.approvals.service.stop()
        desk.store.close()
    assert listing.status_code == 200, listing.text
    statuses = {r["id"]: r["status"] for r in listing.json()["runs"]}
    assert statuses == {ids[0]: "unknown", ids[1]: "completed"}
    assert filtered.status_code == 200 and [r["id"] for r in filtered.json()["runs"]] == ids[:1]
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] == "unknown" and detail.json()["steps"]
    assert cancel.status_code == 409 and cancel.json()["code"] == ErrorCode.RUN_STATUS_UNKNOWN
    assert events.status_code == 409 and events.json()["code"] == ErrorCode.RUN_STATUS_UNKNOWN
    assert desk.store.leases.cancel_requested(ids[0]) is None  # and nothing was written
    assert page.status_code == 200 and ids[0] in page.text and ids[1] in page.text
    assert run_page.status_code == 200 and "<dt>Status</dt><dd>unknown</dd>" in run_page.text


def test_the_command_line_lists_it_and_replays_the_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    desk = open_retail_desk(RunStore.open(url), db=RetailDB.fresh_copy())
    try:
        ids = record_runs(desk, 2)
        set_status(desk, ids[0], "failed")
    finally:
        desk.store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(tmp_path), TETHER_DATABASE_URL=url)

    def tether(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TETHER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    listed, every, one = (
        tether("runs", "list", "--json"),
        tether("replay", "--all", "--json"),
        tether("replay", ids[0], "--json"),
    )
    for proc in (listed, every, one):
        assert "Traceback" not in proc.stdout + proc.stderr
    assert listed.returncode == 0, listed.stderr
    assert {r["id"]: r["status"] for r in json.loads(listed.stdout)["runs"]} == {
        ids[0]: "unknown",
        ids[1]: "completed",
    }
    summary = json.loads(every.stdout)
    assert every.returncode == 1
    assert (summary["runs"], summary["identical"], summary["diverged"]) == (2, 1, 1)
    assert summary["examples"][0]["error"]["code"] == ErrorCode.RUN_NOT_REPLAYABLE
    assert one.returncode != 0
    assert json.loads(one.stdout)["error"]["code"] == ErrorCode.RUN_NOT_REPLAYABLE
