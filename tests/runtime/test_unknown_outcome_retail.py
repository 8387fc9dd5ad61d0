"""The retail writes' reconcile hook: a confirmed cancellation that commits and then answers
after its deadline is found under its idempotency key, not run again and not escalated."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sqlalchemy import select

from tether.core.envelope import Envelope, RetryPolicy
from tether.core.types import DecisionKind, Run, StepKind
from tether.domains.retail.db import RetailDB, idempotency_table
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.effects import recorded_write
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel
from tether.runtime import Runtime
from tether.runtime.once import action_scope
from tether.sdk import Desk
from tether.sdk.scenarios import load_scenarios
from tether.store import RunStore
from tether.tools.execute import idempotency_key
from tether.tools.workers import shared_pool

ORDER = "#W4566809"


def _late_cancel(desk: Desk, commit: bool) -> Runtime:
    """The desk with a cancel tool that (optionally) commits, then answers past its deadline,
    with one attempt only: the envelope may not try it again."""
    cancel = desk.runtime.tools.get("cancel_pending_order")
    assert cancel is not None and cancel.reconcile is not None

    def late(**arguments: Any) -> Any:
        result = cancel.fn(**arguments) if commit else None
        time.sleep(1.5)
        return result

    # the reconcile hook gets the same deadline: long enough for a lookup on a loaded machine
    envelope = Envelope(timeout_s=0.5, retry=RetryPolicy.never())
    patched = dataclasses.replace(cancel.with_envelope(envelope), fn=late)
    tools = desk.runtime.tools
    registry = type(tools)(
        patched if name == patched.name else tools.get(name)  # type: ignore[misc]
        for name in tools.names()
    )
    return dataclasses.replace(desk.runtime, tools=registry)


def _confirmed_cancel(runtime: Runtime) -> Run:
    scenario = next(
        s for s in load_scenarios(None, RETAIL) if s.name == "cancel-after-confirmation"
    )
    asked, answered = scenario.turns[0], scenario.turns[1]
    assert asked.user is not None and answered.user is not None
    conversation = runtime.converse(scenario.principal)
    conversation.send(asked.user, ScriptedModel(asked.model))
    run = conversation.send(answered.user, ScriptedModel(answered.model)).run
    assert shared_pool().wait_idle(5.0)
    return run


def test_a_committed_cancellation_whose_answer_was_lost_is_reconciled(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    run = _confirmed_cancel(_late_cancel(desk, commit=True))
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    step = [s.data for s in run.steps if s.kind is StepKind.TOOL][-1]
    assert step["ok"] is True and step["reconciled"] is True
    assert step["attempts"] == [
        {**step["attempts"][0], "code": "TOOL_TIMEOUT"},
        {"reconcile": "found"},
    ]
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "cancelled"
    refunds = [p for p in order["payment_history"] if p["transaction_type"] == "refund"]
    assert len(refunds) == 1
    assert step["output"]["status"] == "cancelled"
    # the key belongs to the confirmed pending action, not to the run that executed it
    nonce = step["call_id"].removeprefix("confirmed-")
    arguments = {"order_id": ORDER, "reason": step["arguments"]["reason"]}
    assert step["idempotency_key"] == idempotency_key(
        action_scope("run_other", step["call_id"]), "cancel_pending_order", arguments
    )
    assert action_scope("run_other", step["call_id"]) == f"pending:{nonce}"
    with desk.data.engine.connect() as conn:
        keys = conn.execute(select(idempotency_table.c.key)).scalars().all()
    assert keys == [step["idempotency_key"]]
    store.close()


def test_a_cancellation_that_did_not_commit_runs_once_more_under_its_key(
    sqlite_url: str,
) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    runtime = _late_cancel(desk, commit=False)
    cancel = runtime.tools.get("cancel_pending_order")
    assert cancel is not None
    hung = [True]
    original = desk.runtime.tools.get("cancel_pending_order")
    assert original is not None

    def hang_once(**arguments: Any) -> Any:
        if hung and hung.pop():
            time.sleep(1.5)  # never reaches the store: no effect, no key recorded
            return None
        return original.fn(**arguments)

    registry = type(runtime.tools)(
        dataclasses.replace(cancel, fn=hang_once) if n == cancel.name else runtime.tools.get(n)  # type: ignore[misc]
        for n in runtime.tools.names()
    )
    run = _confirmed_cancel(dataclasses.replace(runtime, tools=registry))
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    step = [s.data for s in run.steps if s.kind is StepKind.TOOL][-1]
    codes = [a.get("code", a.get("reconcile")) for a in step["attempts"]]
    assert codes == ["TOOL_TIMEOUT", "absent", None]
    order = desk.data.order(ORDER)
    assert order is not None and order["status"] == "cancelled"
    store.close()


def test_the_hook_reads_the_key_the_write_committed_with() -> None:
    db = RetailDB.fresh_copy()
    hook = recorded_write(db)
    assert hook({}, "idem_missing") is None
    with db.transaction() as uow:
        uow.record_result("idem_1", "cancel_pending_order", {"order_id": ORDER})
    assert hook({}, "idem_1") == {"order_id": ORDER}
    db.engine.dispose()
