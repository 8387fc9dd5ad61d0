"""A release's evaluation suite as the gate of its labels: evaluated under the release's own
configuration, stored and audited, compared with production's, and enforced when a label moves
(unless overridden, which is audited too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tether.access.control import AccessControl
from tether.core.errors import ErrorCode, TetherError
from tether.release.evaluations import EvaluationStore
from tether.release.source import read_release_dir, write_release_dir
from tether.release.store import Release, ReleaseStore
from tether.sdk.desk import build_desk
from tether.sdk.gate import GATE, evaluate_release, parse_checks, regressions
from tether.sdk.loader import load_domain
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
CHOSEN = ("cancel-after-confirmation", "order-status")
NO_CANCELLATIONS = """
@id("no-cancellations")
@reason("cancellations are switched off")
forbid (principal, action == Action::"cancel_pending_order", resource);
"""


def scenario_folder(tmp_path: Path) -> Path:
    """Two of the pack's scenarios: a cancellation after a confirmation and a status lookup."""
    domain = load_domain("retail")
    assert domain.scenarios is not None
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for path in domain.scenarios.glob("*.yaml"):
        if path.stem.split("-", 1)[1] in CHOSEN:
            shutil.copy(path, folder / path.name)
    assert len(list(folder.iterdir())) == len(CHOSEN)
    return folder


def releases_of(tmp_path: Path) -> tuple[RunStore, ReleaseStore, Release, Release]:
    """A store with the release in force and a candidate that forbids cancellations."""
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    access = AccessControl.open(store.engine)
    releases = ReleaseStore(store.engine, access.audit)
    in_force = build_desk(load_domain("retail"), store).release
    assert in_force is not None
    base, _ = releases.create(in_force.bundle(), "cli:ops", "base")
    write_release_dir(base.bundle, tmp_path / "candidate")
    rules = tmp_path / "candidate" / "policies" / "store.cedar"
    rules.write_text(rules.read_text() + NO_CANCELLATIONS)
    candidate, _ = releases.create(read_release_dir(tmp_path / "candidate"), "cli:ops", "cand")
    return store, releases, base, candidate


def test_the_gate_evaluates_the_release_not_the_pack_and_compares_with_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    folder = scenario_folder(tmp_path)
    store, releases, base, candidate = releases_of(tmp_path)
    domain = load_domain("retail")
    checks = ("scenarios", "replay")
    passed = evaluate_release(domain, store, releases, base, list, checks, folder)
    assert passed.passed and passed.compared_to is None
    assert passed.checks["scenarios"] == {
        "passed": True, "scenarios": 2, "ok": 2, "failed": []
    }  # fmt: skip
    assert passed.checks["replay"]["runs"] == 0 and passed.checks["replay"]["passed"]
    releases.move_label("production", base.id, "cli:ops")

    failed = evaluate_release(domain, store, releases, candidate, list, checks, folder)
    assert not failed.passed and failed.compared_to == base.id
    assert failed.checks["scenarios"]["failed"] == ["cancel-after-confirmation"]
    assert "scenarios: passed for production, fails here" in failed.regressions
    stored = EvaluationStore(store.engine).latest(candidate.id, suite=GATE)
    assert stored is not None and stored.passed is False
    assert stored.results["regressions"] == failed.regressions
    events = [e for e in releases.audit.events(limit=200) if e.kind == "release.evaluated"]
    assert [json.loads(e.data)["release"] for e in events] == [base.id, candidate.id]
    store.close()


def test_a_label_does_not_move_to_a_failed_release_unless_overridden_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store, releases, base, candidate = releases_of(tmp_path)
    EvaluationStore(store.engine).record(
        candidate.id,
        candidate.bundle,
        False,
        {"checks": {"scenarios": {"passed": False}}, "regressions": ["scenarios: 1 pass"]},
        [GATE],
        suite=GATE,
    )
    releases.move_label("production", base.id, "cli:ops")
    for override in (None, "  "):
        with pytest.raises(TetherError) as caught:
            releases.move_label("production", candidate.id, "cli:ops", override)
        assert caught.value.code is ErrorCode.RELEASE_GATE_FAILED
        assert "scenarios failed" in caught.value.message
    assert releases.target("production") == base.id  # nothing moved
    move = releases.move_label("production", candidate.id, "cli:ops", "hotfix for order #12")
    assert move.release_id == candidate.id and releases.target("production") == candidate.id
    overridden = [
        e for e in releases.audit.events(limit=200) if e.kind == "release.gate_overridden"
    ]
    assert len(overridden) == 1
    assert json.loads(overridden[0].data)["reason"] == "hotfix for order #12"
    assert overridden[0].actor == "cli:ops"
    # a release that passed (or was never evaluated) moves freely
    releases.move_label("production", base.id, "cli:ops")
    store.close()


def test_checks_and_regressions() -> None:
    assert parse_checks("replay, scenarios,replay") == ("replay", "scenarios")
    for bad in ("", "scenarios,unit", ","):
        with pytest.raises(TetherError) as caught:
            parse_checks(bad)
        assert caught.value.code is ErrorCode.BAD_REQUEST
    before = {"policy": {"passed": True, "caught_ratio": 1.0, "false_blocks": 0}}
    same = regressions(before, before)
    assert same == []
    grounded = {"grounding": {"passed": True, "f1": 0.78, "false_alarm_rate": 0.05}}
    assert regressions(grounded, grounded) == []
    less = {"grounding": {"passed": True, "f1": 0.7, "false_alarm_rate": 0.1}}
    assert regressions(grounded, less) == [
        "grounding: F1 0.7, against 0.78",
        "grounding: false alarms 0.1, against 0.05",
    ]
    worse = {"policy": {"passed": True, "caught_ratio": 0.995, "false_blocks": 1}}
    assert regressions(before, worse) == [
        "policy: catches 0.995 of violations, against 1.0",
        "policy: 1 gold actions blocked, against 0",
    ]


def test_the_command_line(tmp_path: Path) -> None:
    folder = scenario_folder(tmp_path)
    store, _, _, candidate = releases_of(tmp_path)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        TETHER_HOME=str(tmp_path / "home"),
        TETHER_DATABASE_URL=f"sqlite:///{tmp_path / 'tether.db'}",
    )

    def tether(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TETHER, *args], capture_output=True, text=True, env=env, timeout=180, check=False
        )

    run = tether(
        "eval", "suite", "--release", candidate.id, "--checks", "scenarios",
        "--scenarios", str(folder), "--json",
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert set(result) == {"release", "passed", "compared_to", "checks", "regressions"}
    assert result["passed"] is False and result["checks"]["scenarios"]["ok"] == 1
    refused = tether("release", "label", "candidate", candidate.id, "--json")
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"]["code"] == "RELEASE_GATE_FAILED"
    moved = tether("release", "label", "candidate", candidate.id, "--override", "a test")
    assert moved.returncode == 0, moved.stderr
    bad = tether("eval", "suite", "--release", candidate.id, "--checks", "lint", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["code"] == "BAD_REQUEST"


def test_a_replay_only_suite_does_not_clear_a_failed_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    folder = scenario_folder(tmp_path)
    store, releases, base, candidate = releases_of(tmp_path)
    domain = load_domain("retail")
    failed = evaluate_release(domain, store, releases, candidate, list, ("scenarios",), folder)
    assert not failed.passed
    with pytest.raises(TetherError) as refused:
        releases.move_label("production", candidate.id, "cli:ops")
    assert refused.value.code is ErrorCode.RELEASE_GATE_FAILED
    # `tether eval suite --checks replay` (or drift's re-evaluation without the failing check)
    informative = evaluate_release(domain, store, releases, candidate, list, ("replay",), folder)
    assert informative.passed  # the replay check never fails
    with pytest.raises(TetherError) as still:
        releases.move_label("production", candidate.id, "cli:ops")
    assert still.value.code is ErrorCode.RELEASE_GATE_FAILED
    # a suite that runs the failing check again, and passes it, clears it
    EvaluationStore(store.engine).record(
        base.id, base.bundle, False, {"checks": {"scenarios": {"passed": False}}}, [GATE], GATE
    )
    with pytest.raises(TetherError):
        releases.move_label("candidate", base.id, "cli:ops")
    assert evaluate_release(domain, store, releases, base, list, ("scenarios",), folder).passed
    assert releases.move_label("candidate", base.id, "cli:ops").release_id == base.id
    store.close()


def test_a_release_that_failed_its_gate_is_not_rolled_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tether.release.rollout import Rollouts

    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store, releases, base, candidate = releases_of(tmp_path)
    releases.move_label("production", base.id, "cli:ops")
    EvaluationStore(store.engine).record(
        candidate.id,
        candidate.bundle,
        False,
        {"checks": {"policy": {"passed": False}}},
        [GATE],
        GATE,
    )
    rollouts = Rollouts(releases, releases.audit)
    with pytest.raises(TetherError) as caught:
        rollouts.start(candidate.id, ["resolution_rate >= baseline - 0.02"], "cli:ops")
    assert (
        caught.value.code is ErrorCode.RELEASE_GATE_FAILED
        and "policy failed" in caught.value.message
    )
    store.close()


def test_the_grounding_check_scores_the_verifier_on_the_domains_probes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store, releases, base, _ = releases_of(tmp_path)
    found = evaluate_release(load_domain("retail"), store, releases, base, list, ("grounding",))
    figures = found.checks["grounding"]
    assert found.passed and figures["n"] > 100  # the held-out half of the retail probes
    assert 0.5 < figures["f1"] <= 1 and figures["false_alarm_rate"] is not None
    store.close()


def test_a_check_that_errors_fails_the_gate_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store, releases, _, candidate = releases_of(tmp_path)
    domain = load_domain("retail")

    def broken(**_: object) -> None:
        raise RuntimeError("the policy engine fell over")

    crashing = dataclasses.replace(domain, harnesses={**domain.harnesses, "eval policy": broken})
    found = evaluate_release(crashing, store, releases, candidate, list, ("policy", "replay"))
    assert not found.passed
    assert found.checks["policy"] == {
        "passed": False,
        "error": "CHECK_FAILED: RuntimeError: the policy engine fell over",
    }
    assert found.checks["replay"]["passed"]  # the other checks still ran
    stored = EvaluationStore(store.engine).latest(candidate.id, suite=GATE)
    assert stored is not None and stored.passed is False
    with pytest.raises(TetherError) as refused:
        releases.move_label("production", candidate.id, "cli:ops")
    assert refused.value.code is ErrorCode.RELEASE_GATE_FAILED
    assert "policy failed" in refused.value.message
    store.close()
