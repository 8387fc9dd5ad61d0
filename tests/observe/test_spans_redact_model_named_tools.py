"""Exported spans must not carry a customer's e-mail address or card number.

README, *Traces*: exported attributes are redacted (`TETHER_REDACT`). A tool name is
model-authored text: a model that names a tool that does not exist (a hallucination, or a
prompt injection that makes it echo the customer's data) puts whatever it wrote into the
guard span's name, `tether.guard.target` and `tether.turn.tool_calls`. Only a tool in the
run's scope is tether's own text; any other name, and any call id, is redacted.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.observe.conftest import ask, open_desk
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.observe import Observability, TetherMetrics, Tracing
from tether.observe.redact import Redactor
from tether.observe.spans import plan_run
from tether.store.runs import RunStore

EMAIL = "raj.sanchez2046@example.com"
CARD = "4111111111111111"  # passes the Luhn check


def test_model_named_tool_is_redacted_in_spans(store: RunStore) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter)
    desk = open_desk(store, Observability(TetherMetrics(), tracing))
    script = [
        {"tool": f"email_receipt {EMAIL} card {CARD}", "args": {}},
        {"answer": "I cannot do that."},
    ]
    run = ask(desk, "Send my receipt please", script)
    assert run.decision is not None
    assert tracing.force_flush()
    spans = exporter.get_finished_spans()
    assert any(s.name.startswith("guard ") for s in spans)
    leaks = []
    for span in spans:
        texts = [span.name]
        for value in (span.attributes or {}).values():
            texts.extend(map(str, value) if isinstance(value, tuple) else [str(value)])
        leaks.extend(f"{span.name}: {t}" for t in texts if EMAIL in t or CARD in t)
    tracing.shutdown()
    assert not leaks, leaks
    guard = next(s for s in spans if s.name.startswith("guard email_receipt"))
    assert "[redacted:email]" in guard.name and "[redacted:card]" in guard.name
    assert guard.attributes is not None
    assert guard.attributes["tether.guard.target"] == guard.name.removeprefix("guard ")


def test_tools_in_scope_keep_their_names_and_call_ids_are_redacted() -> None:
    scope = Step(
        "run_1", 1, StepKind.SCOPE, "scope", 1000.0, 1000.0, {"tools": ["get_order_details"]}
    )
    turn = {
        "turn": 0,
        "output": {
            "kind": "tool_calls",
            "tool_calls": [
                {"id": f"call {EMAIL}", "name": "get_order_details"},
                {"id": "call_0_1", "name": f"lookup {EMAIL}"},
            ],
        },
    }
    model = Step("run_1", 2, StepKind.MODEL_TURN, "scripted", 1000.0, 1000.1, turn)
    tool = {"call_id": f"call {EMAIL}", "tool": "get_order_details", "ok": True}
    called = Step("run_1", 3, StepKind.TOOL, "get_order_details", 1000.1, 1000.2, tool)
    steps = (scope, model, called)
    run = Run("run_1", "retail-desk", "u", RunStatus.COMPLETED, 999.9, 1000.3, {}, steps=steps)
    plan = plan_run(run, list(steps), Redactor())
    chat, execute = plan[2], plan[3]
    assert chat.attributes["tether.turn.tool_calls"] == [
        "get_order_details",
        "lookup [redacted:email]",
    ]
    assert execute.name == "execute_tool get_order_details"
    assert execute.attributes["gen_ai.tool.name"] == "get_order_details"
    assert execute.attributes["gen_ai.tool.call.id"] == "call [redacted:email]"
