"""How a run's steps become spans: a plain plan (names, times, attributes, parents) that
`tether.observe.tracing` hands to OpenTelemetry.

Names and attributes follow the OpenTelemetry GenAI semantic conventions: the run is an
`invoke_agent` span, each model turn a `chat` span, each tool call an `execute_tool` span (one
child per envelope attempt), retrieval a `retrieval` span. Guard checks and the decision carry
tether's own `tether.*` attributes. Every span keeps the start and end its step recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tether.core.types import Run, Step, StepKind
from tether.observe.redact import Redactor


class Kind(Enum):
    """The OpenTelemetry span kind a planned span gets."""

    INTERNAL = "internal"
    CLIENT = "client"


AttrValue = str | bool | int | float | list[str]


@dataclass
class PlannedSpan:
    """One span to emit; `parent` indexes the plan (None for the run's root span)."""

    name: str
    start: float  # seconds since the epoch
    end: float
    attributes: dict[str, AttrValue]
    parent: int | None = 0
    kind: Kind = Kind.INTERNAL
    error: str | None = None  # an error code: the span's status is ERROR with this description
    events: list[tuple[str, float, dict[str, AttrValue]]] = field(default_factory=list)


OP = "gen_ai.operation.name"


# attributes whose values tether itself names (operations, tools, codes, effects, ids it mints):
# they carry no personal data, so only the other strings pay for redaction. A tool name is the
# model's text until it names a tool in the run's scope, so `_Names.tool` settles it before.
VOCABULARY = frozenset(
    {
        OP,
        "gen_ai.agent.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.response.finish_reasons",
        "gen_ai.tool.name",
        "gen_ai.tool.type",
        "gen_ai.data_source.id",
        "error.type",
        "tether.run.id",
        "tether.tenant",
        "tether.step.kind",
        "tether.turn.kind",
        "tether.turn.tool_calls",
        "tether.decision.kind",
        "tether.decision.code",
        "tether.decision.citations",
        "tether.retrieval.evidence_ids",
        "tether.retrieval.labels",
        "tether.tool.risk",
        "tether.tool.fallback",
        "tether.tool.evidence_id",
        "tether.guard.target",
        "tether.guard.check",
        "tether.verdict.effect",
        "tether.verdict.decided_by",
        "tether.verdict.reasons",
        "tether.policy.ids",
        "tether.breaker.state",
        "tether.breaker.state_after",
    }
)


def _clean(attrs: Mapping[str, Any], redact: Redactor) -> dict[str, AttrValue]:
    """Drop empty values; redact every free-text string and structured value on its way out."""
    out: dict[str, AttrValue] = {}
    for key, value in attrs.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, str):
            out[key] = value if key in VOCABULARY else redact.text(value)
        elif isinstance(value, list | tuple):
            named = key in VOCABULARY
            out[key] = [str(v) if named else redact.text(str(v)) for v in value]
        elif isinstance(value, bool | int | float):
            out[key] = value
        else:
            cleaned = redact.value(value)
            out[key] = json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False, default=str)
    return out


@dataclass(frozen=True)
class _Names:
    """The tools in the run's scope, and the redactor for what the model named otherwise."""

    tools: frozenset[str]
    redact: Redactor

    @classmethod
    def of(cls, run: Run, steps: Sequence[Step], redact: Redactor) -> _Names:
        # a resumed run's scope step may be in the record only; without one, nothing is trusted
        scopes = [s for s in (*run.steps, *steps) if s.kind is StepKind.SCOPE]
        return cls(frozenset(str(t) for s in scopes for t in s.data.get("tools", ())), redact)

    def tool(self, name: Any) -> str:
        """`name` as exported: tether's own text when it is a tool in scope; else the model
        wrote it (a hallucinated tool, or an injection echoing customer data), so redacted."""
        text = str(name)
        return text if text in self.tools else self.redact.text(text)


def _split_model(name: str) -> tuple[str, str]:
    """("openai", "gpt-4o-mini") from "openai:gpt-4o-mini"; a bare name is both."""
    provider, _, model = name.partition(":")
    return (provider, model) if model else (name, name)


def plan_run(
    run: Run,
    steps: Sequence[Step],
    redact: Redactor,
    capture_content: bool = False,
    resumed: bool = False,
) -> list[PlannedSpan]:
    """The spans of `run` for `steps` (all of them, or those this process recorded)."""
    decision = run.decision
    start = steps[0].started_at if resumed and steps else run.created_at
    end = max([run.updated_at, *(s.ended_at for s in steps[-1:])])
    root = PlannedSpan(
        f"invoke_agent {run.agent}",
        start,
        end,
        _clean(
            {
                OP: "invoke_agent",
                "gen_ai.agent.name": run.agent,
                "tether.run.id": run.id,
                "tether.run.resumed": resumed or None,
                "tether.tenant": str(run.input.get("tenant", "")),
                "tether.decision.kind": decision.kind.value if decision else None,
                "tether.decision.code": (
                    decision.reason.code.value if decision and decision.reason else None
                ),
                "tether.steps": len(steps),
            },
            redact,
        ),
        parent=None,
    )
    plan = [root]
    names = _Names.of(run, steps, redact)
    for step in steps:
        plan.extend(_plan_step(step, len(plan), names, capture_content))
    return plan


def _plan_step(step: Step, index: int, names: _Names, capture: bool) -> Iterable[PlannedSpan]:
    data = step.data
    redact = names.redact
    base: dict[str, Any] = {"tether.step.seq": step.seq, "tether.step.kind": step.kind.value}
    if step.kind is StepKind.MODEL_TURN:
        yield _model_turn(step, base, names)
    elif step.kind is StepKind.TOOL:
        yield from _tool(step, base, index, names, capture)
    elif step.kind is StepKind.GUARD:
        yield from _guard(step, base, index, names)
    elif step.kind is StepKind.RETRIEVAL:
        evidence = [str(e.get("id", "")) for e in data.get("evidence", ())]
        sources = sorted({str(e.get("source", "")) for e in data.get("evidence", ())})
        attrs = {
            **base,
            OP: "retrieval",
            "gen_ai.data_source.id": ",".join(s for s in sources if s) or None,
            "tether.retrieval.evidence_ids": evidence,
            "tether.retrieval.labels": list(data.get("labels", ())),
            "tether.retrieval.query": str(data.get("query", "")) if capture else None,
        }
        yield PlannedSpan("retrieval", step.started_at, step.ended_at, _clean(attrs, redact))
    elif step.kind is StepKind.DECISION:
        decision = data.get("decision") or {}
        reason = decision.get("reason") or {}
        attrs = {
            **base,
            "tether.decision.kind": decision.get("kind", step.name),
            "tether.decision.code": reason.get("code"),
            "tether.decision.reason": reason.get("message"),
            "tether.decision.citations": list(decision.get("citations", ())),
        }
        yield PlannedSpan(
            f"decision {step.name}", step.started_at, step.ended_at, _clean(attrs, redact)
        )
    else:
        attrs = {**base, "tether.scope.tools": len(data.get("tools", ()))}
        yield PlannedSpan(step.name, step.started_at, step.ended_at, _clean(attrs, redact))


def _model_turn(step: Step, base: dict[str, Any], names: _Names) -> PlannedSpan:
    data = step.data
    provider, model = _split_model(step.name)
    output = data.get("output") or {}
    usage = output.get("usage") or {}
    error = (data.get("error") or {}).get("code")
    kind = output.get("kind")
    attrs = {
        **base,
        OP: "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.response.model": output.get("model") or None,
        "gen_ai.usage.input_tokens": usage.get("input_tokens", usage.get("prompt_tokens")),
        "gen_ai.usage.output_tokens": usage.get("output_tokens", usage.get("completion_tokens")),
        "gen_ai.response.finish_reasons": {"tool_calls": ["tool_calls"], "answer": ["stop"]}.get(
            kind or ""
        ),
        "tether.turn": data.get("turn"),
        "tether.turn.kind": kind,
        "tether.turn.tool_calls": [
            names.tool(c.get("name", "")) for c in output.get("tool_calls", ())
        ],
        "error.type": error,
    }
    return PlannedSpan(
        f"chat {model}",
        step.started_at,
        step.ended_at,
        _clean(attrs, names.redact),
        kind=Kind.CLIENT,
        error=error,
    )


def _tool(
    step: Step, base: dict[str, Any], index: int, names: _Names, capture: bool
) -> Iterable[PlannedSpan]:
    data = step.data
    redact = names.redact
    tool = names.tool(data.get("tool", step.name))
    error = None if data.get("ok", True) else (data.get("error") or {}).get("code", "TOOL_ERROR")
    attempts = [a for a in data.get("attempts", ()) if "attempt" in a]
    fallbacks = [a for a in data.get("attempts", ()) if "fallback" in a]
    attrs = {
        **base,
        OP: "execute_tool",
        "gen_ai.tool.name": tool,
        "gen_ai.tool.call.id": data.get("call_id"),
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.arguments": data.get("arguments") if capture else None,
        "error.type": error,
        "tether.tool.risk": data.get("risk"),
        "tether.tool.attempts": len(attempts) or None,
        "tether.tool.fallback": data.get("fallback"),
        "tether.tool.replayed": data.get("replayed"),
        "tether.tool.evidence_id": data.get("evidence_id"),
    }
    span = PlannedSpan(
        f"execute_tool {tool}", step.started_at, step.ended_at, _clean(attrs, redact), error=error
    )
    for fb in fallbacks:
        event = {f"tether.fallback.{k}": v for k, v in fb.items()}
        span.events.append(("tether.tool.fallback", step.ended_at, _clean(event, redact)))
    yield span
    at = step.started_at
    for attempt in attempts:
        latency = float(attempt.get("latency_ms") or 0.0) / 1000
        # attempts record durations, not clock times: lay them end to end within the step
        begin = min(at, step.ended_at)
        finish = min(begin + latency, step.ended_at)
        code = attempt.get("code")
        attempted = names.tool(attempt["tool"]) if "tool" in attempt else tool
        attempt_attrs = {
            "gen_ai.tool.name": attempted,
            "gen_ai.tool.call.id": data.get("call_id"),
            "error.type": code,
            "tether.attempt": attempt.get("attempt"),
            "tether.breaker.state": attempt.get("breaker"),
            "tether.breaker.state_after": attempt.get("breaker_after"),
            "tether.breaker.opened": attempt.get("breaker_opened"),
            "tether.retry_in_ms": attempt.get("retry_in_ms"),
        }
        yield PlannedSpan(
            f"tool_attempt {attempted}",
            begin,
            finish,
            _clean(attempt_attrs, redact),
            parent=index,
            error=code,
        )
        at = finish + float(attempt.get("retry_in_ms") or 0.0) / 1000


def _guard(step: Step, base: dict[str, Any], index: int, names: _Names) -> Iterable[PlannedSpan]:
    data = step.data
    redact = names.redact
    target = names.tool(step.name)  # a tool call's name, or "answer"
    verdicts = list(data.get("verdicts", ()))
    effect = data.get("effect")
    final_codes = [r.get("code", "") for r in (verdicts[-1].get("reasons", ()) if verdicts else ())]
    attrs = {
        **base,
        "tether.guard.target": target,
        "gen_ai.tool.call.id": (data.get("call") or {}).get("id"),
        "tether.verdict.effect": effect,
        "tether.verdict.decided_by": data.get("decided_by"),
        "tether.verdict.reasons": final_codes,
    }
    # a deny or an escalation is the guard doing its job, so the span's status stays unset
    yield PlannedSpan(f"guard {target}", step.started_at, step.ended_at, _clean(attrs, redact))
    for verdict in verdicts:
        facts = verdict.get("facts") or {}
        reasons = list(verdict.get("reasons", ()))
        check_attrs = {
            "tether.guard.check": verdict.get("check"),
            "tether.verdict.effect": verdict.get("effect"),
            "tether.verdict.reasons": [r.get("code", "") for r in reasons],
            "tether.verdict.messages": [r.get("message", "") for r in reasons],
            "tether.policy.ids": list(facts.get("policies", ())) if "policies" in facts else None,
        }
        # checks record no times of their own; each spans its guard step
        yield PlannedSpan(
            f"guard_check {verdict.get('check', '')}",
            step.started_at,
            step.ended_at,
            _clean(check_attrs, redact),
            parent=index,
        )
