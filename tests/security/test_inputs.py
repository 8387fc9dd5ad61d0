"""The security suite, part 2: path traversal and SQL in arguments, queries and filters; oversized
and deeply nested inputs. Each must end in its stable code and leave the store intact."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.access.helpers import (
    AUTH,
    USER,
    RecordingModel,
    ask,
    open_desk,
)
from tests.security.common import assert_problem
from tests.security.conftest import Api
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Message, StepKind
from tether.runtime import RunRequest
from tether.store.runs import RunStore
from tether.store.schema import runs

# -- path traversal and SQL in arguments, queries and filters ---------------------------------

HOSTILE = [
    "../../../../etc/passwd",
    "#W4566809' OR '1'='1",
    "#W4566809; DROP TABLE runs; --",
    "%2e%2e%2f%2e%2e%2fetc",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_in_arguments_find_nothing_and_break_nothing(
    sqlite_store: RunStore, value: str
) -> None:
    desk = open_desk(sqlite_store)
    before = sqlite_store.count_runs()
    script = [
        AUTH,
        {"tool": "get_order_details", "args": {"order_id": value}},
        {"tool": "find_user_id_by_email", "args": {"email": value}},
        {"refuse": "nothing found"},
    ]
    run = ask(desk, f"look up {value}", script)
    tools = [s.data for s in run.steps if s.kind is StepKind.TOOL]
    assert [t["error"]["code"] for t in tools[1:]] == ["NOT_FOUND", "NOT_FOUND"]
    assert sqlite_store.count_runs() == before + 1  # the runs table is intact
    retrieval = next(s for s in run.steps if s.kind is StepKind.RETRIEVAL).data
    # whatever the query dug up, every passage is one this principal may read
    labels = set(retrieval["labels"])
    assert "staff" not in labels
    assert all(set(e["acl"]) & labels for e in retrieval["evidence"])


def test_a_nul_in_a_tool_argument_is_refused_before_anything_runs(sqlite_store: RunStore) -> None:
    desk = open_desk(sqlite_store)
    script = [
        AUTH,
        {"tool": "get_order_details", "args": {"order_id": "\x00#W4566809"}},
        {"refuse": "nothing found"},
    ]
    run = ask(desk, "look up my order", script)
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.INVALID_ARGUMENTS
    tools = [s.data for s in run.steps if s.kind is StepKind.TOOL]
    assert [t["tool"] for t in tools] == [AUTH["tool"]]  # the lookup never ran
    with pytest.raises(TetherError) as caught:  # and a user message cannot carry one either
        ask(desk, "look up \x00#W4566809", script)
    assert caught.value.code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("principal", ["../../etc/passwd", "raj_sanchez_2970' OR '1'='1", "*"])
def test_hostile_principal_ids_are_unknown(sqlite_store: RunStore, principal: str) -> None:
    desk = open_desk(sqlite_store)
    with pytest.raises(TetherError) as caught:
        desk.runtime.run(
            RunRequest(principal, [Message("user", "hi")]), RecordingModel([{"answer": "x"}])
        )
    assert caught.value.code is ErrorCode.UNKNOWN_PRINCIPAL


def test_hostile_filters_and_ids_on_the_api(api: Api) -> None:
    with api.client("admin") as c:
        assert (
            c.post(
                "/v1/runs?wait=60",
                json={"principal": USER, "input": "hi", "script": [{"refuse": "no"}]},
            ).status_code
            == 200
        )
        for value in ("' OR '1'='1", "%", "*", "raj_sanchez_2970' --"):
            body = c.get("/v1/runs", params={"principal": value}).json()
            assert body["total"] == 0 and body["runs"] == [], value
        # an encoded path is not a run id: no route matches it
        assert_problem(c.get("/v1/runs/..%2F..%2Fetc%2Fpasswd"), 404, "BAD_REQUEST")
        assert_problem(c.get("/v1/runs/..%252F..%252Fetc"), 404, "RUN_NOT_FOUND")
        assert_problem(c.get("/v1/runs/run_x' OR '1'='1"), 404, "RUN_NOT_FOUND")
        assert_problem(c.get("/v1/runs", params={"decision": "answer' OR 1=1"}), 400, "BAD_REQUEST")
    with api.desk.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() >= 1


# -- oversized and deeply nested inputs ---------------------------------------------------------


def test_oversized_and_deeply_nested_requests(api: Api) -> None:
    with api.client("admin") as c:
        big = {"principal": USER, "input": "x" * 300_000, "script": [{"refuse": "no"}]}
        assert_problem(c.post("/v1/runs?wait=60", json=big), 413, "INPUT_TOO_LARGE")
        long = {"principal": USER, "input": "x" * 9_000, "script": [{"refuse": "no"}]}
        assert_problem(c.post("/v1/runs?wait=60", json=long), 413, "INPUT_TOO_LARGE")
        many = {
            "principal": USER,
            "messages": [{"role": "user", "content": "hi"}] * 65,
            "script": [{"refuse": "no"}],
        }
        assert_problem(c.post("/v1/runs?wait=60", json=many), 413, "INPUT_TOO_LARGE")
        deep_body = (
            '{"principal": "x", "input": "hi", "extra": ' + "[" * 50_000 + "]" * 50_000 + "}"
        )
        raw = c.post(
            "/v1/runs?wait=60", content=deep_body, headers={"content-type": "application/json"}
        )
        assert_problem(raw, 400, "BAD_REQUEST")
        nested: Any = "2+2"
        for _ in range(300):
            nested = {"a": nested}
        script = [{"tool": "calculate", "args": {"expression": nested}}, {"answer": "x"}]
        assert_problem(
            c.post("/v1/runs?wait=60", json={"principal": USER, "input": "hi", "script": script}),
            400,
            "BAD_REQUEST",
        )
        # nesting within the limit reaches the guard, which rejects it against the schema
        shallow: Any = "2+2"
        for _ in range(10):
            shallow = {"a": shallow}
        script = [{"tool": "calculate", "args": {"expression": shallow}}, {"refuse": "no"}]
        run = c.post(
            "/v1/runs?wait=60", json={"principal": USER, "input": "hi", "script": script}
        ).json()
        guard = next(s for s in run["steps"] if s["kind"] == "guard")["data"]
        assert guard["verdicts"][-1]["reasons"][0]["code"] == "INVALID_ARGUMENTS"


def test_an_oversized_tool_argument_is_invalid(sqlite_store: RunStore) -> None:
    desk = open_desk(sqlite_store)
    run = ask(
        desk,
        "sum",
        [{"tool": "calculate", "args": {"expression": "1+" * 5000 + "1"}}, {"refuse": "no"}],
    )
    tool = next(s for s in run.steps if s.kind is StepKind.TOOL).data
    assert tool["error"]["code"] == "INVALID_ARGUMENTS"
