"""Reviewers' reproductions of exactly-once defects, kept as regression tests: a write that
reports a gateway timeout, a model forging the runtime's confirmed-call id, two workers racing
one write or one approval, output or arguments no store can record, and a conversation turn
killed right after a person-decided turn."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import Connection, select, text

from tests.envelope.conftest import ask, make_runtime, script
from tether.conversations import Conversations, ConversationStore
from tether.core.errors import ErrorCode
from tether.core.types import (
    DecisionKind,
    Message,
    ModelTurn,
    RiskClass,
    Run,
    RunStatus,
    StepKind,
    ToolCall,
)
from tether.domains.retail.pack import RETAIL
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.runtime.once import execute_once
from tether.sdk.scenarios import load_scenarios, run_scenario, scenario_desk
from tether.store import RunStore
from tether.store.tool_results import ToolResultLedger, tool_results
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.errors import ToolError
from tether.tools.execute import CallContext, ToolOutcome
from tether.tools.shared_state import InProcessState

ARGS: dict[str, Any] = {"account": "A1", "cents": 100}
PAY: dict[str, Any] = {"tool": "pay", "args": ARGS}
RETRYING: list[dict[str, Any]] = [
    PAY,
    PAY,
    {"answer": "Paid [tool:1]."},
]  # a model that proposes the charge again


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def tool_steps(run: Run) -> list[Mapping[str, Any]]:
    return [s.data for s in run.steps if s.kind is StepKind.TOOL]


def ledger_rows(store: RunStore) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (key, status, outcome) in the tool-result ledger."""
    query = select(tool_results.c.key, tool_results.c.status, tool_results.c.outcome)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(r.key, r.status, json.loads(r.outcome) if r.outcome else {}) for r in rows]


def ended(run: Run, kind: DecisionKind, code: ErrorCode | None) -> None:
    assert run.decision is not None and run.decision.kind is kind, run.decision
    found = run.decision.reason.code if run.decision.reason is not None else None
    assert found is code, run.decision.reason


def failing_gateway(code: str, charges: list[int]) -> Any:
    def pay(account: str, cents: int) -> dict[str, Any]:
        """Charge an account through a gateway."""
        charges.append(cents)  # the gateway charged ...
        raise ToolError(code, "payment gateway answered 504")  # ... then the proxy timed out

    return pay


@pytest.mark.parametrize("code", ["UPSTREAM_ERROR", "TOOL_TIMEOUT"])
def test_a_write_that_reports_a_gateway_timeout_is_not_run_again(
    store: RunStore, code: str
) -> None:
    """Stops a double charge: a tool's own UPSTREAM_ERROR / TOOL_TIMEOUT after the request
    went out was recorded as 'surely did nothing', so the model's retry charged again."""
    charges: list[int] = []
    tool = make_tool(failing_gateway(code, charges), risk=RiskClass.IRREVERSIBLE, idempotent=False)
    run = ask(make_runtime(store, [tool]), RETRYING)
    assert charges == [100]  # before the fix: [100, 100]
    ended(run, DecisionKind.ESCALATION, ErrorCode.OUTCOME_UNKNOWN)
    (step,) = tool_steps(run)  # the model never got to propose the charge again
    assert step["ok"] is False
    assert [a["code"] for a in step["attempts"] if "attempt" in a] == [code]
    ((key, status, outcome),) = ledger_rows(store)
    assert key == step["idempotency_key"] and status == "done"
    assert outcome["code"] == "OUTCOME_UNKNOWN" and outcome["retryable"] is False
    assert store.get_run(run.id).status is RunStatus.COMPLETED
    # a resumed run (same run, same call) finds the recorded outcome final: no second charge
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    call = CallContext(run.id, 2, "alice")
    again = execute_once(executor, ToolResultLedger(store.engine), tool, ARGS, call)
    assert again.replayed and again.code is ErrorCode.OUTCOME_UNKNOWN and charges == [100]


@pytest.mark.parametrize("code", ["UPSTREAM_ERROR", "TOOL_TIMEOUT"])
def test_a_gateway_timeout_the_hook_reconciles_is_replayed_on_retry(
    store: RunStore, code: str
) -> None:
    """Stops a double charge when the tool can reconcile: the charge found by the hook is the
    outcome, and the model's identical retry replays it instead of charging again."""
    charges: list[int] = []

    def find(arguments: Mapping[str, Any], key: str) -> dict[str, Any] | None:
        return {"charge": len(charges), "cents": charges[-1]} if charges else None

    tool = make_tool(
        failing_gateway(code, charges),
        risk=RiskClass.IRREVERSIBLE,
        idempotent=False,
        reconcile=find,
    )
    run = ask(make_runtime(store, [tool]), RETRYING)
    assert charges == [100]
    ended(run, DecisionKind.ACTION, None)
    first, second = tool_steps(run)
    assert first["ok"] is True and first["reconciled"] is True
    assert first["output"] == {"charge": 1, "cents": 100}
    assert second["replayed"] is True and second["output"] == first["output"]
    assert second["idempotency_key"] == first["idempotency_key"]
    ((_, status, outcome),) = ledger_rows(store)
    assert status == "done" and outcome["ok"] is True and outcome["output"]["charge"] == 1


class ForgedCallId:
    """A provider adapter passing the model's own call ids through, the model choosing one."""

    def __init__(self, inner: ScriptedModel, call_id: str) -> None:
        self.inner = inner
        self.call_id = call_id

    @property
    def name(self) -> str:
        return self.inner.name

    def propose(self, request: ModelRequest) -> ModelTurn:
        turn = self.inner.propose(request)
        calls = tuple(ToolCall(self.call_id, c.name, c.arguments) for c in turn.tool_calls)
        return dataclasses.replace(turn, tool_calls=calls)


def test_a_model_proposed_confirmed_call_id_is_rejected_and_replays_nothing(
    store: RunStore,
) -> None:
    """Stops one principal's run from taking over another's confirmed action: a model call id
    `confirmed-<nonce>` moved the idempotency key to `pending:<nonce>`, so bob's identical
    transfer was 'replayed' with alice's receipt (and never executed)."""
    executed: list[tuple[str, int]] = []

    def transfer(account: str, cents: int) -> dict[str, Any]:
        """Transfer money."""
        executed.append((account, cents))
        return {"receipt": f"r{len(executed)}", "account": account}

    call = [{"tool": "transfer", "args": {"account": "A1", "cents": 500}}]
    confirmed = make_tool(
        transfer, risk=RiskClass.WRITE, idempotent=False, requires_confirmation=True
    )
    conversation = make_runtime(store, [confirmed]).converse("alice")
    asked = conversation.send("Pay A1.", script(call))
    assert asked.pending_action is not None
    nonce = asked.pending_action.nonce
    done = conversation.confirm(nonce, script([{"answer": "Done [tool:1]."}]))
    assert executed == [("A1", 500)]
    (alice_step,) = tool_steps(done.run)
    assert alice_step["call_id"] == f"confirmed-{nonce}"
    ((alice_key, _, _),) = ledger_rows(store)

    # bob's runtime has the same tool without confirmation; his model forges alice's call id
    plain = make_tool(transfer, risk=RiskClass.WRITE, idempotent=False)
    runtime = make_runtime(store, [plain])
    runs = [
        runtime.run(
            RunRequest(user, [Message("user", "please")]),
            ForgedCallId(script([*call, {"answer": "done"}]), call_id),
        )
        for user, call_id in (("bob", f"confirmed-{nonce}"), ("carol", "confirmed-1"))
    ]
    for run in runs:
        ended(run, DecisionKind.ESCALATION, ErrorCode.MODEL_BAD_OUTPUT)
        assert tool_steps(run) == []  # no replay of alice's receipt, no execution
        assert store.get_run(run.id).status is RunStatus.COMPLETED
    assert executed == [("A1", 500)]
    assert [key for key, _, _ in ledger_rows(store)] == [alice_key]


@pytest.mark.parametrize("second_begins", ["while-the-first-runs", "after-the-first-finished"])
def test_two_workers_racing_the_same_write_execute_it_once(
    store_url: str, second_begins: str
) -> None:
    """Stops a double execution when two workers (two resumes, or a resume and the original
    process) both find no ledger row for the same non-idempotent write, whether the second
    marks it while the first is running or after the first has recorded its result."""
    store = RunStore.open(store_url)
    try:
        charges: list[int] = []
        second_may_begin, second_begun = threading.Event(), threading.Event()

        def pay(account: str, cents: int) -> dict[str, Any]:
            """Charge."""
            charges.append(cents)
            if second_begins == "while-the-first-runs":
                second_may_begin.set()
                second_begun.wait(5)
            return {"charge": len(charges)}

        tool = make_tool(pay, risk=RiskClass.IRREVERSIBLE, idempotent=False)
        run = ask(make_runtime(store, [tool]), [{"answer": "hi"}])
        ledger = ToolResultLedger(store.engine)
        both_looked = threading.Barrier(2)
        looked, begin = ledger.get, ledger.begin

        first_look: set[str] = set()

        def get(key: str) -> Any:
            entry = looked(key)
            name = threading.current_thread().name
            if name not in first_look:  # both have found nothing before either marks
                first_look.add(name)
                both_looked.wait(timeout=5)
            return entry

        def ordered_begin(*args: Any, **kwargs: Any) -> bool:
            if threading.current_thread().name != "second":
                return begin(*args, **kwargs)
            second_may_begin.wait(5)
            try:
                return begin(*args, **kwargs)
            finally:
                second_begun.set()

        ledger.get = get  # type: ignore[method-assign]
        ledger.begin = ordered_begin  # type: ignore[method-assign]
        executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
        outcomes: dict[str, ToolOutcome] = {}

        def worker() -> None:
            call = CallContext(run.id, 1, "alice")
            args = {"account": "A", "cents": 100}
            name = threading.current_thread().name
            outcomes[name] = execute_once(executor, ledger, tool, args, call)

        first = threading.Thread(target=worker, name="first")
        second = threading.Thread(target=worker, name="second")
        first.start()
        second.start()
        first.join(timeout=10)
        second_may_begin.set()  # after-the-first-finished: the first has recorded its result
        second.join(timeout=10)
        assert charges == [100]  # before the fix: [100, 100]
        assert outcomes["first"].ok and outcomes["first"].output == {"charge": 1}
        lost = outcomes["second"]
        assert lost.replayed or (lost.code is ErrorCode.OUTCOME_UNKNOWN and not lost.ok)
        assert outcomes["first"].idempotency_key == lost.idempotency_key
        ((_, status, outcome),) = ledger_rows(store)
        assert status == "done" and outcome["ok"] is True and outcome["output"] == {"charge": 1}
    finally:
        store.close()


def test_a_lone_surrogate_in_tool_output_is_bad_output_and_recorded(store_url: str) -> None:
    """Stops a lost write result: output holding a lone surrogate passed check_output, then
    neither the ledger nor the TOOL step could store it, so the booking happened unrecorded."""
    store = RunStore.open(store_url)
    try:
        done: list[str] = []

        def book(room: str) -> dict[str, Any]:
            """Book a room."""
            done.append(room)
            return {"confirmation": "ab\udc80cd"}  # bytes decoded with surrogateescape

        tool = make_tool(book, risk=RiskClass.WRITE, idempotent=False)
        run = ask(make_runtime(store, [tool]), [{"tool": "book", "args": {"room": "r1"}}])
        assert done == ["r1"]
        ended(run, DecisionKind.ESCALATION, ErrorCode.BAD_OUTPUT)
        stored = store.get_run(run.id)
        assert stored.status is RunStatus.COMPLETED
        (step,) = tool_steps(stored)  # the TOOL step is in the stored run
        assert step["ok"] is False
        ((key, status, outcome),) = ledger_rows(store)
        assert key == step["idempotency_key"] and status == "done"
        assert outcome["ok"] is False and outcome["code"] == "BAD_OUTPUT"
        assert outcome["output"] is None
    finally:
        store.close()


class HugeNumber:
    """A model whose tool call carries an int far too long for JSON (over 4300 digits)."""

    def __init__(self, inner: ScriptedModel) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return "huge"

    def propose(self, request: ModelRequest) -> ModelTurn:
        turn = self.inner.propose(request)
        calls = tuple(ToolCall(c.id, c.name, {"n": 10**5000}) for c in turn.tool_calls)
        return dataclasses.replace(turn, tool_calls=calls, raw={})


def test_a_huge_integer_argument_is_refused_as_invalid_arguments(store: RunStore) -> None:
    """Stops an internal failure on hostile numbers: a 5000-digit argument passed the turn
    check, then could not be recorded and escalated as INTERNAL instead of being refused."""
    stored: list[int] = []

    def put(n: int) -> dict[str, Any]:
        """Store n."""
        stored.append(n)
        return {}

    runtime = make_runtime(store, [make_tool(put, risk=RiskClass.WRITE)])
    model = HugeNumber(script([{"tool": "put", "args": {"n": 1}}, {"answer": "ok"}]))
    run = runtime.run(RunRequest("u", [Message("user", "x")]), model)
    ended(run, DecisionKind.REFUSAL, ErrorCode.INVALID_ARGUMENTS)
    assert run.decision is not None and run.decision.reason is not None
    assert "too large a number" in run.decision.reason.message
    assert stored == [] and tool_steps(run) == [] and ledger_rows(store) == []
    assert store.get_run(run.id).status is RunStatus.COMPLETED


class Died(BaseException):
    """The process stopping (SIGKILL, OOM) part-way through a turn's run."""


class Dying:
    name = "dying"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise Died()


@pytest.mark.parametrize("window", [0.0, None], ids=["retrieval-committed", "retrieval-waiting"])
def test_resuming_the_turn_after_a_person_decided_turn_completes(
    store: RunStore, window: float | None
) -> None:
    """Stops a run left RUNNING forever: the turn after an approved turn saw more messages
    than the stored conversation held, so resume after a crash raised CONVERSATION_LIMIT.
    With a batch window of 0 the turn's retrieval commits before the model is asked; with the
    default one it is still waiting when the process dies, and resume retrieves again."""
    scenario = next(s for s in load_scenarios(None, RETAIL) if s.name == "large-return-approved")
    desk = scenario_desk(RETAIL, store, scenario)
    result = run_scenario(RETAIL, store, scenario, desk=desk)
    runtime = desk.runtime
    if window is not None:
        runtime = dataclasses.replace(runtime, batch_window_s=window)
    conversations = Conversations(runtime, ConversationStore(store.engine))
    conversation = conversations.open(result.conversation_id, scenario.principal)
    with pytest.raises(Died):
        conversation.send("What did you do?", Dying())
    with store.engine.connect() as conn:
        (run_id,) = conn.execute(text("SELECT id FROM runs WHERE status = 'running'")).scalars()
    stored = store.get_run(run_id).steps
    # the retrieval acted on nothing: by default it waits for a later commit
    waited = [] if window is None else [StepKind.RETRIEVAL]
    assert [s.kind for s in stored] == [StepKind.SCOPE, *waited]
    held = conversations.store.get(conversation.id).state["messages"]
    assert len(held) >= stored[0].data["conversation"]["history"]  # what resume rebuilds from

    answer = "Your return of the grill is requested [tool:3]."
    resumed = runtime.resume(run_id, ScriptedModel(parse_script([{"answer": answer}])))
    assert resumed.status is RunStatus.COMPLETED
    ended(resumed, DecisionKind.ANSWER, None)
    assert store.get_run(run_id).status is RunStatus.COMPLETED
    with store.engine.connect() as conn:
        running = conn.execute(text("SELECT count(*) FROM runs WHERE status = 'running'"))
        assert running.scalar() == 0


def test_concurrent_ledger_begins_with_one_claim_give_one_true_one_false(
    store_url: str,
) -> None:
    """Stops a crash of the second of two processes continuing one approved call (the
    decision's own continuation and `tether approvals resume`): on PostgreSQL its INSERT waited
    on the winner's row and raised a raw IntegrityError instead of returning False."""
    store = RunStore.open(store_url)
    try:

        def pay(a: str) -> dict[str, Any]:
            """Pay."""
            return {}

        tool = make_tool(pay, risk=RiskClass.IRREVERSIBLE)
        run = ask(make_runtime(store, [tool]), [{"answer": "hi"}])
        ledger = ToolResultLedger(store.engine)
        spent: list[str] = []
        lock = threading.Lock()

        def claim(conn: Connection) -> bool:  # stands in for approvals.spend: single use
            with lock:
                if spent:
                    return False
                spent.append(threading.current_thread().name)
            time.sleep(0.5)  # the winner's transaction is still open
            return True

        results: dict[str, bool | str] = {}

        def worker(name: str, delay: float) -> None:
            time.sleep(delay)
            try:
                results[name] = ledger.begin("idem_x", run.id, 1, "pay", also=claim)
            except Exception as exc:
                results[name] = f"raised {type(exc).__name__}: {exc}"

        threads = [
            threading.Thread(target=worker, args=("A", 0.0), name="A"),
            threading.Thread(target=worker, args=("B", 0.1), name="B"),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert results == {"A": True, "B": False}
        assert spent == ["A"]  # the token was spent once, by the worker that marked the call
        ((key, status, _),) = ledger_rows(store)
        assert key == "idem_x" and status == "pending"
    finally:
        store.close()
