"""Deterministic replay: recorded runs re-decided from their records, and the ways a record can
be made to lie, each caught at the step where it lies."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.runtime.replay import Replayer, comparable, first_difference, replay_runs
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
# a write after a confirmation, another customer's order, an approval, a model that refuses,
# a negated status caught, an answer revised once
SCENARIOS = (
    "cancel-after-confirmation",
    "other-customers-order",
    "large-return-approved",
    "model-refuses",
    "negated-order-status",
    "refund-timeline-revised",
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A store holding the runs of a few demo scenarios."""
    home = tmp_path_factory.mktemp("replay")
    url = f"sqlite:///{home / 'tether.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TETHER_HOME", str(home))
        store = RunStore.open(url)
        domain = load_domain("retail")
        wanted = [s for s in load_scenarios(None, domain) if s.name in SCENARIOS]
        assert len(wanted) == len(SCENARIOS)
        for scenario in wanted:
            assert run_scenario(domain, store, scenario).ok, scenario.name
        store.close()
        yield url, home


@pytest.fixture
def replayer(recorded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Replayer]:
    url, home = recorded
    monkeypatch.setenv("TETHER_HOME", str(home))
    store = RunStore.open(url)
    yield Replayer(build_desk(load_domain("retail"), store, approvals=True).runtime)
    store.close()


def all_runs(replayer: Replayer) -> list[Run]:
    store = replayer.runtime.store
    return [store.get_run(r.id) for r in store.list_runs(limit=1000)]


def with_step(run: Run, seq: int, data: dict[str, Any]) -> Run:
    steps = tuple(dataclasses.replace(s, data=data) if s.seq == seq else s for s in run.steps)
    return dataclasses.replace(run, steps=steps)


def guard_reading(runs: list[Run], tool: str, table: str) -> tuple[Run, Step]:
    for run in runs:
        for step in run.steps:
            reads = step.data.get("reads", {})
            if (
                step.kind is StepKind.GUARD
                and step.name == tool
                and any(k.startswith(table) for k in reads)
            ):
                return run, step
    raise AssertionError(f"no guard step of {tool} read {table}")


def test_every_recorded_run_replays_identical(replayer: Replayer) -> None:
    runs = all_runs(replayer)
    summary = replay_runs(replayer, runs)
    assert summary["runs"] == len(runs) >= len(SCENARIOS)
    assert summary["identical"] == len(runs), summary["examples"]
    reports = [replayer.replay(r) for r in runs]
    assert sum(r.checked for r in reports) >= 10  # the checks really ran again
    derived = [r for r in reports if r.decision == "derived"]
    assert len(derived) >= 3  # and Decisions were derived again, not copied
    approved = [r for r in reports if "approved call tokens" in r.not_replayed]
    assert approved, "the approved return's single-use token is reported as not re-made"


def test_a_recorded_read_changed_after_the_fact_diverges_at_its_step(replayer: Replayer) -> None:
    run, step = guard_reading(all_runs(replayer), "cancel_pending_order", "retail_orders")
    reads = json.loads(json.dumps(step.data["reads"]))
    order = next(k for k in reads if k.startswith("retail_orders:"))
    reads[order]["status"] = "delivered"  # a pending order made to look delivered
    report = replayer.replay(with_step(run, step.seq, {**step.data, "reads": reads}))
    assert not report.identical
    first = report.diffs[0]
    assert (first.step, first.kind, first.name) == (step.seq, "guard", "cancel_pending_order")
    assert first.path.startswith("verdicts") and first.recorded != first.replayed


def test_a_read_missing_from_the_record_is_never_fetched_live(replayer: Replayer) -> None:
    run, step = guard_reading(all_runs(replayer), "cancel_pending_order", "retail_orders")
    reads = {k: v for k, v in step.data["reads"].items() if not k.startswith("retail_orders:")}
    report = replayer.replay(with_step(run, step.seq, {**step.data, "reads": reads}))
    assert report.diffs and report.diffs[0].step == step.seq
    remade = report.verdicts[step.seq]
    # the check that wanted the order fails closed and says why (a code or a fact of its verdict)
    assert not remade.allowed
    assert "REPLAY_READ_MISSING" in json.dumps(remade.final.to_dict())


def test_a_decision_rewritten_in_the_record_diverges_at_the_decision(replayer: Replayer) -> None:
    runs = all_runs(replayer)
    run = next(r for r in runs if r.decision and r.decision.kind.value == "answer")
    last = run.steps[-1]
    assert last.kind is StepKind.DECISION
    forged = {**last.data, "decision": {**last.data["decision"], "kind": "action"}}
    report = replayer.replay(with_step(run, last.seq, forged))
    assert [d.path for d in report.diffs] == ["decision.kind"]
    assert (report.diffs[0].recorded, report.diffs[0].replayed) == ("action", "answer")


def test_an_answer_text_changed_in_the_record_is_checked_again(replayer: Replayer) -> None:
    runs = all_runs(replayer)
    run = next(r for r in runs if r.decision and r.decision.kind.value == "answer")
    turn = next(s for s in reversed(run.steps) if s.kind is StepKind.MODEL_TURN)
    output = {**turn.data["output"], "text": "Your order has been delivered and refunded."}
    report = replayer.replay(with_step(run, turn.seq, {**turn.data, "output": output}))
    assert not report.identical
    assert report.diffs[0].kind in ("guard", "decision")


def test_a_run_still_running_is_not_replayable(replayer: Replayer) -> None:
    run = dataclasses.replace(all_runs(replayer)[0], status=RunStatus.RUNNING)
    with pytest.raises(TetherError) as caught:
        replayer.replay(run)
    assert caught.value.code is ErrorCode.RUN_NOT_REPLAYABLE


def test_comparison_ignores_timings_and_token_ids_only() -> None:
    a = {"facts": {"policy_ms": 1.2, "token_id": "tok_a", "rules": ["x"]}}
    b = {"facts": {"policy_ms": 9.9, "token_id": "tok_b", "rules": ["x"]}}
    assert first_difference(comparable(a), comparable(b)) is None
    c = {"facts": {"policy_ms": 1.2, "token_id": "tok_a", "rules": ["y"]}}
    assert first_difference(comparable(a), comparable(c)) == ("facts.rules[0]", "x", "y")


def test_the_command_line(recorded: tuple[str, Path]) -> None:
    url, home = recorded
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(home), TETHER_DATABASE_URL=url)

    def tether(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TETHER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    every = tether("replay", "--all", "--since", "1h", "--json")
    assert every.returncode == 0, every.stderr
    summary = json.loads(every.stdout)
    assert summary["runs"] == summary["identical"] > 0 and summary["diverged"] == 0
    bad = tether("replay", "--all", "--since", "last tuesday", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["code"] == "BAD_REQUEST"
    neither = tether("replay")
    assert neither.returncode == 2 and "BAD_REQUEST" in neither.stderr
    assert "Traceback" not in bad.stderr + neither.stderr
