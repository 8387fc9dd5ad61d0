"""Each operator key may have `TETHER_MAX_ACTIVE_RUNS_PER_OPERATOR` runs queued or running, runs
and conversation turns alike, counted in the store: one more is `429 QUOTA_EXCEEDED` with
`Retry-After`, writes nothing, and leaves every other key alone; a run that ends frees room."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.server.conftest import open_desk
from tests.server.conversation_site import USER, Site, assert_problem, open_site
from tests.store.statements import statements
from tether.core.errors import ErrorCode, TetherError
from tether.server.app import create_app
from tether.server.quotas import OPERATOR_QUOTA_ENV, PRINCIPAL_QUOTA_ENV, RunQuotas
from tether.store.schema import runs

RUN = {"principal": USER, "input": "Hello there"}  # no script: the gated model holds it


@pytest.fixture
def site(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv(OPERATOR_QUOTA_ENV, "1")
    with open_site(sqlite_url) as s:
        yield s


def _ended(site: Site, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    with site.client("viewer") as c:
        while True:
            run: dict[str, Any] = c.get(f"/v1/runs/{run_id}").json()
            if run["status"] == "completed" or time.monotonic() > deadline:
                assert run["status"] == "completed", run["status"]
                return run
            time.sleep(0.02)


def _key_id(site: Site, role: str) -> str:
    return site.keys[role].split(".")[0].removeprefix("tk_")


def _refused(response: httpx.Response) -> str:
    body = assert_problem(response, 429, ErrorCode.QUOTA_EXCEEDED)
    assert int(response.headers["Retry-After"]) >= 1
    detail = str(body["detail"])
    assert OPERATOR_QUOTA_ENV in detail and " 1 " in detail, detail
    return detail


def test_an_operator_at_its_limit_is_refused_and_another_is_not(site: Site) -> None:
    with site.client("service") as first, site.client("admin") as second:
        held = first.post("/v1/runs", json=RUN)
        assert held.status_code == 202, held.text
        with statements(site.desk.store.engine) as seen:
            detail = _refused(first.post("/v1/runs", json=RUN))
        counts = [s for s, _ in seen if "count(" in s.lower() and "runs" in s]
        assert len(counts) == 1  # the principal's and the operator's, in one statement
        assert USER not in detail and _key_id(site, "admin") not in detail
        assert site.total_runs() == 1  # the refused request left nothing
        other = second.post("/v1/runs", json=RUN)  # the same principal, another key
        assert other.status_code == 202, other.text
        site.gate.set()
        _ended(site, held.json()["id"])
        again = first.post("/v1/runs?wait=30", json=RUN)  # the ended run freed its place
        assert again.status_code == 200, again.text
    with site.desk.store.engine.connect() as conn:
        recorded = dict(conn.execute(select(runs.c.id, runs.c.operator)).all())
    assert recorded[held.json()["id"]] == f"operator:{_key_id(site, 'service')}"
    assert recorded[again.json()["id"]] == recorded[held.json()["id"]]
    assert recorded[other.json()["id"]] == f"operator:{_key_id(site, 'admin')}"


def test_conversation_turns_count_against_their_operator(site: Site) -> None:
    holding, waiting = site.start(), site.start()
    with site.client("service") as c:
        turn = c.post(f"/v1/conversations/{holding}/messages", json={"text": "Hello there"})
        assert turn.status_code == 202, turn.text
        _refused(c.post("/v1/runs", json=RUN))  # the turn is that key's run in flight
        _refused(c.post(f"/v1/conversations/{waiting}/messages", json={"text": "Hi"}))
        assert site.record(waiting).turns == 0 and site.total_runs() == 1  # nothing claimed
        site.gate.set()
        _ended(site, turn.json()["run_id"])
        later = c.post(f"/v1/conversations/{waiting}/messages?wait=30", json={"text": "Hi"})
        assert later.status_code == 200, later.text
    assert site.record(waiting).turns == 1


@pytest.mark.parametrize("name", [OPERATOR_QUOTA_ENV, PRINCIPAL_QUOTA_ENV])
@pytest.mark.parametrize("value", ["0", "100001", "lots", "-3", "1.5"])
def test_a_quota_out_of_range_is_config_invalid(name: str, value: str) -> None:
    with pytest.raises(TetherError) as caught:
        RunQuotas.from_env(environ={name: value})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert name in caught.value.message and "1 to 100000" in caught.value.message


def test_quotas_default_and_read_the_environment() -> None:
    assert RunQuotas.from_env(environ={}) == RunQuotas(per_principal=50, per_operator=200)
    set_both = {OPERATOR_QUOTA_ENV: "100000", PRINCIPAL_QUOTA_ENV: " 7 "}
    assert RunQuotas.from_env(environ=set_both) == RunQuotas(per_principal=7, per_operator=100000)


def test_a_server_with_a_bad_operator_quota_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OPERATOR_QUOTA_ENV, "none")
    desk = open_desk(tmp_path)
    try:
        with pytest.raises(TetherError) as caught:
            create_app(desk, workers=1)
        assert caught.value.code is ErrorCode.CONFIG_INVALID
    finally:
        desk.store.close()
