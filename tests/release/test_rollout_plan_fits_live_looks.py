"""The live looks promise to decide every step: promote, roll back, or wait *for more*. A live
look reads at most the newest 20,000 conversations per arm, so a plan whose last look needs more
(`--min-runs` x `--looks`) was accepted and then never decided, however much traffic arrived,
leaving the candidate its share for ever. Now `rollout start` refuses such a plan
(ROLLOUT_INVALID), and a plan whose last look needs exactly what a look reads is decided."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.release.cli_store import Cli, production_and_candidate
from tether.cli.keys import open_access
from tether.release.rollout import Rollouts
from tether.release.rollout_feed import RolloutFeed
from tether.release.store import ReleaseStore

PER_ARM = 20_100


def _traffic(db: Path, release: str, arm: str, now: float) -> None:
    conv, turn, run = [], [], []
    for i in range(PER_ARM):
        cid, rid, at = f"conv_{arm}_{i}", f"run_{arm}_{i}", now + i * 1e-4
        conv.append((cid, f"user_{arm}_{i}", "retail-desk", "retail", "operator", "cli:test",
                     "open", at, at, at + 86_400, 1, "{}", 0, release))  # fmt: skip
        turn.append((cid, 1, rid, "text", at))
        run.append((rid, "retail-desk", f"user_{arm}_{i}", "retail", "completed", "answer",
                    at, at + 0.5, "t", 0, "{}", "{}", release))  # fmt: skip
    conn = sqlite3.connect(db)
    try:
        conn.executemany(
            "INSERT INTO conversations (id, principal_id, agent, domain, principal_source, "
            "asserted_by, status, created_at, updated_at, expires_at, turns, state, size, "
            "release_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            conv,
        )
        conn.executemany(
            "INSERT INTO conversation_turns (conversation_id, turn, run_id, kind, created_at) "
            "VALUES (?,?,?,?,?)",
            turn,
        )
        conn.executemany(
            "INSERT INTO runs (id, agent, principal_id, tenant, status, decision_kind, "
            "created_at, updated_at, trace_id, step_count, input, checkpoint, release_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            run,
        )
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize(("min_runs", "looks"), [("20001", "1"), ("5000", "5")])
def test_a_plan_no_live_look_could_decide_is_refused(
    tmp_path: Path, min_runs: str, looks: str
) -> None:
    cli = Cli(tmp_path)
    _, cand = production_and_candidate(cli)
    code, refused = cli("rollout", "start", cand, "--guard", "resolution_rate >= baseline - 0.05",
                        "--min-runs", min_runs, "--looks", looks)  # fmt: skip
    assert code == 2 and refused["error"]["code"] == "ROLLOUT_INVALID", refused
    assert "20000" in refused["error"]["message"]
    code, status = cli("rollout", "status")
    assert code == 2 and status["error"]["code"] == "ROLLOUT_NOT_FOUND", status


def test_a_last_look_needing_all_a_look_reads_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Near miss: 10,000 x 2 looks is exactly what a live look reads; with 20,100 concluded
    conversations per arm the step's last look is taken and decides it."""
    cli = Cli(tmp_path)
    base, cand = production_and_candidate(cli)
    cli.ok("rollout", "start", cand, "--guard", "resolution_rate >= baseline - 0.05",
           "--min-runs", "10000", "--looks", "2")  # fmt: skip
    now = time.time()
    _traffic(cli.db, base, "b", now)
    _traffic(cli.db, cand, "c", now)

    monkeypatch.setenv("TETHER_HOME", str(cli.home))
    monkeypatch.setenv("TETHER_DATABASE_URL", cli.url)
    access = open_access()
    rollouts = Rollouts(ReleaseStore(access.engine, access.audit), access.audit)
    RolloutFeed(rollouts, access.engine)()  # the look `tether serve` takes every 30 s
    after = rollouts.current()
    # identical arms: non-inferiority shown at the last look, so the step moves on
    assert (after.state, after.step) != ("running", 1), after.reason
