"""A conversation a running rollout pins to a candidate whose agent cannot be built (its limits
are not limits; `release create` refuses such a release, so the test stores it through the
store's own API, as an older version's check let it through). The README: "A release
that cannot be built there fails closed: the turn ends in a refusal coded RELEASE_NOT_FOUND or
RELEASE_SOURCE_INVALID ... and nothing of it runs under another configuration". Against a real
`tether serve` (its worker threads, one-second leases so its recovery looks again), on SQLite and
PostgreSQL: the turn must end in that refusal and free its conversation."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.server.test_keyed_turn_retries import admin_key, base_env, serve  # noqa: F401
from tests.workers.test_kill_workers import stop
from tether.access.control import AccessControl
from tether.conversations import ConversationStore
from tether.core.types import DecisionKind, RunStatus
from tether.release import PRODUCTION, Bundle
from tether.release.rollout import Rollouts
from tether.release.rollout_looks import CANDIDATE
from tether.release.rollout_plan import assign
from tether.release.store import ReleaseStore
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
GUARD = ["resolution_rate >= baseline - 0.05"]
SETTLE_S = 8.0


def pin_to_unbuildable(url: str) -> str:
    """Production is the configuration in force; a rollout at 50 % puts USER on a candidate
    whose agent's limits are a string. Returns the candidate's id."""
    store = RunStore.open(url)
    try:
        access = AccessControl.open(store.engine)
        releases = ReleaseStore(store.engine, access.audit)
        in_force = build_desk(load_domain("retail"), store).release
        assert in_force is not None
        base, _ = releases.create(in_force.bundle(), "cli:ops", "base")
        content = dict(base.bundle.content)
        content["agents"] = [{**a, "limits": "forty steps"} for a in content["agents"]]
        candidate, _ = releases.create(Bundle(content), "cli:ops", "bad limits")
        releases.move_label(PRODUCTION, base.id, "cli:ops")
        rollouts = Rollouts(releases, access.audit)
        for _ in range(40):
            rollout = rollouts.start(candidate.id, GUARD, "cli:ops", steps=(50, 100), min_runs=50)
            if assign(rollout.id, 50, "", USER) == CANDIDATE:
                return candidate.id
            rollouts.rollback("cli:ops")
        raise AssertionError("no rollout put the customer on the candidate")
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_turn_pinned_to_a_release_that_cannot_be_built_ends_in_a_refusal(
    backend: str,
    request: pytest.FixtureRequest,
    base_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    url: str = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    env = {**base_env, "TETHER_DATABASE_URL": url}
    candidate = pin_to_unbuildable(url)
    key = admin_key(env)
    process, base = serve(env)
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as c:
            started = c.post("/v1/conversations", json={"principal": USER})
            assert started.status_code == 201, started.text
            cid = started.json()["id"]
            assert started.json()["release"] == candidate
            body = {"text": "hi", "script": [{"answer": "Hello, how can I help?"}]}
            sent = c.post(f"/v1/conversations/{cid}/messages", params={"wait": 2}, json=body)
            assert sent.status_code in (200, 202), sent.text
            run_id = sent.json()["run_id"]
        store = RunStore.open(url)
        try:
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline:
                run = store.get_run(run_id)
                if run.status is not RunStatus.RUNNING and run.status is not RunStatus.QUEUED:
                    break
                time.sleep(0.2)
            run = store.get_run(run_id)
            record = ConversationStore(store.engine).get(cid)
            assert run.status is RunStatus.COMPLETED, (
                f"the turn is still {run.status.value} with {len(run.steps)} steps after "
                f"{SETTLE_S}s; its conversation busy with {record.busy_run}"
            )
            assert run.release == candidate
            assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
            assert run.decision.reason is not None
            assert run.decision.reason.code.value == "RELEASE_SOURCE_INVALID"
            assert record.busy_run is None
        finally:
            store.close()
    finally:
        stop(process)
