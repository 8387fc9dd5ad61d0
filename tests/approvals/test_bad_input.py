"""Unknown and already-decided requests, approval by the requester, the wrong role, a changed
argument hash, and concurrent decisions: clear codes, exactly one outcome, nothing lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from tether.approvals import ApprovalStatus, Approver, EscalationConfig
from tether.approvals.gate import ApprovedCallToken, ApprovedEscalation
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import DecisionKind, Effect, Reason, RunStatus, StepKind, ToolCall, Verdict
from tether.domains.retail.db import RetailDB
from tether.policy.check import argument_hash
from tether.sdk import Desk
from tether.store.runs import RunStore

from .conftest import (
    ALEX,
    ORDER,
    RETURN,
    SAM,
    USER,
    open_desk,
    pending_for,
    service,
    start_return,
)

TOOL = "return_delivered_order_items"


def _code(call: Callable[[], object]) -> ErrorCode:
    with pytest.raises(TetherError) as caught:
        call()
    return caught.value.code


def _refusals(desk: Desk) -> list[dict[str, object]]:
    assert desk.access is not None
    events = desk.access.audit.events(limit=1000)
    return [e.to_dict()["data"] for e in events if e.kind == "approval.refused"]


def test_an_unknown_request_is_not_found_and_the_attempt_is_audited(desk: Desk) -> None:
    assert _code(lambda: service(desk).get("apr_nope")) is ErrorCode.APPROVAL_NOT_FOUND
    assert _code(lambda: service(desk).approve("apr_nope", SAM)) is ErrorCode.APPROVAL_NOT_FOUND
    assert _code(lambda: service(desk).reject("apr_nope", SAM)) is ErrorCode.APPROVAL_NOT_FOUND
    assert [r["code"] for r in _refusals(desk)] == ["APPROVAL_NOT_FOUND"] * 2


def test_a_second_decision_is_refused_and_the_first_stands(desk: Desk, store: RunStore) -> None:
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    service(desk).approve(approval.id, SAM)
    assert _code(lambda: service(desk).approve(approval.id, ALEX)) is (
        ErrorCode.APPROVAL_ALREADY_DECIDED
    )
    assert _code(lambda: service(desk).reject(approval.id, ALEX)) is (
        ErrorCode.APPROVAL_ALREADY_DECIDED
    )
    decided = service(desk).get(approval.id)
    assert decided.status is ApprovalStatus.APPROVED and decided.decided_by == SAM.actor
    steps = store.get_run(run.id).steps
    assert sum(s.kind is StepKind.TOOL and s.name == TOOL for s in steps) == 1
    assert [r["code"] for r in _refusals(desk)] == ["APPROVAL_ALREADY_DECIDED"] * 2


def test_the_requester_may_not_approve(desk: Desk) -> None:
    run = start_return(desk, metadata={"operator": "operator:key1"})
    approval = pending_for(service(desk), run)
    assert approval.requested_by == "operator:key1"
    same = Approver("operator:key1", "admin")
    assert _code(lambda: service(desk).approve(approval.id, same)) is (
        ErrorCode.APPROVER_IS_REQUESTER
    )
    customer = Approver(f"principal:{USER}", "admin")  # nor the customer the run acts for
    assert _code(lambda: service(desk).approve(approval.id, customer)) is (
        ErrorCode.APPROVER_IS_REQUESTER
    )
    assert service(desk).get(approval.id).status is ApprovalStatus.PENDING  # still open
    assert service(desk).approve(approval.id, SAM).run.status is RunStatus.COMPLETED


def test_a_role_that_may_not_decide_is_refused(store: RunStore, clock: ManualClock) -> None:
    config = EscalationConfig.model_validate({"approvers": {"supervisor": ["admin"]}})
    desk = open_desk(store, clock, config)
    approval = pending_for(service(desk), start_return(desk))
    assert _code(lambda: service(desk).approve(approval.id, SAM)) is ErrorCode.ROLE_FORBIDDEN
    viewer = Approver("operator:v", "viewer")
    assert _code(lambda: service(desk).reject(approval.id, viewer)) is ErrorCode.ROLE_FORBIDDEN
    boss = Approver("operator:boss", "admin")
    assert service(desk).approve(approval.id, boss).approval.status is ApprovalStatus.APPROVED


def test_approving_other_arguments_than_reviewed_is_refused(desk: Desk) -> None:
    approval = pending_for(service(desk), start_return(desk))
    other = argument_hash(TOOL, {**RETURN, "item_ids": ["6452271382"]})
    assert _code(lambda: service(desk).approve(approval.id, SAM, argument_hash=other)) is (
        ErrorCode.ARGUMENTS_NOT_APPROVED
    )
    assert service(desk).get(approval.id).status is ApprovalStatus.PENDING
    reviewed = approval.argument_hash
    decided = service(desk).approve(approval.id, SAM, argument_hash=reviewed)
    assert decided.approval.status is ApprovalStatus.APPROVED


def _race(url: str, decisions: list[tuple[bool, Approver]]) -> tuple[list[object], Desk, str]:
    """Open one request, then let each decision run in its own thread and desk at once."""
    db = RetailDB.fresh_copy()
    first = open_desk(RunStore.open(url), db=db)
    run = start_return(first)
    approval_id = pending_for(service(first), run).id
    desks = [open_desk(RunStore.open(url), db=db) for _ in decisions]
    barrier = threading.Barrier(len(decisions))
    results: list[object] = [None] * len(decisions)

    def decide(index: int) -> None:
        approve, who = decisions[index]
        barrier.wait()
        try:
            results[index] = service(desks[index]).decide(approval_id, approve, who)
        except TetherError as exc:
            results[index] = exc.code

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(decisions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in desks:  # each desk's pool keeps its connections open until it is closed
        d.store.close()
    return results, first, run.id


ROUNDS = 3


def test_concurrent_approvals_have_exactly_one_outcome(store_url: str) -> None:
    for _ in range(ROUNDS):
        results, desk, run_id = _race(store_url, [(True, SAM), (True, ALEX), (True, SAM)])
        codes = [r for r in results if isinstance(r, ErrorCode)]
        assert len(codes) == 2 and set(codes) == {ErrorCode.APPROVAL_ALREADY_DECIDED}, results
        order = desk.data.order(ORDER)
        assert order is not None and order["status"] == "return requested"
        with desk.store.engine.connect() as conn:
            tools = conn.execute(
                text(
                    "SELECT count(*) FROM steps WHERE run_id = :r AND kind = 'tool' AND name = :t"
                ),
                {"r": run_id, "t": TOOL},
            ).scalar_one()
            decided = conn.execute(
                text("SELECT count(*) FROM steps WHERE run_id = :r AND kind = 'approval'"),
                {"r": run_id},
            ).scalar_one()
        assert tools == 1 and decided == 2  # requested, then one decision
        desk.store.close()


def test_concurrent_approve_and_reject_have_exactly_one_outcome(store_url: str) -> None:
    for _ in range(ROUNDS):
        results, desk, run_id = _race(store_url, [(True, SAM), (False, ALEX)])
        won = [r for r in results if not isinstance(r, ErrorCode)]
        assert len(won) == 1 and ErrorCode.APPROVAL_ALREADY_DECIDED in results, results
        run = desk.store.get_run(run_id)
        assert run.decision is not None
        order = desk.data.order(ORDER)
        assert order is not None
        if results[0] is won[0]:  # the approval won
            assert run.decision.kind is DecisionKind.ACTION
            assert order["status"] == "return requested"
        else:
            assert run.decision.kind is DecisionKind.REFUSAL
            assert order["status"] == "delivered"
        desk.store.close()


def test_a_waiver_covers_only_the_approved_arguments_and_policies() -> None:
    approved = {
        "approval_id": "apr_1",
        "argument_hash": argument_hash(TOOL, RETURN),
        "policies": ["supervisor-approval-large-return"],
        "decided_by": "operator:sam",
    }

    def escalating(arguments: dict[str, object], policies: list[str]) -> Verdict:
        request = {"argument_hash": argument_hash(TOOL, arguments), "policies": policies}
        reason = Reason(ErrorCode.POLICY_ESCALATED, "needs a supervisor")
        return Verdict("policy", Effect.ESCALATE, (reason,), {"approval": request})

    class Fixed:
        name = "policy"

        def __init__(self, verdict: Verdict) -> None:
            self.verdict = verdict

        def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
            return self.verdict

    ctx = None  # the wrapped check ignores its context
    same = ToolCall("c1", TOOL, RETURN)
    other_args = {**RETURN, "item_ids": ["6452271382"]}
    waived = ApprovedEscalation(Fixed(escalating(RETURN, list(approved["policies"]))), approved)
    assert waived(ctx, same).effect is Effect.ALLOW  # type: ignore[arg-type]
    changed = ApprovedEscalation(Fixed(escalating(other_args, ["x"])), approved)
    assert changed(ctx, ToolCall("c1", TOOL, other_args)).effect is Effect.ESCALATE  # type: ignore[arg-type]
    more = ApprovedEscalation(
        Fixed(escalating(RETURN, ["supervisor-approval-large-return", "new-rule"])), approved
    )
    assert more(ctx, same).effect is Effect.ESCALATE  # type: ignore[arg-type]


def test_the_call_token_is_bound_to_the_approved_arguments(desk: Desk) -> None:
    assert desk.access is not None
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    agent = desk.runtime.agents["retail-desk"]
    principal = desk.runtime.principals.resolve(USER)
    ctx = GuardContext(run.id, principal, agent, desk.runtime.tools, {})
    data = {"approval_id": approval.id, "tool": TOOL, "arguments": dict(RETURN)}
    check = ApprovedCallToken(desk.access.tokens, data, service(desk).gate.uses)
    other = check(ctx, ToolCall("c1", TOOL, {**RETURN, "item_ids": ["6452271382"]}))
    assert other.effect is Effect.DENY
    assert other.reasons[0].code is ErrorCode.ARGUMENTS_NOT_APPROVED
    same = check(ctx, ToolCall("c1", TOOL, dict(RETURN)))
    assert same.effect is Effect.ALLOW
    assert same.facts["token"]["arguments_hash"]  # bound to a hash of the arguments
