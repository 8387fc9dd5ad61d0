"""Writes whose outcome is unknown: never retried blindly, reconciled through the tool's hook,
else the run escalates; keys follow the logical action, so a retry in a later turn is a replay.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import select

from tests.envelope.conftest import ask, script
from tests.envelope.conftest import make_runtime as _runtime
from tests.envelope.test_runtime import Crash, CrashingExecutor
from tether.core.envelope import Envelope, RetryPolicy
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind, RiskClass, Run, RunStatus, StepKind
from tether.runtime import Runtime
from tether.store import RunStore
from tether.store.tool_results import tool_results
from tether.tools import current_idempotency_key, make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import ToolExecutor
from tether.tools.registry import Tool
from tether.tools.shared_state import InProcessState
from tether.tools.workers import shared_pool

LATE_S = 0.3  # the payment service answers this long after the charge commits
TIMEOUT_S = 0.1


class Payments:
    """A payment service that charges at once and answers late; it logs the key each charge came
    with but does not deduplicate by it (it does not honour idempotency keys)."""

    def __init__(self, late_s: float = LATE_S) -> None:
        self.late_s = late_s
        self.charges: list[int] = []
        self.keys: list[str | None] = []
        self.lock = threading.Lock()

    def charge(self, account: str, cents: int) -> dict[str, Any]:
        with self.lock:
            self.charges.append(cents)
            self.keys.append(current_idempotency_key())
            receipt = {"charge": len(self.charges), "account": account, "cents": cents}
        time.sleep(self.late_s)  # the charge has committed; the answer comes after the deadline
        return receipt

    def find(self, arguments: Mapping[str, Any], key: str) -> dict[str, Any] | None:
        """The reconcile hook: the receipt of the charge made under `key`, if any."""
        with self.lock:
            for number, (cents, seen) in enumerate(zip(self.charges, self.keys, strict=True)):
                if seen == key:
                    return {"charge": number + 1, "account": arguments["account"], "cents": cents}
        return None


def make_runtime(
    store: RunStore, tools: list[Tool], executor: ToolExecutor | None = None
) -> Runtime:
    """The envelope tests' runtime, its agent free to write (these tests are not about policy)."""
    runtime = _runtime(store, tools, executor)
    agents = {
        name: dataclasses.replace(agent, allow_writes_without_policy=True)
        for name, agent in runtime.agents.items()
    }
    return dataclasses.replace(runtime, agents=agents)


def pay_tool(payments: Payments, reconcile: Any = None, idempotent: bool = False) -> Tool:
    def pay(account: str, cents: int) -> dict[str, Any]:
        """Charge an account."""
        return payments.charge(account, cents)

    return make_tool(
        pay,
        risk=RiskClass.IRREVERSIBLE,
        timeout_s=TIMEOUT_S,
        idempotent=idempotent,
        reconcile=reconcile,
    )


PAY = {"tool": "pay", "args": {"account": "A1", "cents": 100}}
RETRYING = [PAY, PAY, {"answer": "Paid [tool:1]."}]  # a model that tries the charge again


def tool_steps(run: Run) -> list[Mapping[str, Any]]:
    return [s.data for s in run.steps if s.kind is StepKind.TOOL]


def seen(data: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(data["messages"][0]["content"])  # type: ignore[no-any-return]


def settle(payments: Payments) -> None:
    """Wait until the abandoned attempts have finished, so every charge that will happen has."""
    assert shared_pool().wait_idle(5.0)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def test_a_charge_that_commits_then_answers_late_happens_once_and_the_run_escalates(
    store: RunStore,
) -> None:
    payments = Payments()
    run = ask(make_runtime(store, [pay_tool(payments)]), RETRYING)
    settle(payments)
    assert payments.charges == [100]  # on the old ledger: [100, 100]
    assert run.decision is not None and run.decision.kind is DecisionKind.ESCALATION
    assert run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.OUTCOME_UNKNOWN
    (step,) = tool_steps(run)  # the model never got to propose the charge again
    error = seen(step)["error"]
    assert error["code"] == "OUTCOME_UNKNOWN" and error["retryable"] is False
    assert [a["code"] for a in step["attempts"] if "attempt" in a] == ["TOOL_TIMEOUT"]
    assert store.get_run(run.id).status is RunStatus.COMPLETED


def test_a_reconciled_charge_is_the_recorded_outcome_and_a_retry_replays_it(
    store: RunStore,
) -> None:
    payments = Payments()
    run = ask(make_runtime(store, [pay_tool(payments, payments.find)]), RETRYING)
    settle(payments)
    assert payments.charges == [100]
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    first, second = tool_steps(run)
    assert first["ok"] is True and first["reconciled"] is True
    assert first["output"] == {"charge": 1, "account": "A1", "cents": 100}
    # the next turn's identical charge is the same action: same key, the recorded result
    assert second["idempotency_key"] == first["idempotency_key"] == payments.keys[0]
    assert second["replayed"] is True and second["output"] == first["output"]
    with store.engine.connect() as conn:
        (row,) = conn.execute(select(tool_results.c.status, tool_results.c.outcome)).all()
    assert row.status == "done" and json.loads(row.outcome)["output"]["charge"] == 1


def test_the_same_write_in_two_model_turns_has_one_key_and_runs_once(store: RunStore) -> None:
    payments = Payments(late_s=0.0)
    run = ask(make_runtime(store, [pay_tool(payments)]), RETRYING)
    assert payments.charges == [100]
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    first, second = tool_steps(run)
    assert first["idempotency_key"] == second["idempotency_key"]
    assert "replayed" not in first and second["replayed"] is True
    # another run is another action: its own key and its own charge
    other = ask(make_runtime(store, [pay_tool(payments)]), [PAY, {"answer": "Paid [tool:1]."}])
    assert payments.charges == [100, 100]
    assert tool_steps(other)[0]["idempotency_key"] != first["idempotency_key"]


def _absent(arguments: Mapping[str, Any], key: str) -> None:
    return None


def _broken(arguments: Mapping[str, Any], key: str) -> Any:
    raise ConnectionError("the payment service's lookup is down too")


@pytest.mark.parametrize(
    ("hook", "why"),
    [(None, "no hook"), (_absent, "did not happen"), (_broken, "the hook fails")],
)
def test_without_a_reconciled_outcome_a_write_that_is_not_idempotent_escalates(
    store: RunStore, hook: Any, why: str
) -> None:
    payments = Payments()
    run = ask(make_runtime(store, [pay_tool(payments, hook)]), RETRYING)
    settle(payments)
    assert payments.charges == [100], why
    assert run.decision is not None and run.decision.kind is DecisionKind.ESCALATION
    assert run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.OUTCOME_UNKNOWN
    (step,) = tool_steps(run)
    assert seen(step)["error"]["retryable"] is False
    assert "reconciled" not in step


def test_an_idempotent_write_that_did_not_happen_runs_once_more_under_the_same_key(
    store: RunStore,
) -> None:
    """The first attempt times out before charging; the hook says no charge was made, so
    the call runs once more with the same key (safe: the tool honours it)."""
    slow = [True]
    charges: dict[str, int] = {}

    def pay(account: str, cents: int) -> dict[str, Any]:
        """Charge an account, once per idempotency key."""
        if slow and slow.pop():
            time.sleep(LATE_S)  # hangs before charging: the envelope gives up on it
        key = current_idempotency_key()
        assert key is not None
        charges.setdefault(key, cents)
        return {"account": account, "cents": charges[key]}

    def find(arguments: Mapping[str, Any], key: str) -> Any:
        return {"account": arguments["account"], "cents": charges[key]} if key in charges else None

    envelope = Envelope(timeout_s=TIMEOUT_S, retry=RetryPolicy.never())
    tool = make_tool(pay, risk=RiskClass.WRITE, envelope=envelope, idempotent=True, reconcile=find)
    run = ask(make_runtime(store, [tool]), [PAY, {"answer": "Paid [tool:1]."}])
    assert shared_pool().wait_idle(5.0)
    assert list(charges.values()) == [100]  # the late first attempt found the key recorded
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    (step,) = tool_steps(run)
    assert step["ok"] is True
    assert [a["code"] for a in step["attempts"] if "attempt" in a] == ["TOOL_TIMEOUT", None]
    assert step["idempotency_key"] in charges


def test_a_lost_connection_after_dispatch_is_an_unknown_outcome(store: RunStore) -> None:
    charges: list[int] = []

    def pay(account: str, cents: int) -> dict[str, Any]:
        """Charge an account."""
        charges.append(cents)
        raise ConnectionResetError("the connection dropped before the reply")

    tool = make_tool(pay, risk=RiskClass.IRREVERSIBLE)
    run = ask(make_runtime(store, [tool]), RETRYING)
    assert charges == [100]
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.OUTCOME_UNKNOWN


def test_a_refused_connection_is_a_known_failure_the_model_may_retry(store: RunStore) -> None:
    refusals = [True]
    charges: list[int] = []

    def pay(account: str, cents: int) -> dict[str, Any]:
        """Charge an account."""
        if refusals and refusals.pop():
            raise ConnectionRefusedError("nothing listens")  # nothing was sent
        charges.append(cents)
        return {"cents": cents}

    tool = make_tool(pay, risk=RiskClass.IRREVERSIBLE)
    run = ask(make_runtime(store, [tool]), RETRYING)
    assert charges == [100]
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    first, second = tool_steps(run)
    assert seen(first)["error"] == {
        "code": "TOOL_UNAVAILABLE",
        "message": "pay could not connect (ConnectionRefusedError)",
        "retryable": True,
        "hint": "1 attempt(s) failed; try again later, another way, or hand off to a human",
    }
    # the retry under the same key runs: the recorded failure says nothing was done
    assert second["ok"] is True and "replayed" not in second
    assert second["idempotency_key"] == first["idempotency_key"]


def test_a_charge_interrupted_by_a_crash_is_reconciled_when_the_run_resumes(
    store: RunStore,
) -> None:
    """The process dies after the charge went out and before its result was recorded; the
    resumed run asks the hook instead of charging again or escalating."""
    payments = Payments(late_s=0.0)
    tool = pay_tool(payments, payments.find)
    script_turns = [PAY, {"answer": "Paid [tool:1]."}]
    executor = EnvelopeExecutor(InProcessState())
    dying = make_runtime(store, [tool], CrashingExecutor(executor, "pay", "after"))
    with pytest.raises(Crash):
        ask(dying, script_turns)
    (stopped,) = store.list_runs()
    assert stopped.decision is None and payments.charges == [100]
    run = make_runtime(store, [tool]).resume(stopped.id, script(script_turns))
    assert payments.charges == [100]
    assert run.decision is not None and run.decision.kind is DecisionKind.ACTION
    (step,) = tool_steps(run)
    assert step["reconciled"] is True and step["output"]["charge"] == 1
    assert step["attempts"] == [{"reconcile": "found"}]
