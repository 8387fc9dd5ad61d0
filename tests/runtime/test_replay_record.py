"""Replay against a record whose headers were edited: a step taken out, the run row's
principal or step count changed, a step renamed. Listings and KPIs read those headers, so a
replay that reads only the steps' data must not call such a run identical."""

from __future__ import annotations

import dataclasses

from tests.runtime.test_replay import all_runs
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.runtime.replay import Replayer, counterfactual


def a_write(replayer: Replayer) -> Run:
    """A recorded run that cancelled an order, after retrieving evidence."""
    for run in all_runs(replayer):
        kinds = {s.kind for s in run.steps}
        if StepKind.RETRIEVAL in kinds and any(
            s.kind is StepKind.TOOL and s.name == "cancel_pending_order" for s in run.steps
        ):
            return run
    raise AssertionError("the recorded scenarios include a cancellation")


def test_the_untouched_run_is_identical(replayer: Replayer) -> None:
    assert replayer.replay(a_write(replayer)).identical


def test_a_step_taken_out_of_the_record_diverges_where_it_was(replayer: Replayer) -> None:
    run = a_write(replayer)
    gone = next(s for s in run.steps if s.kind is StepKind.RETRIEVAL)
    forged = dataclasses.replace(run, steps=tuple(s for s in run.steps if s is not gone))
    report = replayer.replay(forged)
    assert not report.identical
    first = report.diffs[0]
    assert (first.path, first.recorded, first.replayed) == ("seq", gone.seq + 1, gone.seq)
    # the last step taken out leaves the numbering whole: the row's step count tells
    cut = dataclasses.replace(run, steps=run.steps[:-1])
    report = replayer.replay(cut)
    assert [d.path for d in report.diffs][:1] == ["run.step_count"]


def test_a_run_row_naming_another_principal_diverges(replayer: Replayer) -> None:
    run = a_write(replayer)
    report = replayer.replay(dataclasses.replace(run, principal_id="someone_else"))
    assert [(d.path, d.recorded) for d in report.diffs] == [("run.principal", "someone_else")]


def test_a_guard_or_tool_step_renamed_diverges(replayer: Replayer) -> None:
    run = a_write(replayer)
    for kind in (StepKind.GUARD, StepKind.TOOL):
        step = next(s for s in run.steps if s.kind is kind and s.name == "cancel_pending_order")
        renamed = dataclasses.replace(step, name="get_order_details")
        forged = dataclasses.replace(
            run, steps=tuple(renamed if s is step else s for s in run.steps)
        )
        report = replayer.replay(forged)
        assert [(d.step, d.path, d.recorded, d.replayed) for d in report.diffs] == [
            (step.seq, "name", "get_order_details", "cancel_pending_order")
        ]


def test_a_counterfactual_counts_an_edited_record_as_an_error(replayer: Replayer) -> None:
    run = a_write(replayer)
    result = counterfactual(replayer, [dataclasses.replace(run, principal_id="someone_else")])
    assert result["errors"] == 1 and result["changed"] == 0
    assert "run.principal" in result["examples"][0]["error"]


def test_a_run_row_listed_under_another_decision_diverges(replayer: Replayer) -> None:
    from sqlalchemy import update

    from tether.access.storage import begin
    from tether.store.schema import runs

    run = a_write(replayer)
    engine = replayer.runtime.store.engine
    # listings, rollout arms and business KPIs count a run by these columns, not its JSON
    with begin(engine) as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run.id)
            .values(decision_kind="refusal", decision_code="POLICY_DENIED")
        )
    try:
        report = replayer.replay(replayer.runtime.store.get_run(run.id))
    finally:
        with begin(engine) as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run.id)
                .values(decision_kind="action", decision_code=None)
            )
    assert [(d.path, d.recorded, d.replayed) for d in report.diffs] == [
        ("run.decision_kind", "refusal POLICY_DENIED", "action")
    ]
    assert replayer.replay(replayer.runtime.store.get_run(run.id)).identical


def test_an_approval_recorded_as_refused_waives_nothing(replayer: Replayer) -> None:
    run = next(
        r
        for r in all_runs(replayer)
        if any(s.kind is StepKind.APPROVAL and s.data.get("status") == "approved" for s in r.steps)
    )
    assert replayer.replay(run).identical
    decided = next(
        s for s in run.steps if s.kind is StepKind.APPROVAL and s.data["status"] == "approved"
    )
    for status in ("rejected", "expired", "pending"):
        forged = dataclasses.replace(decided, data={**decided.data, "status": status})
        steps = tuple(forged if s is decided else s for s in run.steps)
        report = replayer.replay(dataclasses.replace(run, steps=steps))
        first = report.diffs[0]  # the call a person did not approve is escalated again
        assert (first.step, first.kind, first.path) == (decided.seq + 1, "guard", "effect"), status
        assert (first.recorded, first.replayed) == ("allow", "escalate")


def test_a_run_row_without_its_release_diverges(replayer: Replayer) -> None:
    run = a_write(replayer)
    scope = run.steps[0]
    assert run.release and scope.data.get("release") == run.release
    report = replayer.replay(dataclasses.replace(run, release=""))
    assert [(d.path, d.recorded, d.replayed) for d in report.diffs] == [
        ("run.release", None, run.release)
    ]


def test_a_run_row_in_another_status_diverges(replayer: Replayer) -> None:
    run = a_write(replayer)
    assert run.status is RunStatus.COMPLETED
    report = replayer.replay(dataclasses.replace(run, status=RunStatus.SUSPENDED))
    assert [(d.path, d.recorded, d.replayed) for d in report.diffs] == [
        ("run.status", "suspended", "completed")
    ]


def decided_by_person(replayer: Replayer, status: str) -> tuple[Run, Step]:
    for run in all_runs(replayer):
        for step in run.steps:
            if step.kind is StepKind.APPROVAL and step.data.get("status") == status:
                return run, step
    raise AssertionError(f"the recorded scenarios include an approval {status}")


def test_a_rejection_is_replayed_as_the_refusal_it_made(replayer: Replayer) -> None:
    run, _ = decided_by_person(replayer, "rejected")
    report = replayer.replay(run)
    assert report.identical and report.decision != "recorded"  # re-made, not taken as told
    last = run.steps[-1]
    decision = {**last.data["decision"], "text": "Your return has been approved."}
    forged = dataclasses.replace(last, data={**last.data, "decision": decision})
    report = replayer.replay(dataclasses.replace(run, steps=(*run.steps[:-1], forged)))
    # the re-made refusal tells, before the row's copy of the Decision disagrees too
    first = report.diffs[0]
    assert (first.step, first.path) == (last.seq, "decision.text")


def test_a_rejection_forged_into_an_approval_diverges(replayer: Replayer) -> None:
    run, decided = decided_by_person(replayer, "rejected")
    forged = dataclasses.replace(decided, data={**decided.data, "status": "approved"})
    steps = tuple(forged if s is decided else s for s in run.steps)
    report = replayer.replay(dataclasses.replace(run, steps=steps))
    first = report.diffs[0]  # an approved call is checked and run next, not ended on
    assert (first.step, first.path, first.recorded) == (decided.seq + 1, "approval", "approved")
    assert counterfactual(replayer, [dataclasses.replace(run, steps=steps)])["errors"] == 1
