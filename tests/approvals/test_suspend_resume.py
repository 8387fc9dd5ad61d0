"""An escalated call suspends its run durably; approving runs exactly the approved call and the
model continues; rejecting or letting the request expire ends the run in a refusal."""

from __future__ import annotations

import time

from sqlalchemy import select

from tether.access.revocation import REVOKED
from tether.approvals import ApprovalStatus
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, ModelTurn, RunStatus, Step, StepKind
from tether.models.base import ModelRequest
from tether.policy.check import argument_hash
from tether.sdk import Desk
from tether.store.approvals_schema import approvals
from tether.store.runs import RunStore

from .conftest import ALEX, ORDER, RETURN, SAM, SCRIPT, USER, pending_for, service, start_return


def _steps(run_steps: tuple[Step, ...]) -> list[tuple[str, str]]:
    return [(s.kind.value, s.name) for s in run_steps]


def _order_status(desk: Desk) -> str:
    order = desk.data.order(ORDER)
    assert order is not None
    return str(order["status"])


def test_an_escalated_call_suspends_the_run_with_a_request(
    desk: Desk, store: RunStore, clock: ManualClock
) -> None:
    run = start_return(desk)
    assert run.status is RunStatus.SUSPENDED and run.decision is None
    stored = store.get_run(run.id)
    assert stored.status is RunStatus.SUSPENDED and stored.decision is None
    guard, suspension = stored.steps[-2], stored.steps[-1]
    assert guard.kind is StepKind.GUARD and guard.data["effect"] == "escalate"
    assert "messages" not in guard.data  # the model is told nothing until a person decides
    assert suspension.kind is StepKind.APPROVAL and suspension.name == "requested"

    approval = pending_for(service(desk), run)
    assert suspension.data["approval_id"] == approval.id
    assert approval.tool == "return_delivered_order_items"
    assert dict(approval.arguments) == RETURN
    assert approval.argument_hash == argument_hash("return_delivered_order_items", RETURN)
    assert "supervisor-approval-large-return" in approval.policies
    assert any("$500" in r for r in approval.reasons)
    assert approval.approver_role == "supervisor"
    assert approval.expires_at == clock.now() + 86_400  # the policy's @expires_in
    assert approval.requested_by == f"principal:{USER}" and approval.principal_id == USER
    assert approval.step_seq == suspension.seq and approval.status is ApprovalStatus.PENDING
    assert _order_status(desk) == "delivered"  # nothing happened yet
    # a suspended run holds no live capability
    capability = stored.steps[0].data["capability"]
    assert desk.access is not None
    assert desk.access.revocations.status(capability["id"]) == REVOKED
    kinds = [e.kind for e in desk.access.audit.events(run_id=run.id)]
    assert "approval.requested" in kinds and "guard.escalate" in kinds
    # resuming a suspended run does nothing: it waits for the decision
    assert desk.runtime.resume(run.id, NeverAsked()) == stored


class NeverAsked:
    name = "never-asked"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise AssertionError("a suspended run must not ask the model")


def test_approving_runs_the_approved_call_once_then_the_model_continues(
    desk: Desk, store: RunStore
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    decided = service(desk).approve(approval.id, SAM, note="checked the receipt")

    assert decided.approval.status is ApprovalStatus.APPROVED
    assert (
        decided.approval.decided_by == SAM.actor and decided.approval.note == "checked the receipt"
    )
    ended = decided.run
    assert ended.status is RunStatus.COMPLETED and ended.decision is not None
    assert ended.decision.kind is DecisionKind.ACTION
    assert _order_status(desk) == "return requested"
    stored = store.get_run(run.id)
    names = _steps(stored.steps)
    assert names.count(("tool", "return_delivered_order_items")) == 1
    assert ("approval", "approved") in names
    recheck = next(
        s for s in stored.steps if s.kind is StepKind.GUARD and s.data.get("approval_id")
    )
    verdicts = {v["check"]: v for v in recheck.data["verdicts"]}
    assert verdicts["policy"]["effect"] == "allow"  # the approved escalation is waived ...
    assert verdicts["policy"]["facts"]["approved"]["approval_id"] == approval.id
    assert verdicts["premises"]["effect"] == "allow"  # ... and the later checks ran
    token = verdicts["approval"]["facts"]["token"]
    assert token["audience"] == "tether:call" and token["tool"] == approval.tool
    assert desk.access is not None
    assert desk.access.revocations.status(token["id"]) == "used"  # single use
    kinds = [e.kind for e in desk.access.audit.events(run_id=run.id)]
    for kind in ("approval.requested", "approval.approved", "approval.token_used", "tool.write"):
        assert kinds.count(kind) == 1, kind


def test_rejecting_ends_the_run_in_a_refusal_and_changes_nothing(
    desk: Desk, store: RunStore
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    decided = service(desk).reject(approval.id, SAM, note="outside the return window")

    decision = decided.run.decision
    assert decision is not None and decision.kind is DecisionKind.REFUSAL
    assert decision.reason is not None and decision.reason.code is ErrorCode.APPROVAL_REJECTED
    assert "outside the return window" in decision.reason.message
    assert _order_status(desk) == "delivered"
    names = _steps(store.get_run(run.id).steps)
    assert ("tool", "return_delivered_order_items") not in names
    assert names[-2:] == [("approval", "rejected"), ("decision", "refusal")]
    assert desk.access is not None
    assert "approval.rejected" in [e.kind for e in desk.access.audit.events(run_id=run.id)]


def test_an_expired_request_ends_the_run_in_a_refusal(
    desk: Desk, store: RunStore, clock: ManualClock
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    clock.advance(86_400)
    assert service(desk).get(approval.id).status is ApprovalStatus.EXPIRED  # noticed on read
    ended = store.get_run(run.id)
    assert ended.decision is not None and ended.decision.kind is DecisionKind.REFUSAL
    assert ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.APPROVAL_EXPIRED
    try:
        service(desk).approve(approval.id, SAM)
    except TetherError as exc:
        assert exc.code is ErrorCode.APPROVAL_EXPIRED
    else:
        raise AssertionError("an expired request was approved")
    assert _order_status(desk) == "delivered"


def test_approving_past_the_expiry_is_refused_and_ends_the_run(
    desk: Desk, store: RunStore, clock: ManualClock
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    clock.advance(86_401)
    try:
        service(desk).approve(approval.id, SAM)
    except TetherError as exc:
        assert exc.code is ErrorCode.APPROVAL_EXPIRED
    else:
        raise AssertionError("an expired request was approved")
    ended = store.get_run(run.id)
    assert ended.decision is not None and ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.APPROVAL_EXPIRED
    assert _order_status(desk) == "delivered"


def test_time_spent_waiting_does_not_count_against_the_time_limit(
    desk: Desk, clock: ManualClock
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    clock.advance(6 * 3600)  # far past the agent's 120 s limit, well within the expiry
    decided = service(desk).approve(approval.id, SAM)
    assert decided.run.decision is not None
    assert decided.run.decision.kind is DecisionKind.ACTION, decided.run.decision


def test_a_run_without_its_script_continues_with_the_configured_model(
    desk: Desk,
) -> None:
    run = start_return(desk, keep_script=False)
    approval = pending_for(service(desk), run)
    decided = service(desk).approve(approval.id, SAM)  # this desk has no model configured
    decision = decided.run.decision
    # the approved call ran; with no model to continue, a person takes over
    assert _order_status(desk) == "return requested"
    assert decision is not None and decision.kind is DecisionKind.ESCALATION
    assert decision.reason is not None
    assert decision.reason.code is ErrorCode.MODEL_NOT_CONFIGURED


def test_the_approved_call_is_checked_again_when_it_finally_runs(
    desk: Desk, store: RunStore
) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    with desk.data.transaction() as uow:  # while it waited, the order was returned another way
        order = uow.order(ORDER)
        assert order is not None
        order["status"] = "return requested"
        uow.put_order(order)
    decided = service(desk).approve(approval.id, ALEX)
    stored = store.get_run(run.id)
    assert ("tool", "return_delivered_order_items") not in _steps(stored.steps)
    recheck = next(
        s for s in stored.steps if s.kind is StepKind.GUARD and s.data.get("approval_id")
    )
    assert recheck.data["effect"] == "deny"  # the waiver covers the escalation, nothing else
    assert decided.run.decision is not None


def test_the_script_a_run_started_with_is_used_after_the_approval(desk: Desk) -> None:
    script = [*SCRIPT[:2], {"answer": "Done: the grill's return is requested [tool:2]."}]
    run = start_return(desk, script=script)
    decided = service(desk).approve(pending_for(service(desk), run).id, SAM)
    assert decided.run.decision is not None
    assert decided.run.decision.text == "Done: the grill's return is requested [tool:2]."


def test_the_request_row_holds_what_the_approver_saw(desk: Desk, store: RunStore) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    with store.engine.connect() as conn:
        row = conn.execute(select(approvals).where(approvals.c.id == approval.id)).mappings().one()
    assert row["status"] == "pending" and row["queue"] == "default" and row["risk"] == "write"
    assert row["run_id"] == run.id and row["call_id"] == approval.call_id


def test_a_server_ends_expired_requests_in_the_background(
    desk: Desk, store: RunStore, clock: ManualClock
) -> None:
    run = start_return(desk)
    pending_for(service(desk), run)
    clock.advance(86_400)
    service(desk).start(poll_s=0.01, sweep_s=0.05)
    try:
        deadline = time.monotonic() + 10
        while store.get_run(run.id, with_steps=False).status is not RunStatus.COMPLETED:
            assert time.monotonic() < deadline, "the expired request was never ended"
            time.sleep(0.02)
    finally:
        service(desk).stop()
    ended = store.get_run(run.id)
    assert ended.decision is not None and ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.APPROVAL_EXPIRED
    assert desk.access is not None
    expired = [e for e in desk.access.audit.events(run_id=run.id) if e.kind == "approval.expired"]
    assert len(expired) == 1 and expired[0].actor == "system:expiry"
