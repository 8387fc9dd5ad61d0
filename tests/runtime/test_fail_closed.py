"""Fail closed: every run that starts ends in a recorded Decision, whatever raises inside it.

Broken checks and empty chains deny; arguments JSON cannot carry are refused before anything
about them is recorded; a raising model, tool executor or store ends the run in an escalation;
and a run the store could not finish is finished by `resume`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import (
    Agent,
    DecisionKind,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    RiskClass,
    Run,
    RunStatus,
    StepKind,
    ToolCall,
    TurnKind,
    Verdict,
)
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, ScriptTurn, parse_script
from tether.runtime import RunRequest, Runtime
from tether.sdk import Desk
from tether.store import RunStore
from tether.tools.checks import SchemaCheck
from tether.tools.execute import CallContext, ToolOutcome
from tether.tools.registry import Tool, ToolRegistry, make_tool

USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"
LOOKUP = {"tool": "find_user_id_by_email", "args": {"email": EMAIL}}


class Boom:
    """A check with a bug: it raises instead of returning a verdict."""

    name = "boom"

    def __call__(self, ctx: Any, proposal: Any) -> Verdict:
        raise RuntimeError("the fact provider is down")


class Anyone:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


class RaisingModel:
    """A model adapter with a bug: it raises something that is not a TetherError."""

    name = "raising"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise KeyError("choices")


class RaisingExecutor:
    """A tool executor with a bug (executors promise never to raise)."""

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        raise ZeroDivisionError("division by zero")


class FlakyStore(RunStore):
    """A real store whose writes fail once `down` is set: the database went away mid-run."""

    down = False

    def append_steps(self, *args: Any, **kwargs: Any) -> None:
        if self.down:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, "the database is unavailable")
        super().append_steps(*args, **kwargs)


class StoreDropsMidRun:
    """A model whose turn coincides with the store going down."""

    name = "scripted"

    def __init__(self, store: FlakyStore) -> None:
        self.store = store

    def propose(self, request: ModelRequest) -> ModelTurn:
        self.store.down = True
        raise RuntimeError("connection reset")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def retail(store: RunStore, **options: Any) -> Desk:
    return open_retail_desk(store, db=RetailDB.fresh_copy(), **options)


def ask(runtime: Runtime, model: Any, text: str = f"I am {EMAIL}; status of #W4566809?") -> Run:
    return runtime.run(RunRequest(USER, [Message("user", text)]), model)


def script(*turns: dict[str, Any]) -> ScriptedModel:
    return ScriptedModel(parse_script(list(turns)))


def assert_ended(desk: Desk, run: Run, kind: DecisionKind, code: ErrorCode) -> Run:
    """The run ended in `kind` for `code`, as stored; the audit chain verifies."""
    assert run.status is RunStatus.COMPLETED, run.status
    assert run.decision is not None and run.decision.kind is kind, run.decision
    assert run.decision.reason is not None and run.decision.reason.code is code
    stored = desk.store.get_run(run.id)
    assert stored.status is RunStatus.COMPLETED and stored.decision == run.decision
    assert stored.steps[-1].kind is StepKind.DECISION
    assert [s.seq for s in stored.steps] == list(range(1, len(stored.steps) + 1))
    assert desk.access is not None and desk.access.verify_audit().ok
    return stored


def canonical_everywhere(desk: Desk) -> None:
    """Every stored step, run input and decision is JSON without NaN or Infinity."""
    from sqlalchemy import text

    with desk.store.engine.connect() as conn:
        texts = [r[0] for r in conn.execute(text("SELECT data FROM steps"))]
        texts += [r[0] for r in conn.execute(text("SELECT input FROM runs"))]
        texts += [r[0] for r in conn.execute(text("SELECT decision FROM runs")) if r[0]]
    for item in texts:
        json.loads(item, parse_constant=lambda c: pytest.fail(f"{c} stored"))


# -- broken and empty chains ---------------------------------------------------------------


def test_a_tool_check_that_raises_denies_and_the_run_escalates(store: RunStore) -> None:
    desk = retail(store, tool_checks=lambda chain: [chain[0], Boom(), *chain[1:]])
    run = ask(desk.runtime, script(LOOKUP, {"answer": "Done."}))
    stored = assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.CHECK_FAILED)
    guard = [s for s in stored.steps if s.kind is StepKind.GUARD][-1].data
    assert guard["effect"] == "deny" and guard["decided_by"] == "boom"
    reason = guard["verdicts"][-1]["reasons"][0]
    assert reason["code"] == "CHECK_FAILED"
    assert (
        "boom" in reason["message"]
        and "RuntimeError: the fact provider is down" in (reason["message"])
    )
    assert "Traceback" not in json.dumps(guard)
    assert not [s for s in stored.steps if s.kind is StepKind.TOOL]  # nothing ran


def test_an_answer_check_that_raises_denies_and_the_run_escalates(store: RunStore) -> None:
    desk = retail(store, answer_checks=lambda chain: [Boom(), *chain])
    run = ask(desk.runtime, script({"answer": "Hello, how can I help?"}))
    stored = assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.CHECK_FAILED)
    guard = [s for s in stored.steps if s.kind is StepKind.GUARD][-1]
    assert guard.name == "answer" and guard.data["decided_by"] == "boom"


def _bare(store: RunStore, **agent: Any) -> tuple[Runtime, list[str]]:
    """A runtime over one write tool, wired with the checks a test passes to `Runtime`."""
    done: list[str] = []

    def append_line(text: str) -> dict[str, str]:
        """Add a line to the journal."""
        done.append(text)
        return {"appended": text}

    tool = make_tool(append_line, risk=RiskClass.WRITE)
    clerk = Agent("clerk", "Keep the journal.", (tool.name,), **agent)
    runtime = Runtime(
        store=store,
        agents={clerk.name: clerk},
        tools=ToolRegistry([tool]),
        principals=Anyone(),
        default_agent=clerk.name,
    )
    return runtime, done


CALL = {"tool": "append_line", "args": {"text": "refund 100"}}


def test_an_empty_tool_chain_denies(store: RunStore) -> None:
    runtime, done = _bare(store, require_grounding=False, allow_writes_without_policy=True)
    run = runtime.run(RunRequest("u", [Message("user", "log it")]), script(CALL))
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None and run.decision.reason.code is ErrorCode.NO_CHECKS
    assert done == []


def test_an_empty_answer_chain_denies_unless_answers_need_no_grounding(store: RunStore) -> None:
    strict, _ = _bare(store)
    run = strict.run(RunRequest("u", [Message("user", "hi")]), script({"answer": "It is 5."}))
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None and run.decision.reason.code is ErrorCode.NO_CHECKS
    relaxed, _ = _bare(store, require_grounding=False)
    run = relaxed.run(RunRequest("u", [Message("user", "hi")]), script({"answer": "It is 5."}))
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER


def test_the_runtime_refuses_writes_without_a_policy_step(store: RunStore) -> None:
    runtime, done = _bare(store, require_grounding=False)
    runtime = dataclasses.replace(runtime, tool_checks=(SchemaCheck(),))
    run = runtime.run(RunRequest("u", [Message("user", "log it")]), script(CALL, {"answer": "No."}))
    guard = next(s for s in run.steps if s.kind is StepKind.GUARD).data
    assert guard["effect"] == "deny" and guard["decided_by"] == "policy-required"
    assert guard["verdicts"][-1]["reasons"][0]["code"] == "POLICY_DENIED"
    assert done == []
    allowed, done = _bare(store, require_grounding=False, allow_writes_without_policy=True)
    allowed = dataclasses.replace(allowed, tool_checks=(SchemaCheck(),))
    allowed.run(RunRequest("u", [Message("user", "log it")]), script(CALL, {"answer": "Ok."}))
    assert done == ["refund 100"]


# -- arguments JSON cannot carry -----------------------------------------------------------

BAD_NUMBERS = [
    {"order_id": math.nan},
    {"order_id": math.inf},
    {"order_id": -math.inf},
    {"order_id": json.loads("1e400")},
    {"order_id": "#W1", "filter": {"deep": [1, {"x": math.nan}]}},
]


@pytest.mark.parametrize("args", BAD_NUMBERS, ids=["nan", "inf", "-inf", "1e400", "nested"])
def test_numbers_json_cannot_carry_are_refused_before_anything_is_recorded(
    store: RunStore, args: dict[str, Any]
) -> None:
    desk = retail(store)
    model = ScriptedModel([ScriptTurn(tool="get_order_details", args=args)])
    run = ask(desk.runtime, model)
    stored = assert_ended(desk, run, DecisionKind.REFUSAL, ErrorCode.INVALID_ARGUMENTS)
    turn = next(s for s in stored.steps if s.kind is StepKind.MODEL_TURN)
    assert turn.data["error"]["code"] == "INVALID_ARGUMENTS"
    assert "JSON cannot carry" in turn.data["error"]["message"]
    assert not [s for s in stored.steps if s.kind in (StepKind.GUARD, StepKind.TOOL)]
    canonical_everywhere(desk)


def test_a_script_holding_such_numbers_is_rejected_when_read() -> None:
    with pytest.raises(TetherError) as caught:
        parse_script([{"tool": "get_order_details", "args": {"order_id": math.inf}}])
    assert caught.value.code is ErrorCode.SCENARIO_INVALID and "turn 1" in caught.value.message


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        ("get_order_details", {"order_id": "#W1\x00"}, ErrorCode.INVALID_ARGUMENTS),
        ("get_order_details", {"order_id": "\ud800"}, ErrorCode.INVALID_ARGUMENTS),
        ("get_order\x00_details", {"order_id": "#W1"}, ErrorCode.MODEL_BAD_OUTPUT),
        ("get_order\udfff", {"order_id": "#W1"}, ErrorCode.MODEL_BAD_OUTPUT),
    ],
    ids=["nul-argument", "surrogate-argument", "nul-name", "surrogate-name"],
)
def test_nul_and_lone_surrogates_get_a_stable_code_on_both_stores(
    store_url: str, name: str, args: dict[str, Any], code: ErrorCode
) -> None:
    store = RunStore.open(store_url)
    try:
        desk = retail(store)
        turn = ModelTurn(TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c1", name, args),))
        model = _Fixed(turn)
        run = ask(desk.runtime, model)
        kind = (
            DecisionKind.REFUSAL if code is ErrorCode.INVALID_ARGUMENTS else DecisionKind.ESCALATION
        )
        assert_ended(desk, run, kind, code)
    finally:
        store.close()


@dataclasses.dataclass
class _Fixed:
    """A model adapter standing in for a hosted LLM that returns one fixed turn."""

    turn: ModelTurn
    name: str = "fixed"

    def propose(self, request: ModelRequest) -> ModelTurn:
        return self.turn


# -- exceptions after the run exists -------------------------------------------------------


def test_a_raising_model_adapter_ends_the_run_in_an_escalation(store: RunStore) -> None:
    desk = retail(store)
    run = ask(desk.runtime, RaisingModel())
    assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.INTERNAL)
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.message == "the run failed (KeyError)"


def test_a_raising_tool_executor_ends_the_run_in_an_escalation(store: RunStore) -> None:
    desk = retail(store)
    runtime = dataclasses.replace(desk.runtime, executor=RaisingExecutor())
    run = ask(runtime, script(LOOKUP, {"answer": "Done."}))
    stored = assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.INTERNAL)
    assert [s.kind for s in stored.steps][-2:] == [StepKind.GUARD, StepKind.DECISION]


class NaNRetriever:
    """A retriever with a bug: its passages score NaN."""

    def search(self, query: str, k: int, labels: Any, sources: Any) -> list[Evidence]:
        return [Evidence("kb:1", "kb", "Orders ship in 2 days.", score=math.nan)]


def test_a_step_that_cannot_be_recorded_ends_the_run_without_being_kept(store: RunStore) -> None:
    desk = retail(store)
    runtime = dataclasses.replace(desk.runtime, retriever=NaNRetriever())
    run = ask(runtime, script({"answer": "Hello, how can I help?"}))
    stored = assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.INTERNAL)
    assert [s.kind for s in stored.steps] == [StepKind.SCOPE, StepKind.DECISION]
    assert run.decision is not None and run.decision.reason is not None
    assert "data.evidence[0].score is a number JSON cannot carry" in run.decision.reason.message
    canonical_everywhere(desk)


class UnrecordablePrincipal:
    """A directory that returns a principal whose attributes JSON cannot carry."""

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, attributes={"score": math.nan})


def test_a_run_that_fails_before_its_first_commit_is_stored_and_ended(store: RunStore) -> None:
    """A new run's row is written with its scope step; when the scope itself cannot be
    recorded, the row is stored as the run began and the run still ends in a Decision."""
    desk = retail(store)
    runtime = dataclasses.replace(desk.runtime, principals=UnrecordablePrincipal())
    run = ask(runtime, script({"answer": "Hello, how can I help?"}))
    stored = assert_ended(desk, run, DecisionKind.ESCALATION, ErrorCode.INTERNAL)
    assert [s.kind for s in stored.steps] == [StepKind.DECISION]
    assert run.decision is not None and run.decision.reason is not None
    assert "is a number JSON cannot carry" in run.decision.reason.message
    assert stored.principal_id == USER and stored.input["messages"]
    canonical_everywhere(desk)


def test_a_run_under_a_taken_id_leaves_the_other_run_alone(store: RunStore) -> None:
    """A second run under an id already stored is refused as a whole, and the first run's
    row, steps and Decision stay exactly as they were."""
    desk = retail(store)
    request = RunRequest(USER, [Message("user", "Hello")], run_id="run-taken")
    first = desk.runtime.run(request, script({"answer": "Hello, how can I help?"}))
    before = desk.store.get_run("run-taken")
    with pytest.raises(Exception) as caught:
        desk.runtime.run(request, script({"answer": "Order #W4566809 was delivered."}))
    assert not isinstance(caught.value, AssertionError)
    after = desk.store.get_run("run-taken")
    assert after == before and after.decision == first.decision
    assert [r.id for r in desk.store.list_runs()] == ["run-taken"]
    assert desk.access is not None and desk.access.verify_audit().ok


def test_a_store_down_at_the_first_commit_leaves_a_run_resume_finishes(sqlite_url: str) -> None:
    store = FlakyStore.open(sqlite_url)
    assert isinstance(store, FlakyStore)
    desk = retail(store)
    store.down = True
    with pytest.raises(TetherError) as caught:
        ask(desk.runtime, script({"answer": "Hello, how can I help?"}))
    assert caught.value.code is ErrorCode.STORE_UNAVAILABLE
    (left,) = store.list_runs()
    assert left.status is RunStatus.RUNNING and not store.get_run(left.id).steps
    store.down = False
    run = desk.runtime.resume(left.id, script({"answer": "Hello, how can I help?"}))
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert store.get_run(left.id).steps[0].kind is StepKind.SCOPE
    assert desk.access is not None and desk.access.verify_audit().ok
    store.close()


def test_a_run_the_store_could_not_finish_is_finished_by_resume(sqlite_url: str) -> None:
    store = FlakyStore.open(sqlite_url)
    assert isinstance(store, FlakyStore)
    desk = retail(store)
    # the retrieval waits for a later commit however slow the machine: with the default window
    # a stall of half a second before the model turn commits it first, as it should
    runtime = dataclasses.replace(desk.runtime, batch_window_s=3600.0)
    with pytest.raises(TetherError) as caught:
        ask(runtime, StoreDropsMidRun(store))
    assert caught.value.code is ErrorCode.STORE_UNAVAILABLE
    (left,) = store.list_runs()
    assert left.status is RunStatus.RUNNING  # whole transactions only: the scope
    stored = store.get_run(left.id)
    assert [s.kind for s in stored.steps] == [StepKind.SCOPE]  # the retrieval was waiting
    store.down = False
    run = runtime.resume(left.id, script({"answer": "Hello, how can I help?"}))
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert desk.access is not None and desk.access.verify_audit().ok
    store.close()


def test_a_run_whose_agent_is_gone_is_ended_by_resume_not_left_running(sqlite_url: str) -> None:
    store = FlakyStore.open(sqlite_url)
    assert isinstance(store, FlakyStore)
    desk = retail(store)
    with pytest.raises(TetherError):
        ask(desk.runtime, StoreDropsMidRun(store))
    (left,) = store.list_runs()
    store.down = False
    # the agent was removed by the time a process resumes the run
    runtime = dataclasses.replace(desk.runtime, agents={})
    run = runtime.resume(left.id, script({"answer": "Hello, how can I help?"}))
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.kind is DecisionKind.ESCALATION and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.UNKNOWN_AGENT
    assert store.get_run(left.id).status is RunStatus.COMPLETED
    assert desk.access is not None and desk.access.verify_audit().ok
    store.close()


def test_a_conversation_turn_that_fails_ends_and_frees_the_conversation(store: RunStore) -> None:
    desk = retail(store)
    conversation = desk.runtime.converse(USER)
    failed = conversation.send("Hello", RaisingModel())
    assert failed.run.decision is not None
    assert failed.run.decision.kind is DecisionKind.ESCALATION
    later = conversation.send("Hello again", script({"answer": "Hello, how can I help?"}))
    assert later.turn == 2 and later.run.decision is not None
