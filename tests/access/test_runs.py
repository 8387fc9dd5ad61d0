"""Least privilege in real runs: the run token, its re-check at execution, the audit trail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.access.helpers import (
    AUTH,
    CANCEL,
    CANCEL_TALK,
    OTHER_ORDER,
    OWN_PENDING_ORDER,
    USER,
    RecordingModel,
    SpyCheck,
    add_check,
    ask,
    open_desk,
)
from tether.access.rights import RoleRights
from tether.access.tokens import RUN_AUDIENCE
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, RunStatus, StepKind
from tether.policy import argument_hash
from tether.store.runs import RunStore
from tether.store.schema import steps

ORDER = {"tool": "get_order_details", "args": {"order_id": OWN_PENDING_ORDER}}


def events(desk: Any, run_id: str) -> list[dict[str, Any]]:
    return [e.to_dict() for e in desk.access.audit.events(run_id=run_id, limit=100)]


def test_the_scope_step_records_the_grant_but_never_the_token(store: RunStore) -> None:
    desk = open_desk(store)
    spy = SpyCheck()
    add_check(desk, spy)
    script = [AUTH, ORDER, {"answer": "Pending [tool:2]."}]
    run = ask(desk, "status of my order?", script)
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    capability = run.steps[0].data["capability"]
    assert capability["scopes"] == ["retail:read", "retail:write"]
    assert capability["resources"] == {"owner": USER}
    assert capability["expires_at"] - capability["issued_at"] == pytest.approx(300)
    assert "cancel_pending_order" in capability["tools"]
    (token,) = set(spy.seen)
    assert desk.access is not None
    assert desk.access.tokens.decode(token).id == capability["id"]
    stored = json.dumps(store.get_run(run.id).to_dict(with_steps=True))
    audit = json.dumps(events(desk, run.id))
    for text_ in (stored, audit):
        assert token not in text_ and "tct1." not in text_
    guard = next(s for s in run.steps if s.kind is StepKind.GUARD)
    grant = next(v for v in guard.data["verdicts"] if v["check"] == "grant")
    assert grant["facts"] == {"token_id": capability["id"], "scopes": ["retail:read"]}


def test_a_run_is_audited_from_start_to_decision(store: RunStore) -> None:
    desk = open_desk(store)
    script = [
        AUTH,
        {"tool": "get_order_details", "args": {"order_id": OTHER_ORDER}},
        {"answer": "no"},
    ]
    run = ask(desk, "what is in order #W7678072?", script)
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.PERMISSION_DENIED
    found = events(desk, run.id)
    assert [e["kind"] for e in found] == ["run.started", "guard.deny", "run.decided"]
    started, denied, decided = found
    assert started["actor"] == f"principal:{USER}"
    assert started["data"]["token"]["id"] == run.steps[0].data["capability"]["id"]
    assert denied["data"]["code"] == "PERMISSION_DENIED"
    assert denied["data"]["arguments"] == {"order_id": OTHER_ORDER}
    assert decided["data"] == {"kind": "refusal", "code": "PERMISSION_DENIED"}
    # a write is audited with its arguments and outcome
    cancel = [
        AUTH,
        ORDER,
        {"tool": "cancel_pending_order", "args": CANCEL},
        {"answer": "Cancelled [tool:3]."},
    ]
    written = ask(desk, CANCEL_TALK, cancel)  # the confirming turn's run
    kinds = [e["kind"] for e in events(desk, written.id)]
    assert kinds == ["run.started", "confirmation.confirmed", "tool.write", "run.decided"]
    confirmed = events(desk, written.id)[1]["data"]
    assert confirmed["tool"] == "cancel_pending_order" and confirmed["by"] == "button"
    assert confirmed["nonce"].startswith("pa_")
    assert confirmed["argument_hash"] == argument_hash("cancel_pending_order", CANCEL)
    write = events(desk, written.id)[2]["data"]
    assert write["tool"] == "cancel_pending_order" and write["arguments"] == CANCEL
    assert write["ok"] is True
    assert desk.access.verify_audit().ok


def test_a_finished_runs_token_is_revoked(store: RunStore) -> None:
    desk = open_desk(store)
    spy = SpyCheck()
    add_check(desk, spy)
    run = ask(desk, "status?", [AUTH, ORDER, {"answer": "x [tool:2]"}])
    assert desk.access is not None
    with pytest.raises(TetherError) as caught:
        desk.access.tokens.verify(spy.seen[0], audience=RUN_AUDIENCE, run_id=run.id)
    assert caught.value.code is ErrorCode.TOKEN_REVOKED


def test_the_token_is_verified_again_at_execution(store: RunStore) -> None:
    desk = open_desk(store)
    assert desk.access is not None
    tokens = desk.access.tokens

    def revoke(ctx: Any, call: Any) -> None:  # revoked after the guard chain allowed the call
        if call.name == "cancel_pending_order":
            tokens.revoke(tokens.decode(ctx.capability))

    add_check(desk, SpyCheck(revoke))
    script = [AUTH, ORDER, {"tool": "cancel_pending_order", "args": CANCEL}, {"answer": "x"}]
    run = ask(desk, CANCEL_TALK, script)
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None and run.decision.reason.code is ErrorCode.TOKEN_REVOKED
    # the confirming turn: the confirmed call passed the chain, then failed the re-check
    guards = [s.data for s in run.steps if s.kind is StepKind.GUARD]
    assert guards[0]["effect"] == "allow" and guards[1]["stage"] == "execute"
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == []  # it never ran
    order = desk.data.order(OWN_PENDING_ORDER)
    assert order is not None and order["status"] == "pending"


def test_a_token_that_expires_mid_run_stops_the_run(store: RunStore) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    desk = open_desk(store, clock=clock, token_ttl_s=60)
    add_check(desk, SpyCheck(lambda ctx, call: clock.advance(61)))
    run = ask(desk, "status?", [AUTH, {"answer": "x"}])
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.TOKEN_EXPIRED


def test_effective_rights_are_agent_grants_within_the_principals(store: RunStore) -> None:
    rights = RoleRights({"reader": ("retail:read",)})
    desk = open_desk(store, rights=rights, roles=("reader",))
    model = RecordingModel(
        [AUTH, {"tool": "cancel_pending_order", "args": CANCEL}, {"answer": "x"}]
    )
    run = ask(desk, CANCEL_TALK, [], model=model)
    capability = run.steps[0].data["capability"]
    assert capability["scopes"] == ["retail:read"]
    assert "cancel_pending_order" not in capability["tools"]
    assert "get_order_details" in capability["tools"]
    offered = {spec.name for spec in model.requests[0].tools}
    # the model is not even shown write tools (asking the user a question is always offered)
    assert offered == {*capability["tools"], "ask_user"}
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.SCOPE_NOT_GRANTED
    order = desk.data.order(OWN_PENDING_ORDER)
    assert order is not None and order["status"] == "pending"


def test_a_principal_without_rights_gets_no_tools(store: RunStore) -> None:
    desk = open_desk(store, roles=("visitor",))
    run = ask(desk, "status?", [AUTH, {"answer": "x"}])
    assert run.steps[0].data["capability"]["tools"] == []
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.SCOPE_NOT_GRANTED


def test_audit_events_commit_with_their_steps_or_not_at_all(sqlite_store: RunStore) -> None:
    desk = open_desk(sqlite_store)
    assert desk.runtime.release is not None
    desk.runtime.release()  # the release in force is recorded (and audited) before the break
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    with pytest.raises(TetherError) as caught:
        ask(desk, "status?", [{"answer": "x"}])
    assert caught.value.code is ErrorCode.INTERNAL
    (stuck,) = sqlite_store.list_runs()
    assert stuck.status is RunStatus.RUNNING
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(steps)).scalar_one() == 0


class Crash(BaseException):
    """Stands in for the process dying mid-run."""


def test_a_resumed_run_gets_a_new_token_and_the_old_one_is_revoked(store: RunStore) -> None:
    desk = open_desk(store)
    spy = SpyCheck()
    add_check(desk, spy)

    def die(ctx: Any, call: Any) -> None:
        if call.name == "get_product_details":
            raise Crash

    add_check(desk, SpyCheck(die))
    script = [
        AUTH,
        ORDER,
        {"tool": "get_product_details", "args": {"product_id": "2985987096"}},
        {"answer": "ok [tool:2]"},
    ]
    with pytest.raises(Crash):
        ask(desk, "status?", script)
    (stopped,) = store.list_runs()
    fresh = open_desk(store)
    later = SpyCheck()
    add_check(fresh, later)
    run = fresh.runtime.resume(stopped.id, RecordingModel(script))
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    assert fresh.access is not None
    old, new = spy.seen[0], later.seen[0]
    assert old != new
    for token in (old, new):  # the old one at resume, the new one when the run ended
        with pytest.raises(TetherError) as caught:
            fresh.access.tokens.verify(token, audience=RUN_AUDIENCE)
        assert caught.value.code is ErrorCode.TOKEN_REVOKED
    kinds = [e["kind"] for e in events(fresh, stopped.id)]
    assert kinds == ["run.started", "run.resumed", "run.decided"]
    assert fresh.access.verify_audit().ok
