"""A run that a stopped process left behind and another one resumed is observed once: each
process counts and traces the steps it recorded, and the run's KPIs are added when it ends."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from tether.core.types import Message, ModelTurn, RunStatus
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.observe import KpiStore, Observability, TetherMetrics, Tracing
from tether.runtime import RunRequest
from tether.store.runs import RunStore

from .conftest import EMAIL, RECOVERY_SCRIPT, USER, open_desk


class Crash(BaseException):
    """Stands in for the process dying."""


class DiesAtTurn:
    """The scripted model, except that the process dies when turn `at` is asked for."""

    def __init__(self, at: int) -> None:
        self.inner = ScriptedModel(parse_script(RECOVERY_SCRIPT))
        self.at = at

    @property
    def name(self) -> str:
        return self.inner.name

    def propose(self, request: ModelRequest) -> ModelTurn:
        if request.turn == self.at:
            raise Crash
        return self.inner.propose(request)


def _counted_steps(metrics: TetherMetrics) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        if family.name == "tether_stage_duration_seconds":
            return sum(s.value for s in family.samples if s.name.endswith("_count"))
    return 0.0


def test_a_resumed_run_is_traced_counted_and_rolled_up_once(store: RunStore) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter)
    before = Observability(TetherMetrics(), tracing)
    request = RunRequest(USER, [Message("user", f"Where is W4566809? I am {EMAIL}")])
    with pytest.raises(Crash):
        open_desk(store, before).runtime.run(request, DiesAtTurn(2))
    (stopped,) = store.list_runs()
    assert stopped.status is RunStatus.RUNNING
    recorded_before = store.get_run(stopped.id).step_count
    assert tracing.force_flush() and exporter.get_finished_spans() == ()  # no end, no trace

    after = Observability(TetherMetrics(), tracing)  # another process
    model = ScriptedModel(parse_script(RECOVERY_SCRIPT))
    run = open_desk(store, after).runtime.resume(stopped.id, model)
    assert run.decision is not None and run.decision.kind.value == "answer"
    assert tracing.force_flush()

    spans = exporter.get_finished_spans()
    (root,) = [s for s in spans if s.parent is None]
    assert root.attributes is not None and root.attributes["tether.run.resumed"] is True
    assert root.context.trace_id == int(run.trace_id, 16)
    traced = sorted(
        s.attributes["tether.step.seq"]  # type: ignore[type-var]
        for s in spans
        if s.attributes and "tether.step.seq" in s.attributes
    )
    assert traced == list(range(recorded_before + 1, run.step_count + 1))

    assert _counted_steps(before.metrics) == recorded_before
    assert _counted_steps(after.metrics) == run.step_count - recorded_before
    totals = KpiStore(store.engine).totals()
    assert totals.runs == 1 and totals.count("tool_calls") == 3
    assert totals.count("tool_errors") == 1
