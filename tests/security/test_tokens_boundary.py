"""Tokens at a boundary: execution verifies the run's token itself (signature, expiry,
revocation, binding, tool, scopes and the resource claim), whatever the guard chain said; an
approval's call token is used once; an approval's audit events commit with their step."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.access.conftest import open_access, unique
from tests.access.helpers import (
    AUTH,
    CANCEL,
    CANCEL_TALK,
    OTHER_ORDER,
    OWN_PENDING_ORDER,
    USER,
    ask,
    open_desk,
)
from tests.approvals.conftest import SAM, SCRIPT, pending_for, service, start_return
from tests.approvals.conftest import open_desk as open_approvals_desk
from tests.security.common import SwappedGrant, with_claims
from tether.access.canonical import b64url_decode
from tether.access.governor import RunGovernor, RunGrant
from tether.access.single_use import CallTokenUses, call_token_id
from tether.access.tokens import CapabilityClaims
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import (
    DecisionKind,
    Effect,
    Principal,
    Run,
    RunStatus,
    StepKind,
    ToolCall,
    Verdict,
)
from tether.domains.retail.desk import RETAIL_AGENT
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.store.runs import RunStore

OTHER_PENDING = "#W5918442"  # a pending order of another customer


class AllowAll:
    """A misconfigured chain: one check that allows every call."""

    name = "allow-all"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        return Verdict.allow(self.name)


def forged(gov: RunGovernor, grant: RunGrant) -> str:
    """The run's own token with its resource claim widened, signature kept."""
    return with_claims(grant.token, lambda claims: {**claims, "res": {"owner": "*"}})


def other_principal(gov: RunGovernor, grant: RunGrant) -> str:
    """A genuine token for this very run, minted for another customer."""
    c = grant.claims
    other = Principal("noah_brown_6181", c.tenant, ("customer",))
    return gov.tokens.mint_run(c.run_id, other, c.agent, c.tools, c.scopes)[0]


def other_tenant(gov: RunGovernor, grant: RunGrant) -> str:
    c = grant.claims
    elsewhere = Principal(c.principal, "another-tenant", ("customer",))
    return gov.tokens.mint_run(c.run_id, elsewhere, c.agent, c.tools, c.scopes)[0]


def revoked(gov: RunGovernor, grant: RunGrant) -> str:
    gov.tokens.revoke(grant.claims)
    return grant.token


def allow_all(desk: Desk) -> Desk:
    """The desk misconfigured: one allow-all check, and writes need no policy."""
    desk.runtime.tool_checks = (AllowAll(),)
    agents = desk.runtime.agents
    desk.runtime.agents = {
        n: dataclasses.replace(a, allow_writes_without_policy=True) for n, a in agents.items()
    }
    return desk


def refused_at_execution(run: Run, code: ErrorCode) -> None:
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL, run.decision
    assert run.decision.reason is not None and run.decision.reason.code is code, run.decision
    blocked = [s for s in run.steps if s.kind is StepKind.GUARD and s.data.get("stage")]
    assert blocked and blocked[-1].data["stage"] == "execute"
    assert blocked[-1].data["verdicts"][-1]["reasons"][0]["code"] == code.value


def cancelled(desk: Desk, order_id: str) -> bool:
    order = desk.data.order(order_id)
    assert order is not None
    return str(order["status"]) != "pending"


# -- the run token, verified where the tool runs ----------------------------------------------


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (forged, ErrorCode.TOKEN_INVALID),
        (other_principal, ErrorCode.TOKEN_WRONG_AUDIENCE),
        (other_tenant, ErrorCode.TOKEN_WRONG_AUDIENCE),
        (revoked, ErrorCode.TOKEN_REVOKED),
    ],
    ids=["forged", "other-principal", "other-tenant", "revoked"],
)
def test_a_bad_token_executes_nothing_even_when_the_chain_allows_all(
    sqlite_store: RunStore, make: Callable[[RunGovernor, RunGrant], str], code: ErrorCode
) -> None:
    desk = allow_all(open_desk(sqlite_store))
    assert desk.access is not None
    desk.runtime.access = SwappedGrant(desk.access.governor, make)  # type: ignore[assignment]
    script = [{"tool": "cancel_pending_order", "args": CANCEL}, {"answer": "Done."}]
    run = ask(desk, CANCEL_TALK, script)
    refused_at_execution(run, code)
    assert not [s for s in run.steps if s.kind is StepKind.TOOL]
    assert not cancelled(desk, OWN_PENDING_ORDER)


def test_execution_trusts_no_verification_made_before_it(sqlite_store: RunStore) -> None:
    """A forged token that the guard side's memory holds as verified is still refused: the
    execution side checks the signature itself, with the key alone."""
    desk = allow_all(open_desk(sqlite_store))
    assert desk.access is not None

    def planted(gov: RunGovernor, grant: RunGrant) -> str:
        token = forged(gov, grant)
        payload = json.loads(b64url_decode(token.split(".")[1]))
        gov.tokens._verified[token] = CapabilityClaims.from_payload(payload)
        return token

    desk.runtime.access = SwappedGrant(desk.access.governor, planted)  # type: ignore[assignment]
    run = ask(desk, CANCEL_TALK, [{"tool": "cancel_pending_order", "args": CANCEL}])
    refused_at_execution(run, ErrorCode.TOKEN_INVALID)
    assert not cancelled(desk, OWN_PENDING_ORDER)


def test_an_expired_token_executes_nothing_even_when_the_chain_allows_all(
    sqlite_store: RunStore,
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    desk = allow_all(open_desk(sqlite_store, clock=clock, token_ttl_s=30))
    assert desk.access is not None

    def stale(gov: RunGovernor, grant: RunGrant) -> str:
        clock.advance(31)
        return grant.token

    desk.runtime.access = SwappedGrant(desk.access.governor, stale)  # type: ignore[assignment]
    script = [{"tool": "cancel_pending_order", "args": CANCEL}, {"answer": "Done."}]
    run = ask(desk, CANCEL_TALK, script)
    refused_at_execution(run, ErrorCode.TOKEN_EXPIRED)
    assert not cancelled(desk, OWN_PENDING_ORDER)


def test_a_resource_outside_the_tokens_claim_is_refused_at_execution(
    sqlite_store: RunStore,
) -> None:
    desk = allow_all(open_desk(sqlite_store))
    before = desk.data.dump()
    cancel = {"order_id": OTHER_PENDING, "reason": "no longer needed"}
    talk = (
        f"Please cancel order {OTHER_PENDING}, I no longer need it.",
        f"I can cancel order {OTHER_PENDING} for the reason 'no longer needed'. Go ahead?",
        "Yes, please cancel it.",
    )
    run = ask(desk, talk, [AUTH, {"tool": "cancel_pending_order", "args": cancel}, {"answer": "x"}])
    refused_at_execution(run, ErrorCode.RESOURCE_NOT_IN_TOKEN)
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == ["find_user_id_by_email"]
    assert desk.data.dump() == before
    # a read of another customer's order is refused the same way: nothing about it is read
    read = ask(desk, "status?", [{"tool": "get_order_details", "args": {"order_id": OTHER_ORDER}}])
    refused_at_execution(read, ErrorCode.RESOURCE_NOT_IN_TOKEN)
    assert not [s for s in read.steps if s.kind is StepKind.TOOL]


def test_without_ownership_data_a_call_naming_a_resource_is_refused(
    sqlite_store: RunStore,
) -> None:
    desk = allow_all(open_desk(sqlite_store))
    assert desk.access is not None
    desk.access.governor.bind_resources(None)  # nothing to check the claim against
    own = {"tool": "get_order_details", "args": {"order_id": OWN_PENDING_ORDER}}
    run = ask(desk, "status?", [AUTH, own, {"answer": "x"}])
    refused_at_execution(run, ErrorCode.RESOURCE_NOT_IN_TOKEN)
    # a call that names no resource still runs
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == ["find_user_id_by_email"]


def test_a_good_token_still_executes_under_an_allow_all_chain(sqlite_store: RunStore) -> None:
    desk = allow_all(open_desk(sqlite_store))
    script = [{"tool": "cancel_pending_order", "args": CANCEL}, {"answer": "Done [tool:1]."}]
    run = ask(desk, CANCEL_TALK[0], script)  # the misconfigured chain asks for no confirmation
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == ["cancel_pending_order"]
    assert cancelled(desk, OWN_PENDING_ORDER)


# -- the approval's call token: one use ------------------------------------------------------


def _approved(tmp_path: Path) -> tuple[Desk, Run, dict[str, Any]]:
    """A run whose escalated return a supervisor approved, not yet resumed."""
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    desk = open_approvals_desk(store, ManualClock(1_800_000_000.0))
    run = start_return(desk)
    approval = pending_for(service(desk), run)
    desk_approvals = service(desk)
    desk_approvals.store.decide(approval.id, True, SAM)  # decided; the run is not resumed yet
    decided = store.get_run(run.id).steps[-1]
    assert decided.kind is StepKind.APPROVAL and decided.name == "approved"
    return desk, run, dict(decided.data)


def _call(approval: dict[str, Any]) -> ToolCall:
    call = approval["call"]
    return ToolCall(call["id"], call["name"], call["arguments"])


def _context(desk: Desk, run: Run) -> GuardContext:
    principal = desk.runtime.principals.resolve(USER)
    return GuardContext(run.id, principal, RETAIL_AGENT, desk.runtime.tools, {})


def test_the_approval_token_is_spent_once_where_the_call_starts(tmp_path: Path) -> None:
    desk, run, approval = _approved(tmp_path)
    gate = service(desk).gate
    (*_, check) = gate.checks((), approval)
    ctx = _context(desk, run)
    call = _call(approval)
    # the check verifies the token against the call; using it is the call's start
    assert check(ctx, call).effect is Effect.ALLOW
    spend = gate.spend(ctx, call, approval)
    with desk.store.engine.begin() as conn:
        assert [spend(conn) for _ in range(3)] == [True, False, False]
    # once spent, every presentation is refused: this call, another call, a changed one
    assert check(ctx, call).reasons[0].code is ErrorCode.TOKEN_REPLAYED
    again = ToolCall("another_call", call.name, dict(call.arguments))
    assert check(ctx, again).reasons[0].code is ErrorCode.TOKEN_REPLAYED
    changed = ToolCall("another_call", call.name, {**call.arguments, "item_ids": ["1"]})
    assert check(ctx, changed).effect is Effect.DENY
    # the run, resumed now, cannot run the approved call
    model = ScriptedModel(parse_script(SCRIPT[2:]))
    ended = desk.runtime.resume(run.id, model)
    assert ended.decision is not None and ended.decision.kind is DecisionKind.REFUSAL
    assert ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.TOKEN_REPLAYED
    order = desk.data.order(str(approval["arguments"]["order_id"]))
    assert order is not None and order["status"] == "delivered"
    desk.store.close()


def test_the_token_is_spent_in_the_transaction_that_starts_the_call(tmp_path: Path) -> None:
    desk, run, approval = _approved(tmp_path)
    with desk.store.engine.begin() as conn:  # the call's ledger row cannot be written
        conn.execute(
            text(
                "CREATE TRIGGER fail_ledger BEFORE INSERT ON tool_results "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        )
    ended = desk.runtime.resume(run.id, ScriptedModel(parse_script(SCRIPT[2:])))
    assert ended.decision is not None and ended.decision.kind is DecisionKind.ESCALATION
    # the call never started, so the approval's token was not spent with it
    assert service(desk).gate.uses.used_by(str(approval["approval_id"])) is None
    order = desk.data.order(str(approval["arguments"]["order_id"]))
    assert order is not None and order["status"] == "delivered"
    desk.store.close()


def test_an_approved_call_runs_once_and_its_token_is_recorded_used(tmp_path: Path) -> None:
    desk, run, approval = _approved(tmp_path)
    ended = desk.runtime.resume(run.id, ScriptedModel(parse_script(SCRIPT[2:])))
    assert ended.status is RunStatus.COMPLETED and ended.decision is not None
    assert ended.decision.kind is DecisionKind.ACTION
    (*_, check) = service(desk).gate.checks((), approval)
    verdict = check(_context(desk, run), _call(approval))
    assert verdict.reasons[0].code is ErrorCode.TOKEN_REPLAYED
    assert desk.access is not None
    kinds = [e.kind for e in desk.access.audit.events(run_id=run.id)]
    assert kinds.count("approval.token_used") == 1
    desk.store.close()


def test_an_approvals_token_is_used_once_across_threads(store_url: str) -> None:
    store = RunStore.open(store_url)
    access = open_access(store)
    uses = CallTokenUses(store.engine, access.revocations)
    principal = Principal(USER, "retail", ("customer",))
    approval_id = unique("apr")

    def present(i: int) -> bool:
        _, claims = access.tokens.mint_call(
            "run_t",
            principal,
            "retail-desk",
            "cancel_pending_order",
            CANCEL,
            (),
            token_id=call_token_id(approval_id),
        )
        return uses.claim(claims, approval_id, f"call_{i}")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(present, range(24)))
    assert results.count(True) == 1
    assert uses.used_by(approval_id) == f"call_{results.index(True)}"
    assert access.revocations.status(call_token_id(approval_id)) == "used"
    store.close()


# -- an approval's audit events commit with their step --------------------------------------


def test_the_approval_audit_event_rolls_back_with_its_step(tmp_path: Path) -> None:
    desk, run, approval = _approved(tmp_path)
    with desk.store.engine.begin() as conn:  # the approved call's guard step cannot be written
        conn.execute(
            text(
                "CREATE TRIGGER fail_guard BEFORE INSERT ON steps "
                "WHEN NEW.kind = 'guard' AND NEW.data LIKE '%approval_id%' "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        )
    with contextlib.suppress(Exception):
        desk.runtime.resume(run.id, ScriptedModel(parse_script(SCRIPT[2:])))
    assert desk.access is not None
    kinds = [e.kind for e in desk.access.audit.events(run_id=run.id)]
    assert "approval.token_used" not in kinds  # no orphan: it went with the failed step
    assert "approval.approved" in kinds
    stored = desk.store.get_run(run.id)
    assert not [s for s in stored.steps if s.kind is StepKind.TOOL and "return" in s.name]
    order = desk.data.order(str(approval["arguments"]["order_id"]))
    assert order is not None and order["status"] == "delivered"
    desk.store.close()
