"""Deterministic replay: recorded runs re-decided from their records, and the ways a record can
be made to lie, each caught at the step where it lies."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import SCENARIOS
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Run, RunStatus, Step, StepKind
from tether.domains.retail.db import RetailDB
from tether.runtime.replay import Replayer, comparable, first_difference, replay_runs
from tether.runtime.replay import counterfactual as cf
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")


def command_line(url: str, home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`tether ARGS` over the recorded store, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(TETHER_HOME=str(home), TETHER_DATABASE_URL=url)

    def tether(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TETHER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    return tether


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
    assert (first.path, first.recorded, first.replayed) == ("effect", "allow", "deny")
    assert any(d.path.startswith("verdicts") for d in report.diffs)  # and which check said so


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
    # the step says action, the run row and the re-made Decision say answer
    assert [d.path for d in report.diffs] == ["decision.kind", "run.decision.kind"]
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


def test_comparison_ignores_timings_only() -> None:
    a = {"facts": {"policy_ms": 1.2, "token_id": "tok_a", "expires_at": 5.0, "rules": ["x"]}}
    b = {"facts": {"policy_ms": 9.9, "token_id": "tok_a", "expires_at": 5.0, "rules": ["x"]}}
    assert first_difference(comparable(a), comparable(b)) is None
    judged = [{"claim": "c", "ms": 3.0}], [{"claim": "c", "ms": 4.0}]
    assert first_difference(comparable(judged[0]), comparable(judged[1])) is None
    c = {"facts": {"policy_ms": 1.2, "token_id": "tok_b", "expires_at": 5.0, "rules": ["x"]}}
    assert first_difference(comparable(a), comparable(c)) == ("facts.token_id", "tok_a", "tok_b")
    d = {"facts": {"policy_ms": 1.2, "token_id": "tok_a", "expires_at": 6.0, "rules": ["x"]}}
    assert first_difference(comparable(a), comparable(d)) == ("facts.expires_at", 5.0, 6.0)
    # what a record did not keep is set aside only when asked
    assert first_difference(comparable(a, {"token_id"}), comparable(c, {"token_id"})) is None


def test_the_command_line(recorded: tuple[str, Path]) -> None:
    url, home = recorded
    tether = command_line(url, home)

    every = tether("replay", "--all", "--since", "1h", "--json")
    assert every.returncode == 0, every.stderr
    summary = json.loads(every.stdout)
    assert summary["runs"] == summary["identical"] > 0 and summary["diverged"] == 0
    bad = tether("replay", "--all", "--since", "last tuesday", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["code"] == "BAD_REQUEST"
    neither = tether("replay")
    assert neither.returncode == 2 and "BAD_REQUEST" in neither.stderr
    assert "Traceback" not in bad.stderr + neither.stderr


# -- counterfactual replay ------------------------------------------------------------------

FORBID = """
@id("no-cancellations")
@reason("cancellations are switched off")
forbid (principal, action == Action::"cancel_pending_order", resource){when};
"""


def candidate(replayer: Replayer, folder: Path, when: str = "", instructions: str = "") -> Any:
    """The release in force with one more rule (and other instructions, if given)."""
    from tether.release.source import read_release_dir, write_release_dir

    in_force = build_desk(load_domain("retail"), replayer.runtime.store).release
    assert in_force is not None
    write_release_dir(in_force.bundle(), folder)
    store_rules = folder / "policies" / "store.cedar"
    store_rules.write_text(store_rules.read_text() + FORBID.format(when=when))
    if instructions:
        (folder / "prompts" / "retail-desk.md").write_text(instructions)
    return read_release_dir(folder)


def cancelled(runs: list[Run]) -> set[str]:
    return {
        r.id
        for r in runs
        if any(s.kind is StepKind.TOOL and s.name == "cancel_pending_order" for s in r.steps)
    }


def under(replayer: Replayer, bundle: Any, folder: Path) -> Replayer:
    from tether.sdk.candidate import candidate_desk

    desk = candidate_desk(load_domain("retail"), replayer.runtime.store, bundle, folder)
    return Replayer(desk.runtime)


def test_a_release_forbidding_cancellations_changes_exactly_the_runs_that_cancelled(
    replayer: Replayer, tmp_path: Path
) -> None:
    from tether.runtime.replay import counterfactual, first_change

    runs = all_runs(replayer)
    did = cancelled(runs)
    assert did, "the recorded scenarios include a cancellation"
    # forbidding the cancellation once the customer has confirmed it: exactly those runs
    confirmed = under(
        replayer,
        candidate(replayer, tmp_path / "a", " when { context.confirmed }"),
        tmp_path / "wa",
    )
    result = counterfactual(confirmed, runs)
    changes = {r.id: first_change(r, confirmed.replay(r)) for r in runs}
    assert {rid for rid, c in changes.items() if c} == did
    assert result["changed"] == len(did) and result["by_change"] == {"allow->deny": len(did)}
    assert result["by_rule"] == {"no-cancellations": len(did)}
    # forbidding it outright also stops the turn that asked the customer to confirm it
    outright = under(replayer, candidate(replayer, tmp_path / "b"), tmp_path / "wb")
    result = counterfactual(outright, runs)
    assert result["by_change"]["allow->deny"] == len(did)
    assert set(result["by_change"]) <= {"allow->deny", "confirm->deny"}
    assert "confirm->deny" in result["by_change"]  # a turn that asked for the customer's yes
    # ... is credited to the rule that changed it, not to the one that asked for the yes
    assert result["by_rule"] == {"no-cancellations": result["changed"]}
    assert all(e["rules"] == ["no-cancellations"] for e in result["examples"])
    assert all(e["proposal"] == "cancel_pending_order" for e in result["examples"])


def test_the_release_in_force_as_a_candidate_changes_nothing(
    replayer: Replayer, tmp_path: Path
) -> None:
    from tether.runtime.replay import counterfactual

    in_force = build_desk(load_domain("retail"), replayer.runtime.store).release
    assert in_force is not None
    same = under(replayer, in_force.bundle(), tmp_path / "w")
    result = counterfactual(same, all_runs(replayer))
    assert result["changed"] == 0 and result["errors"] == 0 and result["runs"] > 0


def test_a_release_of_another_pack_version_is_refused(replayer: Replayer, tmp_path: Path) -> None:
    from tether.release.bundle import Bundle

    bundle = candidate(replayer, tmp_path / "a")
    other = Bundle({**bundle.content, "domain": {"name": "retail", "version": "9.9.9"}})
    with pytest.raises(TetherError) as caught:
        under(replayer, other, tmp_path / "w")
    assert caught.value.code is ErrorCode.RELEASE_SOURCE_INVALID


def test_the_command_line_counterfactual(recorded: tuple[str, Path], tmp_path: Path) -> None:
    url, home = recorded
    tether = command_line(url, home)

    folder = tmp_path / "candidate"
    exported = tether(
        "release",
        "export",
        json.loads(tether("release", "list", "--json").stdout)["releases"][-1]["id"],
        str(folder),
    )
    assert exported.returncode == 0, exported.stderr
    rules = folder / "policies" / "store.cedar"
    rules.write_text(rules.read_text() + FORBID.format(when=""))
    (folder / "prompts" / "retail-desk.md").write_text("Be brief.")
    created = json.loads(tether("release", "create", "--from", str(folder), "--json").stdout)
    shown = tether("replay", "--release", created["release"]["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert set(result) >= {"runs", "changed", "by_change", "by_rule", "examples", "release"}
    assert result["changed"] >= 1 and "no-cancellations" in result["by_rule"]
    assert (
        "instructions" in result["model_side"]
    )  # the prompt changed: the model side is not replayed
    missing = tether("replay", "--release", "rel_0000000000000000", "--json")
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["error"]["code"] == "RELEASE_NOT_FOUND"


def test_runs_recorded_on_postgresql_replay_identical(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(pg_url)
    try:
        domain = load_domain("retail")
        wanted = [s for s in load_scenarios(None, domain) if s.name in SCENARIOS[:2]]
        for scenario in wanted:
            assert run_scenario(domain, store, scenario).ok, scenario.name
        replayer = Replayer(build_desk(domain, store, approvals=True).runtime)
        summary = replay_runs(replayer, all_runs(replayer))
        assert summary["runs"] >= 3 and summary["identical"] == summary["runs"], summary
    finally:
        store.close()


def test_a_record_that_does_not_read_back_diverges_and_the_rest_still_replay(
    replayer: Replayer,
) -> None:
    runs = all_runs(replayer)
    run = next(r for r in runs if any(s.kind is StepKind.TOOL for s in r.steps))
    tool = next(s for s in run.steps if s.kind is StepKind.TOOL)
    broken = with_step(run, tool.seq, {"tool": tool.name, "ok": True, "evidence_id": "tool:1"})
    report = replayer.replay(broken)
    assert not report.identical and report.diffs[-1].path == "record"
    assert report.diffs[-1].step == tool.seq
    summary = replay_runs(replayer, [broken, *[r for r in runs if r.id != run.id]])
    assert summary["diverged"] == 1 and summary["identical"] == len(runs) - 1


# -- records altered after the fact ----------------------------------------------------------


def cancelling(replayer: Replayer) -> tuple[Run, Step]:
    for run in all_runs(replayer):
        tools = [
            s for s in run.steps if s.kind is StepKind.TOOL and s.name == "cancel_pending_order"
        ]
        if tools:
            return run, tools[0]
    raise AssertionError("no run cancelled an order")


def test_tool_step_arguments_forged(replayer: Replayer) -> None:
    run, tool = cancelling(replayer)
    args = dict(tool.data["arguments"])
    args["order_id"] = "ORD-9999"  # not the order the guard allowed
    report = replayer.replay(with_step(run, tool.seq, {**tool.data, "arguments": args}))
    assert not report.identical


def test_guard_steps_removed(replayer: Replayer) -> None:
    run, _ = cancelling(replayer)
    steps = tuple(
        s for s in run.steps if not (s.kind is StepKind.GUARD and s.name == "cancel_pending_order")
    )
    report = replayer.replay(dataclasses.replace(run, steps=steps))
    assert not report.identical


def test_run_decision_forged(replayer: Replayer) -> None:
    run, _ = cancelling(replayer)
    assert run.decision is not None
    forged = dataclasses.replace(run, decision=Decision(DecisionKind.REFUSAL, "no"))
    report = replayer.replay(forged)
    assert not report.identical


def test_decision_step_removed(replayer: Replayer) -> None:
    run, _ = cancelling(replayer)
    steps = tuple(s for s in run.steps if s.kind is not StepKind.DECISION)
    report = replayer.replay(dataclasses.replace(run, steps=steps))
    assert not report.identical


def test_guard_effect_forged(replayer: Replayer) -> None:
    run, _ = cancelling(replayer)
    guard = next(
        s for s in run.steps if s.kind is StepKind.GUARD and s.name == "cancel_pending_order"
    )
    forged = {**guard.data, "effect": "deny", "decided_by": "policy"}
    report = replayer.replay(with_step(run, guard.seq, forged))
    assert not report.identical


def test_tool_before_its_guard(replayer: Replayer) -> None:
    run, tool = cancelling(replayer)
    guards = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == "cancel_pending_order"]
    first = guards[0]
    moved = dataclasses.replace(tool, seq=first.seq)
    steps = []
    for s in run.steps:
        if s is first:
            steps.append(moved)
            for g in guards:
                steps.append(dataclasses.replace(g, seq=g.seq + 1))
        elif s is tool or s in guards:
            continue
        else:
            steps.append(s)
    report = replayer.replay(dataclasses.replace(run, steps=tuple(steps)))
    assert not report.identical


def test_decision_results_forged(replayer: Replayer) -> None:
    run, _ = cancelling(replayer)
    last = run.steps[-1]
    results = json.loads(json.dumps(last.data["decision"]["results"]))
    results[0]["arguments"]["order_id"] = "#W0000000"
    forged = {**last.data, "decision": {**last.data["decision"], "results": results}}
    report = replayer.replay(with_step(run, last.seq, forged))
    assert not report.identical


def test_an_execute_stage_guard_is_replayed_from_the_record(
    replayer: Replayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, tool = cancelling(replayer)
    guard = next(s for s in run.steps if s.kind is StepKind.GUARD and s.name == tool.name)
    token = run.steps[0].data["capability"]["id"]
    # the call refused at execution, its token revoked meanwhile: the run stops there
    message = f"the token {token} was revoked"
    refused = {
        "call": guard.data["call"],
        "stage": "execute",
        "effect": "deny",
        "decided_by": "execute",
        "verdicts": [{"check": "execute", "effect": "deny",
                      "reasons": [{"code": "TOKEN_REVOKED", "message": message}], "facts": {}}],
        "reads": {**guard.data["reads"], f"capability.status:{token}": "revoked"},
    }  # fmt: skip
    steps = [s for s in run.steps if s.seq < tool.seq]
    steps.append(dataclasses.replace(tool, kind=StepKind.GUARD, data=refused))
    run = dataclasses.replace(run, step_count=len(steps))  # the row counts the steps it holds
    live: list[Any] = []
    real = RetailDB._fetch

    def spy(self: RetailDB, table: Any, key: str) -> Any:
        live.append((table.name, key))
        return real(self, table, key)

    monkeypatch.setattr(RetailDB, "_fetch", spy)
    report = replayer.replay(dataclasses.replace(run, steps=tuple(steps)))
    assert live == []  # replay never reads live state
    assert report.checked == 2 and "token state at execution" not in report.not_replayed
    # re-made at the instant it was made, with the token state then: refused as recorded
    assert report.verdicts[tool.seq].final.reasons[0].code is ErrorCode.TOKEN_REVOKED
    assert [d.path for d in report.diffs] == ["run.decision"]  # the row still holds its end
    # the same refusal without the token's state in the record: the token passes, and the
    # replay says where the record and it part
    del refused["reads"][f"capability.status:{token}"]
    report = replayer.replay(dataclasses.replace(run, steps=tuple(steps)))
    assert report.diffs[0].step == tool.seq and report.diffs[0].path == "effect"
    # a record made before runs kept their grant says its token state cannot be re-made
    scope = run.steps[0]
    principal = {k: v for k, v in scope.data["principal"].items() if k != "rights"}
    steps[0] = dataclasses.replace(scope, data={**scope.data, "principal": principal})
    report = replayer.replay(dataclasses.replace(run, steps=tuple(steps)))
    assert live == []
    assert "token state at execution" in report.not_replayed


# -- runs a counterfactual cannot re-check ---------------------------------------------------


def test_a_run_that_does_not_read_back_is_not_counted_unchanged(replayer: Replayer) -> None:
    runs = all_runs(replayer)
    run = next(r for r in runs if any(s.kind is StepKind.TOOL for s in r.steps))
    tool = next(s for s in run.steps if s.kind is StepKind.TOOL)
    broken = with_step(run, tool.seq, {"tool": tool.name, "ok": True, "evidence_id": "tool:1"})
    assert not replayer.replay(broken).identical
    found = cf(replayer, [broken])
    assert found["changed"] + found["errors"] == 1, found


def test_a_run_of_an_agent_the_candidate_lacks_is_not_counted_unchanged(
    replayer: Replayer,
) -> None:
    run = dataclasses.replace(all_runs(replayer)[0], agent="an-agent-the-candidate-dropped")
    assert not replayer.replay(run).identical
    found = cf(replayer, [run])
    assert found["changed"] + found["errors"] == 1, found


def test_a_read_the_record_lacks_is_not_reported_as_a_rule_change(replayer: Replayer) -> None:
    run, step = guard_reading(all_runs(replayer), "cancel_pending_order", "retail_orders")
    reads = {k: v for k, v in step.data["reads"].items() if not k.startswith("retail_orders:")}
    found = cf(replayer, [with_step(run, step.seq, {**step.data, "reads": reads})])
    assert found["changed"] == 0 and found["errors"] == 1, found  # counted apart, not a change
    assert "REPLAY_READ_MISSING" in found["examples"][0]["error"]
