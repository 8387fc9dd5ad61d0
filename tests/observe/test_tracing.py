"""Spans of governed runs: one per stage with GenAI attributes, under the run's own trace id,
exported in-memory and over real OTLP/HTTP, never slowed by a collector that is down."""

from __future__ import annotations

import gzip
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tether.core.clock import RandomIds, SequentialIds
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.observe import Tracing
from tether.observe.redact import Redactor
from tether.observe.spans import plan_run
from tether.observe.tracing import CAPTURE_CONTENT_ENV, otel_trace_id
from tether.store.runs import RunStore

from .conftest import EMAIL, RECOVERY_SCRIPT, ask, observability, open_desk, run_demo

QUESTION = f"Where is my order W4566809? I am {EMAIL}."


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _traced_run(store: RunStore) -> tuple[Run, list[ReadableSpan]]:
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter)
    desk = open_desk(store, observability(tracing))
    run = ask(desk, QUESTION, RECOVERY_SCRIPT)
    assert tracing.force_flush()  # spans are built on the tracing thread
    return run, list(exporter.get_finished_spans())


def test_trace_ids_are_w3c_ids() -> None:
    ids = {RandomIds().new_trace_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) and i == i.lower() for i in ids)
    seq = SequentialIds()
    assert [seq.new_trace_id(), seq.new_trace_id()] == ["0" * 31 + "1", "0" * 31 + "2"]
    assert seq.new_id("run") == "run_000001"  # run ids keep their own numbering
    assert otel_trace_id("ab" * 16) == int("ab" * 16, 16)
    legacy = otel_trace_id("trace_0123")  # runs recorded before W3C ids get a stable one
    assert legacy == otel_trace_id("trace_0123") and 0 < legacy < 2**128


def test_one_span_per_stage_with_genai_attributes(store: RunStore) -> None:
    run, spans = _traced_run(store)
    assert run.decision is not None and run.decision.kind.value == "answer"
    assert len(run.trace_id) == 32
    assert {s.context.trace_id for s in spans} == {int(run.trace_id, 16)}

    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1
    root = roots[0]
    assert root.name == "invoke_agent retail-desk"
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "retail-desk"
    assert root.attributes["tether.run.id"] == run.id
    assert root.attributes["tether.decision.kind"] == "answer"

    # exactly one span per step, carrying the step's own start and end
    by_seq: dict[int, ReadableSpan] = {}
    for span in spans:
        seq = (span.attributes or {}).get("tether.step.seq")
        if isinstance(seq, int):
            by_seq[seq] = span
    assert sorted(by_seq) == [step.seq for step in run.steps]
    for step in run.steps:
        span = by_seq[step.seq]
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert (span.start_time, span.end_time) == (_ns(step.started_at), _ns(step.ended_at))

    chats = [s for s in spans if s.name == "chat scripted"]
    assert len(chats) == len([s for s in run.steps if s.kind is StepKind.MODEL_TURN]) == 4
    for chat in chats:
        assert chat.attributes is not None
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "scripted"

    tool_steps = [s for s in run.steps if s.kind is StepKind.TOOL]
    for step in tool_steps:
        span = by_seq[step.seq]
        assert span.attributes is not None
        assert span.name == f"execute_tool {step.data['tool']}"
        assert span.attributes["gen_ai.operation.name"] == "execute_tool"
        assert span.attributes["gen_ai.tool.name"] == step.data["tool"]
        assert span.attributes["gen_ai.tool.call.id"] == step.data["call_id"]
        attempts = [s for s in spans if s.parent and s.parent.span_id == span.context.span_id]
        assert len(attempts) == len(step.data["attempts"]) >= 1
        assert all(a.name == f"tool_attempt {step.data['tool']}" for a in attempts)
    failed = by_seq[tool_steps[1].seq]
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "NOT_FOUND"
    assert failed.status.status_code is StatusCode.ERROR
    assert "error.type" not in (by_seq[tool_steps[0].seq].attributes or {})

    for step in (s for s in run.steps if s.kind is StepKind.GUARD):
        span = by_seq[step.seq]
        assert span.attributes is not None
        assert span.attributes["tether.verdict.effect"] == step.data["effect"]
        checks = [s for s in spans if s.parent and s.parent.span_id == span.context.span_id]
        assert sorted(c.name for c in checks) == sorted(
            f"guard_check {v['check']}" for v in step.data["verdicts"]
        )
        assert all(c.attributes and "tether.verdict.effect" in c.attributes for c in checks)

    retrieval = next(s for s in run.steps if s.kind is StepKind.RETRIEVAL)
    span = by_seq[retrieval.seq]
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "retrieval"
    assert list(span.attributes["tether.retrieval.evidence_ids"]) == [  # type: ignore[arg-type]
        e["id"] for e in retrieval.data["evidence"]
    ]
    decision = by_seq[run.steps[-1].seq]
    assert decision.attributes is not None
    assert decision.attributes["tether.decision.kind"] == "answer"

    # nothing personal leaves in the spans by default
    for s in spans:
        for value in (s.attributes or {}).values():
            assert EMAIL not in str(value)


def test_captured_content_is_redacted(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    run, spans = _traced_run(store)
    lookup = next(s for s in spans if s.name == "execute_tool find_user_id_by_email")
    assert lookup.attributes is not None
    assert lookup.attributes["gen_ai.tool.call.arguments"] == '{"email":"[redacted:email]"}'
    retrieval = next(s for s in spans if s.name == "retrieval")
    assert retrieval.attributes is not None
    assert "[redacted:email]" in str(retrieval.attributes["tether.retrieval.query"])
    assert all(EMAIL not in str(v) for s in spans for v in (s.attributes or {}).values())
    # the system of record keeps what replay needs
    assert any(EMAIL in str(step.data) for step in store.get_run(run.id).steps)


def test_retries_and_fallbacks_become_attempt_spans_and_events() -> None:
    data = {
        "call_id": "call_0_0",
        "tool": "get_order_details",
        "ok": True,
        "fallback": "cached",
        "attempts": [
            {"attempt": 1, "tool": "get_order_details", "code": "TOOL_TIMEOUT",
             "latency_ms": 100.0, "breaker": "closed", "retry_in_ms": 50.0},
            {"attempt": 2, "tool": "get_order_details", "code": "TOOL_TIMEOUT",
             "latency_ms": 100.0, "breaker": "closed", "breaker_after": "open",
             "breaker_opened": True},
            {"fallback": "cached", "ok": True, "age_s": 3.0},
        ],
    }  # fmt: skip
    step = Step("run_1", 3, StepKind.TOOL, "get_order_details", 1000.0, 1000.3, data)
    run = Run("run_1", "retail-desk", "u", RunStatus.COMPLETED, 999.9, 1000.4, {}, steps=(step,))
    plan = plan_run(run, [step], Redactor())
    tool = plan[1]
    assert tool.name == "execute_tool get_order_details"
    assert tool.attributes["tether.tool.fallback"] == "cached"
    assert [e[0] for e in tool.events] == ["tether.tool.fallback"]
    attempts = plan[2:]
    assert [a.attributes["tether.attempt"] for a in attempts] == [1, 2]
    assert all(a.parent == 1 and a.error == "TOOL_TIMEOUT" for a in attempts)
    # laid end to end inside the step, with the backoff between them
    assert attempts[0].start == pytest.approx(1000.0)
    assert attempts[0].end == pytest.approx(1000.1)
    assert attempts[1].start == pytest.approx(1000.15)
    assert attempts[1].end == pytest.approx(1000.25)
    assert attempts[1].attributes["tether.breaker.state_after"] == "open"


# -- OTLP over HTTP -----------------------------------------------------------------------------


class _Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.requests: list[tuple[str, ExportTraceServiceRequest]] = []


class _Receive(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.requests.append((self.path, request))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_demo_spans_reach_an_otlp_http_collector(
    store: RunStore, collector: _Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = collector.server_address[1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tether-test")
    tracing = Tracing.from_env()
    assert tracing is not None
    runs = run_demo(store, observability(tracing))
    assert tracing.force_flush()
    tracing.shutdown()

    assert collector.requests and {path for path, _ in collector.requests} == {"/v1/traces"}
    spans: dict[bytes, list[Any]] = {}
    services = set()
    for _, request in collector.requests:
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            services.add(attrs.get("service.name"))
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.setdefault(span.trace_id, []).append(span)
    assert services == {"tether-test"}
    assert len(runs) >= 10
    for run in runs:
        received = spans[bytes.fromhex(run.trace_id)]
        names = [s.name for s in received]
        assert names.count(f"invoke_agent {run.agent}") == 1
        step_spans = [s for s in received if any(a.key == "tether.step.seq" for a in s.attributes)]
        assert len(step_spans) == len(run.steps)
        for span in received:
            attrs = {a.key: a.value for a in span.attributes}
            if span.name.startswith("chat "):
                assert attrs["gen_ai.operation.name"].string_value == "chat"
                assert attrs["gen_ai.request.model"].string_value == "scripted"
            if span.name.startswith("execute_tool "):
                assert attrs["gen_ai.tool.name"].string_value == span.name.split(" ", 1)[1]
                assert attrs["gen_ai.tool.call.id"].string_value


def _timed_runs(store: RunStore, tracing: Tracing | None, n: int) -> list[float]:
    desk = open_desk(store, observability(tracing))
    durations = []
    for _ in range(n):
        started = time.perf_counter()
        run = ask(desk, QUESTION, RECOVERY_SCRIPT)
        durations.append(time.perf_counter() - started)
        assert run.decision is not None and run.decision.kind.value == "answer"
    return durations


@pytest.mark.parametrize("collector_state", ["refusing", "silent"])
def test_an_unreachable_collector_never_slows_or_fails_a_run(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, collector_state: str
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if collector_state == "silent":
        sock.listen(8)  # accepts connections into the backlog, never answers
    else:
        sock.close()  # nothing listens: connections are refused
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{port}/v1/traces")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "10")  # export (and fail) while runs go on
    try:
        baseline = _timed_runs(store, None, 15)
        tracing = Tracing.from_env()
        assert tracing is not None
        traced = _timed_runs(store, tracing, 30)
        if collector_state == "silent":
            sock.settimeout(5)
            conn, _ = sock.accept()  # the exporter was connecting while the runs went on
            conn.close()
        started = time.perf_counter()
        tracing.shutdown()
        stop_s = time.perf_counter() - started
    finally:
        sock.close()
    # a blocking export would cost a run seconds (retry backoff, or the request timeout), and
    # exports are tried every 10 ms, so it would slow most runs: one slow run is a busy machine
    slow = [round(d, 3) for d in traced if d >= 1.0]
    assert len(slow) <= 1, f"traced runs of a second or more: {slow}"
    assert statistics.median(traced) < 3 * statistics.median(baseline) + 0.02
    assert stop_s < 3.0, f"shutdown took {stop_s:.2f} s"
