"""A candidate whose gate suite fails after its rollout started (the suite was still running when
`rollout start` checked) takes no larger share of traffic: `tether rollout promote` (a real
process) and a look whose guards pass both roll the rollout back instead, on SQLite and
PostgreSQL; promote exits 2 with RELEASE_GATE_FAILED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tether.access.control import AccessControl
from tether.core.types import DecisionKind
from tether.release import PRODUCTION
from tether.release.evaluations import EvaluationStore
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import Conversation, Turn
from tether.release.rollout_plan import Rollout
from tether.release.store import GATE_SUITE, Release, ReleaseStore
from tether.store.runs import RunStore

from .helpers import bundle

TETHER = str(Path(sys.executable).parent / "tether")
GUARD = ["resolution_rate >= baseline - 0.05"]


def started_rollout(
    store: RunStore, steps: tuple[int, ...], failed: str
) -> tuple[AccessControl, ReleaseStore, Rollouts, Rollout, tuple[Release, Release]]:
    """A candidate rolled out against production under GUARD, then its gate suite (still
    running when the rollout started) recorded as failed on `failed`."""
    access = AccessControl.open(store.engine)
    releases = ReleaseStore(store.engine, access.audit)
    base, _ = releases.create(bundle(), "cli:ops")
    candidate, _ = releases.create(bundle(instructions="Be brief."), "cli:ops")
    releases.move_label(PRODUCTION, base.id, "cli:ops")
    rollouts = Rollouts(releases, access.audit)
    started = rollouts.start(candidate.id, GUARD, "cli:ops", steps=steps, min_runs=50)
    EvaluationStore(store.engine).record(
        candidate.id, candidate.bundle, False,
        {"checks": {failed: {"passed": False}}}, [GATE_SUITE], GATE_SUITE,
    )  # fmt: skip
    return access, releases, rollouts, started, (base, candidate)


def test_a_candidate_whose_gate_failed_after_its_rollout_started_gets_no_more_traffic(
    store_url: str, tmp_path: Path
) -> None:
    store = RunStore.open(store_url)
    _, _, rollouts, started, (_, candidate) = started_rollout(store, (5, 25, 50, 100), "scenarios")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(tmp_path / "home"), TETHER_DATABASE_URL=store_url)
    proc = subprocess.run(
        [TETHER, "rollout", "promote", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert "Traceback" not in proc.stdout + proc.stderr
    now = rollouts.current()
    store.close()
    assert now.id == started.id
    # rolled back: never a larger share for a release whose gate failed
    assert (now.state, now.step, now.traffic_pct) == ("rolled_back", 1, 0), (
        f"promote exited {proc.returncode}: the rollout is {now.state} at step {now.step}, "
        f"{now.traffic_pct} % of traffic on {candidate.id}, whose gate failed"
    )
    assert "scenarios failed" in now.reason
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "RELEASE_GATE_FAILED" and "rolled back" in error["message"]


def test_a_look_whose_guards_pass_rolls_a_candidate_whose_gate_failed_back(
    store_url: str,
) -> None:
    store = RunStore.open(store_url)
    access, releases, rollouts, started, (base, _) = started_rollout(
        store, (5, 25, 100), "policies"
    )
    alike = [Conversation(f"c{i}", (Turn(DecisionKind.ANSWER, 1.0),)) for i in range(800)]
    ended = rollouts.observe(started, alike, alike)  # every guard passes: it would move on
    kinds = [e.kind for e in access.audit.events(limit=100) if e.kind.startswith("rollout.")]
    store.close()
    assert (ended.state, ended.step, ended.traffic_pct) == ("rolled_back", 1, 0)
    assert "RELEASE_GATE_FAILED" in ended.reason and "policies failed" in ended.reason
    assert kinds == ["rollout.started", "rollout.rolled_back"]
    assert releases.target(PRODUCTION) == base.id
