"""Replay "holds the record to itself": steps numbered 1..n with none taken out, every verdict
made again (README, *Replay*). Every run opens with its scope step and then retrieves before its
first model turn, its retrieval step recording the evidence with its lineage. Take that step out
of a recorded action run and number the steps after it down by one (a record the runtime never
writes): the numbering then holds, yet replay must not call the run identical.

The runs are the demo's, recorded by the real `tether demo` on a real store (SQLite and
PostgreSQL); the demo fixture also checks that every unedited run replays identical."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.runtime.edited_demo import demo, tether
from tether.core.types import DecisionKind, Run, RunStatus, StepKind

__all__ = ["demo"]  # the fixture


def _take_out_retrieval(url: str, run: Run) -> None:
    seq = next(s.seq for s in run.steps if s.kind is StepKind.RETRIEVAL)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            where = {"run": run.id}
            conn.execute(
                text("DELETE FROM steps WHERE run_id = :run AND seq = :seq"), {**where, "seq": seq}
            )
            for later in range(seq + 1, len(run.steps) + 1):  # upwards: no two rows share a seq
                conn.execute(
                    text("UPDATE steps SET seq = :to WHERE run_id = :run AND seq = :seq"),
                    {**where, "to": later - 1, "seq": later},
                )
            conn.execute(
                text("UPDATE runs SET step_count = :n WHERE id = :run"),
                {**where, "n": len(run.steps) - 1},
            )
    finally:
        engine.dispose()


def test_a_run_whose_retrieval_step_was_taken_out_does_not_replay_identical(
    demo: tuple[dict[str, str], Path, list[Run]], store_url: str
) -> None:
    env, cwd, runs = demo
    acted = [
        r
        for r in runs
        if r.status is RunStatus.COMPLETED
        and r.decision is not None
        and r.decision.kind is DecisionKind.ACTION
        and any(s.kind is StepKind.RETRIEVAL for s in r.steps)
    ]
    assert acted, "the demo records runs that act"
    done = tether(env, cwd, "replay", "--all", "--since", "30d", "--json")
    before = json.loads(done.stdout)
    assert done.returncode == 0 and before["diverged"] == 0, before

    for run in acted:
        _take_out_retrieval(store_url, run)
    done = tether(env, cwd, "replay", "--all", "--since", "30d", "--json")
    after = json.loads(done.stdout)
    passed = after["identical"] - (before["identical"] - len(acted))
    assert passed == 0 and done.returncode == 1, (
        f"{passed} of {len(acted)} action runs with their retrieval step taken out (the steps "
        f"after it renumbered) replay as identical: {after}"
    )
    assert after["diverged"] == len(acted), after
    for run in acted:
        done = tether(env, cwd, "replay", run.id, "--json")
        report = json.loads(done.stdout)
        assert done.returncode == 1, report
        assert report["diffs"][0]["path"] == "kind", report
