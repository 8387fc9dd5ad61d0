"""The envelope inside governed runs: what the record shows, how failures end a run, and
exactly-once side effects across retries, repeated calls and resumed runs."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select

from tether.core.envelope import Envelope, FallbackPolicy, RetryPolicy
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, RiskClass, RunStatus, StepKind
from tether.domains.retail.db import RetailDB, idempotency_table
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel
from tether.runtime import Runtime
from tether.sdk.scenarios import load_scenarios
from tether.store import RunStore
from tether.store.tool_results import tool_results
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, ToolOutcome, current_idempotency_key
from tether.tools.registry import Tool
from tether.tools.shared_state import InProcessState
from tether.tools.workers import shared_pool

from .conftest import ask, make_runtime, script


class Ledger:
    """A side-effecting system: a list of transfers, optionally deduplicated by key."""

    def __init__(self, honour_keys: bool) -> None:
        self.honour_keys = honour_keys
        self.applied: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}

    def transfer(self, account: str, cents: int) -> dict[str, Any]:
        key = current_idempotency_key() if self.honour_keys else None
        if key is not None and key in self.by_key:
            return self.by_key[key]
        receipt = {"receipt": len(self.applied) + 1, "account": account, "cents": cents}
        self.applied.append(receipt)
        if key is not None:
            self.by_key[key] = receipt
        return receipt


def transfer_tool(ledger: Ledger, **settings: Any) -> Tool:
    def transfer(account: str, cents: int) -> dict[str, Any]:
        """Move money."""
        return ledger.transfer(account, cents)

    return make_tool(
        transfer, risk=RiskClass.IRREVERSIBLE, idempotent=ledger.honour_keys, **settings
    )


def lookup_tool(fn: Any, envelope: Envelope | None = None) -> Tool:
    def lookup(account: str) -> dict[str, Any]:
        """Read an account."""
        return fn(account)  # type: ignore[no-any-return]

    return make_tool(lookup, envelope=envelope)


def tool_steps(run: Any) -> list[Mapping[str, Any]]:
    return [s.data for s in run.steps if s.kind is StepKind.TOOL]


def observation(data: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(data["messages"][0]["content"])  # type: ignore[no-any-return]


def test_a_tool_step_records_every_attempt_and_escalates_through_the_fallback(
    store: RunStore,
) -> None:
    def down(account: str) -> dict[str, Any]:
        raise TetherError(ErrorCode.UPSTREAM_ERROR, "the core banking system answered 502")

    envelope = Envelope(retry=RetryPolicy(max_attempts=3), fallback=(FallbackPolicy.escalate(),))
    runtime = make_runtime(store, [lookup_tool(down, envelope)])
    run = ask(runtime, [{"tool": "lookup", "args": {"account": "A1"}}, {"answer": "never"}])
    assert run.decision is not None and run.decision.kind is DecisionKind.ESCALATION
    assert run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.UPSTREAM_ERROR
    (step,) = tool_steps(store.get_run(run.id))
    assert [a["code"] for a in step["attempts"] if "attempt" in a] == ["UPSTREAM_ERROR"] * 3
    assert step["attempts"][-1] == {"fallback": "escalate", "code": "UPSTREAM_ERROR"}
    assert step["fallback"] == "escalate" and step["escalated"] is True


def test_a_failure_the_model_can_handle_comes_back_as_a_structured_observation(
    store: RunStore,
) -> None:
    def down(account: str) -> dict[str, Any]:
        raise TimeoutError("socket read timed out")

    runtime = make_runtime(store, [lookup_tool(down, Envelope(retry=RetryPolicy(max_attempts=2)))])
    run = ask(runtime, [{"tool": "lookup", "args": {"account": "A1"}}, {"answer": "Try later."}])
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    (step,) = tool_steps(run)
    seen = observation(step)
    assert seen["error"]["code"] == "TOOL_TIMEOUT" and seen["error"]["retryable"] is True
    assert "2 attempt(s) failed" in seen["error"]["hint"]
    assert "Traceback" not in step["messages"][0]["content"]


def test_a_stale_cached_result_reaches_the_model_marked_with_its_age(store: RunStore) -> None:
    answers = [{"account": "A1", "balance": 10}]

    def flaky(account: str) -> dict[str, Any]:
        if answers:
            return answers.pop()
        raise ConnectionError("refused")

    envelope = Envelope(retry=RetryPolicy.never(), fallback=(FallbackPolicy.cached(),))
    runtime = make_runtime(store, [lookup_tool(flaky, envelope)])
    turn = {"tool": "lookup", "args": {"account": "A1"}}
    run = ask(runtime, [turn, turn, {"answer": "Balance 10."}])
    fresh, stale = tool_steps(run)
    assert "stale" not in observation(fresh)
    seen = observation(stale)
    assert seen["stale"] is True and seen["output"] == {"account": "A1", "balance": 10}
    assert stale["fallback"] == "cached" and stale["stale_s"] >= 0
    # another principal never sees alice's cached result
    other = ask(runtime, [turn, {"answer": "?"}], user="bob")
    assert observation(tool_steps(other)[0])["error"]["code"] == "TOOL_UNAVAILABLE"


def test_the_same_write_proposed_twice_in_a_turn_runs_once(store: RunStore) -> None:
    ledger = Ledger(honour_keys=False)
    runtime = make_runtime(store, [transfer_tool(ledger)])
    call = {"tool": "transfer", "args": {"account": "A1", "cents": 500}}
    run = ask(runtime, [{"tool_calls": [call, call]}, {"answer": "Done."}])
    assert len(ledger.applied) == 1
    first, second = tool_steps(run)
    assert first["idempotency_key"] == second["idempotency_key"]
    assert second["replayed"] is True and second["output"] == first["output"]
    # a later turn proposing the same transfer is the same action: one key, a replay
    again = ask(runtime, [{"tool": "transfer", "args": call["args"]}] * 2 + [{"answer": "ok"}])
    assert len(ledger.applied) == 2  # one per run
    keys = {s["idempotency_key"] for s in tool_steps(again)}
    assert len(keys) == 1 and tool_steps(again)[1]["replayed"] is True
    with store.engine.connect() as conn:
        rows = conn.execute(select(tool_results.c.status, tool_results.c.tool)).all()
    assert len(rows) == 2 and {tuple(r) for r in rows} == {("done", "transfer")}


def test_reads_never_touch_the_result_ledger(store: RunStore) -> None:
    runtime = make_runtime(store, [lookup_tool(lambda a: {"account": a})])
    ask(runtime, [{"tool": "lookup", "args": {"account": "A1"}}, {"answer": "ok"}])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tool_results)).scalar_one() == 0


def test_a_retried_retail_write_that_already_committed_is_replayed_not_repeated(
    sqlite_url: str,
) -> None:
    """The first attempt commits the cancellation, then hangs past its timeout; the retry
    finds the idempotency key in the retail database and returns the recorded result."""
    store = RunStore.open(sqlite_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    slow_once = [True]
    cancel = desk.runtime.tools.get("cancel_pending_order")
    assert cancel is not None and cancel.spec.idempotent

    def cancel_then_hang(**arguments: Any) -> Any:
        result = cancel.fn(**arguments)
        if slow_once.pop() if slow_once else False:
            time.sleep(0.3)  # the reply is lost: the envelope has given up on this attempt
        return result

    envelope = Envelope(timeout_s=0.1, retry=RetryPolicy(max_attempts=3, base_delay_s=0.0))
    patched = dataclasses.replace(cancel.with_envelope(envelope), fn=cancel_then_hang)
    tools = desk.runtime.tools
    registry = type(tools)(
        patched if name == patched.name else tools.get(name)  # type: ignore[misc]
        for name in tools.names()
    )
    runtime = dataclasses.replace(desk.runtime, tools=registry)
    scenario = next(
        s for s in load_scenarios(None, RETAIL) if s.name == "cancel-after-confirmation"
    )
    asked, answered = scenario.turns[0], scenario.turns[1]  # the request, then the yes
    assert asked.user is not None and answered.user is not None
    conversation = runtime.converse(scenario.principal)
    conversation.send(asked.user, ScriptedModel(asked.model))
    run = conversation.send(answered.user, ScriptedModel(answered.model)).run
    assert shared_pool().wait_idle(5.0)
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    step = tool_steps(run)[-1]
    assert [a["code"] for a in step["attempts"]] == ["TOOL_TIMEOUT", None]
    order = desk.data.order("#W4566809")
    assert order is not None and order["status"] == "cancelled"
    refunds = [p for p in order["payment_history"] if p["transaction_type"] == "refund"]
    assert len(refunds) == 1
    with desk.data.engine.connect() as conn:
        keys = conn.execute(select(idempotency_table.c.key)).scalars().all()
    assert keys == [step["idempotency_key"]]
    store.close()


class Crash(BaseException):
    """Stands in for the process dying: nothing in the runtime catches it."""


class CrashingExecutor:
    """Dies before or after the Nth execution of `tool`, like a process killed there."""

    def __init__(self, inner: Any, tool: str, when: str) -> None:
        self.inner, self.tool, self.when = inner, tool, when

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        if tool.name == self.tool and self.when == "before":
            raise Crash
        outcome: ToolOutcome = self.inner.execute(tool, arguments, call)
        if tool.name == self.tool and self.when == "after":
            raise Crash
        return outcome


TRANSFER_SCRIPT = [
    {
        "tool_calls": [
            {"tool": "lookup", "args": {"account": "A1"}},
            {"tool": "transfer", "args": {"account": "A1", "cents": 500}},
        ]
    },
    {"answer": "Moved 5.00 [tool:2]."},
]


@pytest.mark.parametrize(
    ("honour_keys", "when", "applied", "decision", "code"),
    [
        (True, "before", 1, DecisionKind.ACTION, None),
        (True, "after", 1, DecisionKind.ACTION, None),
        (False, "before", 0, DecisionKind.ESCALATION, ErrorCode.OUTCOME_UNKNOWN),
        (False, "after", 1, DecisionKind.ESCALATION, ErrorCode.OUTCOME_UNKNOWN),
    ],
)
def test_a_resumed_run_executes_a_side_effect_at_most_once(
    store: RunStore,
    honour_keys: bool,
    when: str,
    applied: int,
    decision: DecisionKind,
    code: ErrorCode | None,
) -> None:
    ledger = Ledger(honour_keys)
    reads: list[str] = []

    def read(account: str) -> dict[str, Any]:
        reads.append(account)
        return {"account": account}

    tools = [lookup_tool(read), transfer_tool(ledger)]
    executor = EnvelopeExecutor(InProcessState())
    dying = make_runtime(store, tools, CrashingExecutor(executor, "transfer", when))
    with pytest.raises(Crash):
        ask(dying, TRANSFER_SCRIPT)
    (stopped,) = store.list_runs()
    assert stopped.status is RunStatus.RUNNING and stopped.decision is None

    fresh: Runtime = make_runtime(store, tools)
    run = fresh.resume(stopped.id, script(TRANSFER_SCRIPT))
    assert len(ledger.applied) == applied
    assert reads == ["A1"]  # the recorded read is not repeated
    assert run.decision is not None and run.decision.kind is decision
    assert (run.decision.reason.code if run.decision.reason else None) is code
    stored = store.get_run(stopped.id)
    assert stored.status is RunStatus.COMPLETED and stored.decision == run.decision
    # resuming a finished run changes nothing
    assert fresh.resume(stopped.id, script(TRANSFER_SCRIPT)).decision == run.decision
    assert len(ledger.applied) == applied


def test_resuming_an_unknown_run_is_an_error(store: RunStore) -> None:
    runtime = make_runtime(store, [lookup_tool(lambda a: {})])
    with pytest.raises(TetherError) as caught:
        runtime.resume("run_missing", script([{"answer": "x"}]))
    assert caught.value.code is ErrorCode.RUN_NOT_FOUND


def test_a_tool_that_exits_or_hangs_forever_never_takes_the_run_down(store: RunStore) -> None:
    release = threading.Event()

    def leave(account: str) -> dict[str, Any]:
        raise SystemExit(1)

    def hang(account: str) -> dict[str, Any]:
        release.wait()
        return {}

    quick = Envelope(timeout_s=0.2, retry=RetryPolicy.never())
    exits = make_tool(leave, name="lookup")
    hangs = make_tool(hang, name="audit", envelope=quick)
    runtime = make_runtime(store, [exits, hangs])
    turns = [
        {"tool": "lookup", "args": {"account": "A1"}},
        {"tool": "audit", "args": {"account": "A1"}},
        {"answer": "Both systems are failing; please try later."},
    ]
    try:
        run = ask(runtime, turns)
    finally:
        release.set()
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    errors = [observation(s)["error"] for s in tool_steps(run)]
    assert [e["code"] for e in errors] == ["TOOL_ERROR", "TOOL_TIMEOUT"]
    assert "SystemExit" in errors[0]["message"]
    assert store.get_run(run.id).status is RunStatus.COMPLETED
