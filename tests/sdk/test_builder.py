"""`build_desk`: the default guard chain, fail-closed writes without a policy set, the chain
hooks, ownership, and the domain recorded with every run. Real runs of the library test pack
(tests/sdk/packs/library.py) over a real store, asserting on the pack's own data."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pytest

from tests.sdk.packs.library import LIBRARIAN, LIBRARY, READ_SCOPE, VERSION, fresh_data
from tether import (
    Agent,
    DecisionKind,
    ErrorCode,
    GuardContext,
    Message,
    Run,
    RunRequest,
    StepKind,
    ToolCall,
    Verdict,
)
from tether.domains.retail.pack import RETAIL
from tether.models import ScriptedModel, parse_script
from tether.sdk import Desk, WritesNeedPolicy, build_desk
from tether.store.runs import RunStore

LENDING = dataclasses.replace(LIBRARIAN, allow_writes_without_policy=True)
FIND_DUNE = {"tool": "find_book", "args": {"title": "Dune"}}
BORROW_DUNE = {"tool": "borrow_book", "args": {"book_id": "dune", "member_id": "ada"}}


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def library_desk(
    store: RunStore, data: dict[str, Any], *, agent: Agent = LIBRARIAN, **kw: Any
) -> Desk:
    return build_desk(LIBRARY, store, agents=(agent,), data=data, **kw)


def run(desk: Desk, script: list[dict[str, Any]], principal: str = "ada") -> Run:
    request = RunRequest(principal, [Message("user", "I'd like to borrow Dune.")])
    return desk.runtime.run(request, ScriptedModel(parse_script(script)))


def guard_steps(result: Run, tool: str) -> list[dict[str, Any]]:
    return [dict(s.data) for s in result.steps if s.kind is StepKind.GUARD and s.name == tool]


def tool_steps(result: Run, tool: str) -> list[dict[str, Any]]:
    return [dict(s.data) for s in result.steps if s.kind is StepKind.TOOL and s.name == tool]


def checks_of(guard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v["check"], v["effect"]) for v in guard["verdicts"]]


# -- the default chain ------------------------------------------------------------------


def test_a_pack_without_policy_gets_the_default_chain_with_writes_fail_closed(
    store: RunStore,
) -> None:
    desk = library_desk(store, fresh_data())
    assert [c.name for c in desk.runtime.tool_checks] == ["schema", "grant", "ownership", "policy"]
    assert isinstance(desk.runtime.tool_checks[-1], WritesNeedPolicy)
    assert [c.name for c in desk.runtime.answer_checks] == ["citations", "claims"]


def test_a_pack_with_a_policy_set_enforces_it_in_both_chains(store: RunStore) -> None:
    desk = build_desk(RETAIL, store, fresh=True)
    names = [c.name for c in desk.runtime.tool_checks]
    assert names == ["schema", "grant", "ownership", "policy", "premises"]
    assert not any(isinstance(c, WritesNeedPolicy) for c in desk.runtime.tool_checks)
    assert [c.name for c in desk.runtime.answer_checks] == ["citations", "claims", "policy"]


# -- runs of the library pack ------------------------------------------------------------


def test_a_read_then_a_cited_answer_ends_in_an_answer(store_url: str) -> None:
    store = RunStore.open(store_url)
    try:
        data = fresh_data()
        result = run(
            library_desk(store, data),
            [FIND_DUNE, {"answer": "Dune by Frank Herbert is on the shelf [tool:1]."}],
        )
        stored = store.get_run(result.id)
    finally:
        store.close()
    assert result.decision is not None and result.decision.kind is DecisionKind.ANSWER
    assert result.decision.citations == ("tool:1",)
    kinds = [s.kind for s in result.steps]
    assert kinds == [
        StepKind.SCOPE,
        StepKind.RETRIEVAL,
        StepKind.MODEL_TURN,
        StepKind.GUARD,
        StepKind.TOOL,
        StepKind.MODEL_TURN,
        StepKind.GUARD,
        StepKind.DECISION,
    ]
    [guard] = guard_steps(result, "find_book")
    assert checks_of(guard) == [(n, "allow") for n in ("schema", "grant", "ownership", "policy")]
    [done] = tool_steps(result, "find_book")
    assert done["output"] == {
        "book_id": "dune",
        "title": "Dune",
        "author": "Frank Herbert",
        "on_shelf": True,
    }
    assert stored.decision == result.decision and stored.step_count == len(result.steps)
    assert data == fresh_data()  # a read changes nothing


def test_a_write_without_policy_is_denied_and_the_data_is_unchanged(store: RunStore) -> None:
    data = fresh_data()
    result = run(library_desk(store, data), [BORROW_DUNE, {"refuse": "I can't lend books."}])
    [guard] = guard_steps(result, "borrow_book")
    assert guard["effect"] == "deny" and guard["decided_by"] == "policy"
    assert checks_of(guard) == [
        ("schema", "allow"),
        ("grant", "allow"),
        ("ownership", "allow"),
        ("policy", "deny"),
    ]
    assert guard["verdicts"][-1]["reasons"][0]["code"] == ErrorCode.POLICY_DENIED.value
    assert guard["verdicts"][-1]["facts"] == {"policy": "none"}
    # the model is told why (POLICY_DENIED goes back to it), and the tool never ran
    observation = json.loads(guard["messages"][0]["content"])
    assert observation["error"]["code"] == "POLICY_DENIED"
    assert tool_steps(result, "borrow_book") == []
    assert data == fresh_data()
    assert data["loans"] == {}


def test_an_agent_that_allows_writes_without_policy_changes_the_data(store: RunStore) -> None:
    data = fresh_data()
    result = run(
        library_desk(store, data, agent=LENDING),
        [BORROW_DUNE, {"answer": "Dune is now lent to ada [tool:1]."}],
    )
    assert result.decision is not None and result.decision.kind is DecisionKind.ACTION
    [guard] = guard_steps(result, "borrow_book")
    assert guard["effect"] == "allow"
    assert guard["verdicts"][-1]["facts"] == {"policy": "none", "writes": "allowed by the agent"}
    assert [dict(r) for r in result.decision.results] == [
        {
            "tool": "borrow_book",
            "arguments": {"book_id": "dune", "member_id": "ada"},
            "output": {"book_id": "dune", "borrower": "ada"},
        }
    ]
    assert data["loans"] == {"dune": "ada"}
    assert data["books"] == fresh_data()["books"]


def test_borrowing_for_another_member_is_denied_by_ownership(store: RunStore) -> None:
    data = fresh_data()
    borrow_for_ben = {"tool": "borrow_book", "args": {"book_id": "dune", "member_id": "ben"}}
    # writes are allowed, so it is ownership, not the missing policy, that stops the call
    result = run(library_desk(store, data, agent=LENDING), [borrow_for_ben])
    decision = result.decision
    assert decision is not None and decision.kind is DecisionKind.REFUSAL
    assert decision.reason is not None and decision.reason.code is ErrorCode.PERMISSION_DENIED
    [guard] = guard_steps(result, "borrow_book")
    assert guard["decided_by"] == "ownership"
    assert guard["verdicts"][-1]["facts"]["resource_id"] == "ben"
    assert tool_steps(result, "borrow_book") == []
    assert data == fresh_data()


def test_the_rights_override_narrows_what_a_run_may_do(store: RunStore) -> None:
    data = fresh_data()
    desk = library_desk(store, data, agent=LENDING, rights={"member": (READ_SCOPE,)})
    result = run(desk, [BORROW_DUNE, {"refuse": "I can't lend books."}])
    [scope] = [s for s in result.steps if s.kind is StepKind.SCOPE]
    assert scope.data["tools"] == ["find_book"]  # the run's token grants only the read
    [guard] = guard_steps(result, "borrow_book")
    assert guard["effect"] == "deny" and guard["decided_by"] == "grant"
    assert tool_steps(result, "borrow_book") == []
    assert data == fresh_data()


# -- the chain hooks ---------------------------------------------------------------------


class OneLoanEach:
    """A domain rule added through the hook: a member may hold one loan at a time."""

    name = "one-loan-each"

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        held = sorted(b for b, m in self.data["loans"].items() if m == ctx.principal.id)
        if call.name == "borrow_book" and held:
            return Verdict.deny(
                self.name, ErrorCode.POLICY_DENIED, "one loan at a time", holding=held
            )
        return Verdict.allow(self.name, holding=held)


def test_the_tool_checks_hook_inserts_a_check_that_runs_in_order(store: RunStore) -> None:
    data = fresh_data()
    data["loans"]["emma"] = "ada"
    given: list[list[str]] = []

    def hook(default: list[Any]) -> list[Any]:
        given.append([c.name for c in default])
        return [*default[:-1], OneLoanEach(data), default[-1]]  # just before policy

    desk = library_desk(store, data, agent=LENDING, tool_checks=hook)
    assert given == [["schema", "grant", "ownership", "policy"]]
    names = [c.name for c in desk.runtime.tool_checks]
    assert names == ["schema", "grant", "ownership", "one-loan-each", "policy"]
    ran = run(desk, [FIND_DUNE, BORROW_DUNE, {"refuse": "You already hold a book."}])
    result = store.get_run(ran.id)  # the verdicts as recorded in the store
    [read] = guard_steps(result, "find_book")
    assert checks_of(read) == [
        ("schema", "allow"),
        ("grant", "allow"),
        ("ownership", "allow"),
        ("one-loan-each", "allow"),
        ("policy", "allow"),
    ]
    assert read["verdicts"][3]["facts"] == {"holding": ["emma"]}
    [write] = guard_steps(result, "borrow_book")
    assert write["decided_by"] == "one-loan-each"
    assert checks_of(write)[-1] == ("one-loan-each", "deny")
    assert tool_steps(result, "borrow_book") == []
    assert data["loans"] == {"emma": "ada"}


def test_the_answer_checks_hook_decides_the_answer_chain(store: RunStore) -> None:
    desk = library_desk(store, fresh_data(), answer_checks=lambda default: default[:1])
    assert [c.name for c in desk.runtime.answer_checks] == ["citations"]
    result = run(desk, [FIND_DUNE, {"answer": "Dune is on the shelf [tool:1]."}])
    answer = [s for s in result.steps if s.kind is StepKind.GUARD and s.name == "answer"]
    assert [v["check"] for v in answer[0].data["verdicts"]] == ["citations"]


# -- the domain recorded with every run ---------------------------------------------------


def test_the_retail_desk_records_its_domain_and_version(store: RunStore) -> None:
    desk = build_desk(RETAIL, store, fresh=True)
    request = RunRequest("raj_sanchez_2970", [Message("user", "hello")])
    result = desk.runtime.run(request, ScriptedModel(parse_script([{"refuse": "I can't."}])))
    expected = {"name": "retail", "version": metadata.version("tether")}
    assert result.input["domain"] == expected
    [scope] = [s for s in result.steps if s.kind is StepKind.SCOPE]
    assert scope.data["domain"] == expected
    stored = store.get_run(result.id)  # persisted, not only on the returned value
    assert stored.input["domain"] == expected
    assert [s.data.get("domain") for s in stored.steps if s.kind is StepKind.SCOPE] == [expected]


def test_the_library_desk_records_its_own_domain(store: RunStore) -> None:
    result = run(library_desk(store, fresh_data()), [{"refuse": "Not today."}])
    assert store.get_run(result.id).input["domain"] == {"name": "library", "version": VERSION}
