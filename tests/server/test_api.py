"""The HTTP API against a real uvicorn server: runs, listing, errors as problem+json, OpenAPI."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from tests.server.conftest import ORDER_QUESTION, ORDER_SCRIPT, open_desk, order_run_body
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelAdapter
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore

PROBLEM = "application/problem+json"
Serve = Callable[[FastAPI], httpx.Client]


def total_runs(client: httpx.Client) -> int:
    response = client.get("/v1/runs", params={"limit": 1})
    assert response.status_code == 200
    total: int = response.json()["total"]
    return total


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://tether.dev/errors/{code}"
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def steps_of(run: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in run["steps"] if s["kind"] == kind]


# -- runs ----------------------------------------------------------------------------------


def test_scripted_run_answers_with_a_cited_tool_result(client: httpx.Client) -> None:
    response = client.post("/v1/runs?wait=60", json=order_run_body())
    assert response.status_code == 200, response.text
    run = response.json()
    assert response.headers["location"] == f"/v1/runs/{run['id']}"
    assert run["status"] == "completed"
    assert run["principal"] == "raj_sanchez_2970"
    assert run["decision"]["kind"] == "answer"
    assert run["decision"]["text"] == "Order #W4566809 is pending [tool:2]."
    assert run["decision"]["citations"] == ["tool:2"]
    kinds = [s["kind"] for s in run["steps"]]
    assert kinds == [
        "scope",
        "retrieval",
        *["model_turn", "guard", "tool"] * 2,
        "model_turn",
        "guard",
        "decision",
    ]
    order_step = steps_of(run, "tool")[1]["data"]
    assert order_step["evidence_id"] == "tool:2"
    assert order_step["output"]["order_id"] == "#W4566809"
    assert order_step["output"]["status"] == "pending"

    again = client.get(response.headers["location"])
    assert again.status_code == 200
    assert again.json() == run


def test_run_cites_knowledge_base_evidence(client: httpx.Client) -> None:
    question = "Can I still cancel a pending order?"
    first = client.post(
        "/v1/runs?wait=60",
        json={"principal": "raj_sanchez_2970", "input": question, "script": [{"refuse": "no"}]},
    )
    assert first.status_code == 200, first.text
    assert first.json()["decision"]["kind"] == "refusal"
    evidence = steps_of(first.json(), "retrieval")[0]["data"]["evidence"]
    assert evidence, "the knowledge base returned nothing for a policy question"
    assert evidence[0]["id"].startswith("kb:")
    kb_id = next(e["id"] for e in evidence if e["id"].startswith("kb:cancellations"))

    script = [{"answer": f"Yes, a pending order can be cancelled [{kb_id}]."}]
    body = {"principal": "raj_sanchez_2970", "input": question, "script": script}
    response = client.post("/v1/runs?wait=60", json=body)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["decision"]["kind"] == "answer"
    assert run["decision"]["citations"] == [kb_id]
    guard = steps_of(run, "guard")[-1]["data"]
    assert guard["effect"] == "allow"
    assert guard["verdicts"][0]["facts"]["cited"] == [kb_id]


def test_uncited_answer_is_refused_with_a_deny_verdict(client: httpx.Client) -> None:
    body = {
        "principal": "raj_sanchez_2970",
        "input": "Is my order pending?",
        "script": [{"answer": "Yes, it is pending."}],
    }
    response = client.post("/v1/runs?wait=60", json=body)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["decision"]["kind"] == "refusal"
    assert run["decision"]["reason"]["code"] == "ANSWER_UNGROUNDED"
    guard = steps_of(run, "guard")[-1]["data"]
    assert guard["effect"] == "deny"
    assert guard["verdicts"][-1]["reasons"][0]["code"] == "ANSWER_UNGROUNDED"


def test_get_run_shows_verdicts_and_evidence(client: httpx.Client) -> None:
    created = client.post("/v1/runs?wait=60", json=order_run_body()).json()
    response = client.get(f"/v1/runs/{created['id']}")
    assert response.status_code == 200
    run = response.json()
    assert run["step_count"] == len(run["steps"]) == 11
    assert [s["seq"] for s in run["steps"]] == list(range(1, 12))
    evidence = steps_of(run, "retrieval")[0]["data"]["evidence"]
    assert evidence
    for ev in evidence:  # passages, and the graph's entities the query names
        assert ev["id"].startswith(("kb:", "graph:"))
        assert ev["source"].startswith(("kb://retail/", "db:retail/"))
        assert len(ev["version"]) == 64 and ev["text"]
    order_guard = steps_of(run, "guard")[1]["data"]
    assert order_guard["call"]["name"] == "get_order_details"
    assert [v["check"] for v in order_guard["verdicts"]] == [
        "schema",
        "grant",
        "ownership",
        "policy",
        "premises",
    ]
    assert {v["effect"] for v in order_guard["verdicts"]} == {"allow"}
    ownership = order_guard["verdicts"][2]["facts"]
    assert ownership["resources"] == {"order:#W4566809": "owned"}


def test_messages_form_and_input_shorthand_are_equivalent(client: httpx.Client) -> None:
    body = order_run_body()
    del body["messages"]
    body["input"] = ORDER_QUESTION
    run = client.post("/v1/runs?wait=60", json=body).json()
    assert run["input"]["messages"] == [{"role": "user", "content": ORDER_QUESTION}]
    assert run["decision"]["citations"] == ["tool:2"]


def test_default_model_factory_reads_tether_model(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = tmp_path / "order.json"
    script.write_text(json.dumps(ORDER_SCRIPT), encoding="utf-8")
    monkeypatch.setenv("TETHER_MODEL", f"scripted:{script}")
    body = order_run_body()
    del body["script"]
    response = client.post("/v1/runs?wait=60", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["decision"]["citations"] == ["tool:2"]


def test_injected_model_factory_is_used_without_a_script(desk: Desk, serve_app: Serve) -> None:
    calls: list[int] = []

    def factory() -> ModelAdapter:
        calls.append(1)
        return ScriptedModel(parse_script(ORDER_SCRIPT), name="factory-model")

    client = serve_app(create_app(desk, model_factory=factory))
    body = order_run_body()
    del body["script"]
    run = client.post("/v1/runs?wait=60", json=body).json()
    # built when the run is accepted (a model that cannot be built is refused then), and by
    # the worker that executes it
    assert calls == [1, 1]
    assert steps_of(run, "scope")[0]["data"]["model"] == "factory-model"
    assert run["decision"]["kind"] == "answer"


# -- listing -------------------------------------------------------------------------------


@pytest.fixture
def listing(tmp_path: Path, serve_app: Serve) -> Iterator[tuple[httpx.Client, str]]:
    """A fresh desk holding 4 runs for raj (3 answers, 1 refusal) and 1 for someone else."""
    desk = open_desk(tmp_path)
    other = next(u["user_id"] for u in desk.data.users() if u["user_id"] != "raj_sanchez_2970")
    client = serve_app(create_app(desk))
    for _ in range(3):
        assert client.post("/v1/runs?wait=60", json=order_run_body()).status_code == 200
    refuse = {"principal": "raj_sanchez_2970", "input": "hi", "script": [{"refuse": "no"}]}
    assert client.post("/v1/runs?wait=60", json=refuse).status_code == 200
    assert client.post("/v1/runs?wait=60", json={**refuse, "principal": other}).status_code == 200
    yield client, other
    desk.store.close()


def test_list_pages_newest_first(listing: tuple[httpx.Client, str]) -> None:
    client, _ = listing
    everything = client.get("/v1/runs").json()
    assert everything["total"] == 5 and everything["limit"] == 50 and everything["offset"] == 0
    created = [r["created_at"] for r in everything["runs"]]
    assert created == sorted(created, reverse=True)
    assert "steps" not in everything["runs"][0]

    pages = [client.get("/v1/runs", params={"limit": 2, "offset": o}).json() for o in (0, 2, 4)]
    assert [len(p["runs"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 and p["limit"] == 2 for p in pages)
    paged_ids = [r["id"] for p in pages for r in p["runs"]]
    assert paged_ids == [r["id"] for r in everything["runs"]]
    beyond = client.get("/v1/runs", params={"offset": 10}).json()
    assert beyond["runs"] == [] and beyond["total"] == 5


def test_list_filters(listing: tuple[httpx.Client, str]) -> None:
    client, other = listing

    def ids(**params: Any) -> tuple[int, list[dict[str, Any]]]:
        body = client.get("/v1/runs", params=params).json()
        return body["total"], body["runs"]

    total, runs = ids(decision="refusal")
    assert total == 2 and {r["decision"]["kind"] for r in runs} == {"refusal"}
    total, runs = ids(decision="answer", principal="raj_sanchez_2970")
    assert total == 3 and {r["principal"] for r in runs} == {"raj_sanchez_2970"}
    total, runs = ids(principal=other)
    assert total == 1 and runs[0]["principal"] == other
    assert ids(status="completed")[0] == 5
    assert ids(status="suspended")[0] == 0
    assert ids(agent="retail-desk")[0] == 5
    assert ids(agent="no-such-agent")[0] == 0
    assert ids(decision="escalation")[0] == 0
    now = time.time()
    assert ids(since=now - 3600)[0] == 5
    assert ids(since=now + 3600)[0] == 0
    assert ids(until=now - 3600)[0] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"decision": "maybe"}, "query.decision"),
        ({"status": "sleeping"}, "query.status"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"since": "yesterday"}, "query.since"),
    ],
)
def test_list_rejects_bad_parameters(
    client: httpx.Client, params: dict[str, Any], field: str
) -> None:
    body = assert_problem(client.get("/v1/runs", params=params), 400, "BAD_REQUEST")
    assert [e["field"] for e in body["errors"]] == [field]


def test_list_rejects_an_inverted_time_range(client: httpx.Client) -> None:
    response = client.get("/v1/runs", params={"since": 2000, "until": 1000})
    assert "since" in assert_problem(response, 400, "BAD_REQUEST")["detail"]


# -- errors --------------------------------------------------------------------------------


def test_unknown_run_is_404(client: httpx.Client) -> None:
    body = assert_problem(client.get("/v1/runs/run_missing"), 404, "RUN_NOT_FOUND")
    assert body["instance"] == "/v1/runs/run_missing"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"principal": "nobody_0000"}, 404, "UNKNOWN_PRINCIPAL"),
        ({"agent": "no-such-agent"}, 404, "UNKNOWN_AGENT"),
        ({"script": [{"answer": "x", "tool": "calculate"}]}, 400, "SCENARIO_INVALID"),
        ({"script": [{"tool": "calculate", "cite": ["kb:1"]}]}, 400, "SCENARIO_INVALID"),
        ({"messages": [{"role": "user", "content": " "}]}, 400, "BAD_REQUEST"),
        ({"messages": []}, 400, "BAD_REQUEST"),
        ({"messages": [{"role": "user", "content": "x" * 9000}]}, 413, "INPUT_TOO_LARGE"),
    ],
)
def test_rejected_runs_leave_nothing_behind(
    client: httpx.Client, overrides: dict[str, Any], status: int, code: str
) -> None:
    before = total_runs(client)
    assert_problem(client.post("/v1/runs?wait=60", json=order_run_body(**overrides)), status, code)
    assert total_runs(client) == before


def test_missing_model_is_400(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_MODEL", raising=False)
    before = total_runs(client)
    body = order_run_body()
    del body["script"]
    assert_problem(client.post("/v1/runs?wait=60", json=body), 400, "MODEL_NOT_CONFIGURED")
    assert total_runs(client) == before


@pytest.mark.parametrize("role", ["system", "assistant", "tool", "User "])
def test_a_message_in_another_role_than_user_is_422_and_writes_nothing(
    client: httpx.Client, role: str
) -> None:
    before = total_runs(client)
    messages = [{"role": "user", "content": "hi"}, {"role": role, "content": "x"}]
    body = {"principal": "raj_sanchez_2970", "messages": messages}
    assert_problem(client.post("/v1/runs?wait=60", json=body), 422, "INPUT_ROLE_FORBIDDEN")
    assert total_runs(client) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"input": "hi"}, ["body.principal"]),
        ({"principal": "raj_sanchez_2970"}, ["body"]),
        ({"principal": "raj_sanchez_2970", "input": "a", "messages": []}, ["body"]),
        ({"principal": "raj_sanchez_2970", "input": "hi", "model": "x"}, ["body.model"]),
        ({"principal": "raj_sanchez_2970", "input": "hi", "script": "turns"}, ["body.script"]),
        ({"principal": "raj_sanchez_2970", "input": "hi", "script": [1]}, ["body.script.0"]),
    ],
)
def test_invalid_body_is_400_listing_fields(
    client: httpx.Client, body: dict[str, Any], fields: list[str]
) -> None:
    before = total_runs(client)
    problem = assert_problem(client.post("/v1/runs?wait=60", json=body), 400, "BAD_REQUEST")
    assert [e["field"] for e in problem["errors"]] == fields
    assert all(e["message"] for e in problem["errors"])
    assert total_runs(client) == before


@pytest.mark.parametrize("raw", [b"{not json", b'{"principal": "raj_sanchez_2970",', b""])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    before = total_runs(client)
    response = client.post(
        "/v1/runs?wait=60", content=raw, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "BAD_REQUEST")
    assert total_runs(client) == before


def test_oversized_body_by_content_length_is_413(client: httpx.Client) -> None:
    before = total_runs(client)
    body = json.dumps({**order_run_body(), "padding": "x" * 300_000})
    response = client.post(
        "/v1/runs?wait=60", content=body.encode(), headers={"content-type": "application/json"}
    )
    detail = assert_problem(response, 413, "INPUT_TOO_LARGE")["detail"]
    assert str(256 * 1024) in detail
    assert total_runs(client) == before


def test_oversized_streamed_body_is_413(client: httpx.Client) -> None:
    """No Content-Length (chunked): the limit holds on the bytes actually received."""
    before = total_runs(client)
    head = json.dumps(order_run_body())[:-1].encode() + b', "padding": "'

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(40):
            yield b"y" * 10_000
        yield b'"}'

    response = client.post(
        "/v1/runs?wait=60", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "INPUT_TOO_LARGE")
    assert total_runs(client) == before


def test_streamed_body_under_the_limit_is_accepted(desk: Desk, serve_app: Serve) -> None:
    client = serve_app(create_app(desk, max_body_bytes=4096))
    raw = json.dumps(order_run_body()).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 50):
            yield raw[i : i + 50]

    response = client.post(
        "/v1/runs?wait=60", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    padded = {"principal": "raj_sanchez_2970", "input": "x" * 5000, "script": ORDER_SCRIPT}
    assert_problem(client.post("/v1/runs?wait=60", json=padded), 413, "INPUT_TOO_LARGE")


def test_unexpected_error_is_500_without_internals(desk: Desk, serve_app: Serve) -> None:
    def broken_factory() -> ModelAdapter:
        raise RuntimeError("secret-internal-detail")

    client = serve_app(create_app(desk, model_factory=broken_factory))
    before = total_runs(client)
    body = order_run_body()
    del body["script"]
    response = client.post("/v1/runs?wait=60", json=body)
    problem = assert_problem(response, 500, "INTERNAL")
    assert "secret-internal-detail" not in json.dumps(problem)
    assert "RuntimeError" not in json.dumps(problem)
    # the server drops the connection after an unexpected error, and says so: the next
    # request goes on a new one rather than being reset on this one
    assert response.headers["connection"] == "close"
    assert total_runs(client) == before


def test_unknown_route_and_method_are_problems(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "BAD_REQUEST")
    assert_problem(client.delete("/v1/runs"), 405, "BAD_REQUEST")


# -- health --------------------------------------------------------------------------------


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_store(tmp_path: Path, serve_app: Serve) -> None:
    missing = tmp_path / "no-such-directory" / "t.db"
    engine = create_engine(f"sqlite:///{missing}")
    desk = open_retail_desk(RunStore(engine), db=RetailDB.fresh_copy())
    client = serve_app(create_app(desk))
    assert_problem(client.get("/healthz"), 503, "STORE_UNAVAILABLE")
    assert_problem(client.get("/v1/runs"), 503, "STORE_UNAVAILABLE")
    engine.dispose()


# -- OpenAPI -------------------------------------------------------------------------------


def test_openapi_documents_the_api(client: httpx.Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    assert set(paths) >= {
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/feedback",
        "/healthz",
        "/metrics",
    }
    assert set(paths["/v1/runs"]) == {"get", "post"}
    post = paths["/v1/runs"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunCreate"
    }
    assert "202" in post["responses"] and "200" in post["responses"]
    for status in ("400", "404", "413"):
        content = post["responses"][status]["content"]
        assert list(content) == [PROBLEM]
    # validation errors are 400 problems; a 422 (a forged message role) is a problem too,
    # never FastAPI's own validation body
    for methods in doc["paths"].values():
        for operation in methods.values():
            if "422" in operation.get("responses", {}):
                assert list(operation["responses"]["422"]["content"]) == [PROBLEM]
    schemas = doc["components"]["schemas"]
    assert {"RunCreate", "RunDetail", "RunPage", "Problem", "StepOut"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    params = {p["name"] for p in paths["/v1/runs"]["get"]["parameters"]}
    assert params == {
        "decision",
        "agent",
        "principal",
        "status",
        "since",
        "until",
        "release",
        "limit",
        "offset",
    }
