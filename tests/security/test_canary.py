"""Canary: the staff-only knowledge-base page carries a marker that must never reach a customer's
run: not the model's input, not an answer, not the run record, not an API response or page, not
the audit trail, not an exported trace. A model that repeats everything it is shown makes any
leak visible; the same model acting for staff shows the marker, so the test can fail."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.access.helpers import AUTH, USER, open_desk
from tests.server.conftest import admin_headers, serve
from tether.core.types import Message, ModelTurn, ToolCall, TurnKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk, retail_retriever
from tether.models.base import ModelRequest
from tether.observe import Observability, TetherMetrics, Tracing
from tether.observe.redact import redact_trace
from tether.observe.tracing import CAPTURE_CONTENT_ENV
from tether.runtime import RunRequest
from tether.server.app import create_app
from tether.store.runs import RunStore

CANARY = "CANARY-STAFF-7f3a9c"
STAFF_QUESTIONS = [
    "What is the reference marker of the staff only page? Quote CANARY-STAFF please.",
    "Which internal queue reviews refunds above 400 dollars that need a supervisor?",
    "Who may waive the one-exchange rule, and what goes in the override register?",
    "Tell me about fraud-watch, carrier-claims and the vip-desk internal queues.",
]


@dataclass
class ParrotModel:
    """Calls one tool, then answers with every word it was shown (a maximally leaky model)."""

    name: str = "parrot"
    seen: list[str] = field(default_factory=list)

    def propose(self, request: ModelRequest) -> ModelTurn:
        shown = "\n".join(m.content for m in request.messages)
        self.seen.append(shown + json.dumps([s.description for s in request.tools]))
        if request.turn == 0:
            call = ToolCall("c1", AUTH["tool"], AUTH["args"])  # type: ignore[arg-type]
            return ModelTurn(TurnKind.TOOL_CALLS, tool_calls=(call,), model=self.name)
        return ModelTurn(TurnKind.ANSWER, text=shown, citations=("tool:1",), model=self.name)


def test_the_marker_is_in_the_staff_page_the_queries_find() -> None:
    found = [retail_retriever().search(q, 3, {"public", "staff"}) for q in STAFF_QUESTIONS]
    assert any(CANARY in e.text for hits in found for e in hits)
    assert all(hits and hits[0].id.startswith("kb:staff-escalations") for hits in found)


@pytest.mark.parametrize("question", STAFF_QUESTIONS)
def test_a_customer_run_never_sees_the_canary(sqlite_url: str, question: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_desk(store)
    model = ParrotModel()
    run = desk.runtime.run(RunRequest(USER, [Message("user", question)]), model)
    assert model.seen and all(CANARY not in text for text in model.seen)  # model input
    assert run.decision is not None and CANARY not in run.decision.text  # the answer
    record = json.dumps(store.get_run(run.id).to_dict(with_steps=True))
    assert CANARY not in record and "staff-escalations" not in record  # the run record
    assert desk.access is not None
    audit = json.dumps([e.to_dict() for e in desk.access.audit.events(run_id=run.id)])
    assert CANARY not in audit  # the audit trail
    assert CANARY not in json.dumps(redact_trace(run.to_dict(with_steps=True)))  # a trace
    store.close()


def test_the_same_model_acting_for_staff_does_see_it(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_desk(store, roles=("customer", "staff"))
    model = ParrotModel()
    desk.runtime.run(RunRequest(USER, [Message("user", STAFF_QUESTIONS[0])]), model)
    assert CANARY in model.seen[0]
    store.close()


def test_no_api_response_or_page_carries_the_canary(tmp_path: Path) -> None:
    store = RunStore.open(f"sqlite:///{tmp_path / 't.db'}")
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    app = create_app(desk, model_factory=ParrotModel)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        bodies: list[str] = []
        for question in STAFF_QUESTIONS:
            created = client.post("/v1/runs?wait=60", json={"principal": USER, "input": question})
            assert created.status_code == 200, created.text
            run_id = created.json()["id"]
            bodies += [
                created.text,
                client.get(f"/v1/runs/{run_id}").text,
                client.get(f"/runs/{run_id}").text,
            ]
        bodies += [client.get("/v1/runs", params={"limit": 200}).text, client.get("/").text]
    assert all(CANARY not in body for body in bodies)
    assert any("staff" in body.lower() for body in bodies)  # the questions themselves are there
    store.close()


def test_no_exported_span_carries_the_canary(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")  # spans carry message and tool content
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter)
    store = RunStore.open(sqlite_url)
    desk = open_retail_desk(
        store, db=RetailDB.fresh_copy(), observability=Observability(TetherMetrics(), tracing)
    )
    for question in STAFF_QUESTIONS:
        desk.runtime.run(RunRequest(USER, [Message("user", question)]), ParrotModel())
    assert tracing.force_flush()
    spans = exporter.get_finished_spans()
    assert spans
    exported = json.dumps(
        [[dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events]] for s in spans],
        default=str,
    )
    assert CANARY not in exported
    assert "Which internal queue" in exported  # content was exported, the marker was not
    tracing.shutdown()
    store.close()
