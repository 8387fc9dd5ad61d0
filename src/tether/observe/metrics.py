"""Prometheus metrics of the runtime, counted from committed steps, in a registry of their own.

Each committed step is counted once, by the process that committed it (`on_steps`); a run's
latency and outcome are counted when it ends. The registry belongs to whoever owns this
object (the server exposes it at `/metrics`), never to prometheus_client's global one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from tether.core.types import DecisionKind, Run, Step, StepKind
from tether.observe.business import headline

if TYPE_CHECKING:
    from tether.observe.drift import DriftReport

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
STAGE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30)
WAIT_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400)
RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class TetherMetrics:
    """Every metric tether exposes, registered in one `CollectorRegistry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.runs = Counter(
            "tether_runs",
            "Runs ended, by agent, decision and reason code",
            ("agent", "decision", "code"),
            registry=r,
        )
        self.run_seconds = Histogram(
            "tether_run_duration_seconds",
            "Run latency from request to decision",
            ("agent", "decision"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "tether_stage_duration_seconds",
            "Latency of one step of the loop, by stage",
            ("stage",),
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.tool_calls = Counter(
            "tether_tool_calls",
            "Tool calls executed, by tool and outcome",
            ("tool", "outcome"),
            registry=r,
        )
        self.tool_errors = Counter(
            "tether_tool_errors",
            "Failed tool calls, by tool and error code",
            ("tool", "code"),
            registry=r,
        )
        self.tool_attempts = Counter(
            "tether_tool_attempts",
            "Envelope attempts (first tries and retries), by outcome code",
            ("tool", "code"),
            registry=r,
        )
        self.tool_retries = Counter(
            "tether_tool_retries", "Attempts after the first, by tool", ("tool",), registry=r
        )
        self.rate_limited = Counter(
            "tether_tool_rate_limited", "Attempts refused by a rate limit", ("tool",), registry=r
        )
        self.breaker_state = Gauge(
            "tether_tool_breaker_state",
            "Circuit breaker state last seen per tool (0 closed, 1 half-open, 2 open)",
            ("tool",),
            registry=r,
        )
        self.breaker_opened = Counter(
            "tether_tool_breaker_opened", "Times a tool's breaker opened", ("tool",), registry=r
        )
        self.fallbacks = Counter(
            "tether_tool_fallbacks",
            "Fallbacks tried, by tool, kind and whether they served",
            ("tool", "kind", "outcome"),
            registry=r,
        )
        self.verdicts = Counter(
            "tether_guard_verdicts",
            "Guard verdicts, by target (tool or answer), check and effect",
            ("target", "check", "effect"),
            registry=r,
        )
        self.rule_hits = Counter(
            "tether_policy_rule_hits",
            "Policy rules that determined a policy verdict, by effect",
            ("rule", "effect"),
            registry=r,
        )
        self.escalations = Counter(
            "tether_escalations",
            "Runs ended in an escalation, by reason code",
            ("agent", "code"),
            registry=r,
        )
        self.refusals = Counter(
            "tether_refusals",
            "Runs ended in a refusal, by reason code",
            ("agent", "code"),
            registry=r,
        )
        self.answers_checked = Counter(
            "tether_answers_checked",
            "Proposed answers checked, by grounded or not",
            ("agent", "outcome"),
            registry=r,
        )
        self.claims = Counter(
            "tether_answer_claims",
            "Claims of checked answers, by verification status",
            ("status",),
            registry=r,
        )
        self.groundedness = Histogram(
            "tether_answer_groundedness_ratio",
            "Share of an answer's claims the evidence supports",
            buckets=RATIO_BUCKETS,
            registry=r,
        )
        self.model_tokens = Counter(
            "tether_model_tokens",
            "Tokens reported by model endpoints, by model and direction",
            ("model", "type"),
            registry=r,
        )
        self.approval_wait = Histogram(
            "tether_approval_wait_seconds",
            "Time an escalated action waited for a decision",
            ("outcome",),
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.suspended_runs = Gauge(
            "tether_runs_suspended", "Runs suspended, waiting for an approval", registry=r
        )
        self.runs_past_limit = Gauge(
            "tether_runs_past_time_limit",
            "Runs this process still executes past their time limit, stuck in a step; their "
            "leases are left to lapse so that another worker ends them",
            registry=r,
        )
        self.feedback = Counter(
            "tether_feedback",
            "Feedback received on runs, by resolved or not",
            ("resolved",),
            registry=r,
        )
        self.drift_value = Gauge(
            "tether_drift_monitor_value",
            "Effect size a drift monitor measured at its last evaluation (|Cohen's h| for "
            "rates, PSI for distributions); NaN without enough data",
            ("monitor", "statistic"),
            registry=r,
        )
        self.drift_threshold = Gauge(
            "tether_drift_monitor_threshold",
            "The effect size at or above which a drift monitor fires (with significance)",
            ("monitor", "statistic"),
            registry=r,
        )
        self.drift_fired = Gauge(
            "tether_drift_monitor_fired",
            "1 when a drift monitor fired at its last evaluation, else 0",
            ("monitor",),
            registry=r,
        )

        self.business_kpi = Gauge(
            "tether_business_kpi",
            "A business KPI of the runs of the last KPI window, by release (see the README's "
            "Business KPIs); NaN when the window holds nothing to compute it from",
            ("release", "kpi"),
            registry=r,
        )
        self.compliance_incidents = Gauge(
            "tether_compliance_incidents",
            "Writes denied or escalated in the last KPI window, by release, rule and effect",
            ("release", "rule", "effect"),
            registry=r,
        )

    def _c(self, metric: Any, *labels: str) -> Any:
        """The child of `metric` for `labels`, cached: steps are counted on the run's path."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)

    # -- feeding ------------------------------------------------------------------------

    def observe_steps(self, agent: str, steps: Sequence[Step]) -> None:
        """Count committed steps of an `agent`'s run: stage latency, tools, verdicts, answers."""
        tally: _Tally = {}  # counter increments, each added once when the steps are read
        try:
            for step in steps:
                self._c(self.stage_seconds, step.kind.value).observe(
                    max(0.0, step.ended_at - step.started_at)
                )
                if step.kind is StepKind.TOOL:
                    self._tool(step.data, tally)
                elif step.kind is StepKind.GUARD:
                    self._guard(agent, step, tally)
                elif step.kind is StepKind.MODEL_TURN:
                    self._tokens(step, tally)
        finally:
            for (metric, labels), amount in tally.items():
                self._c(metric, *labels).inc(amount)

    def observe_run(self, run: Run) -> None:
        """Count a run that ended: latency and outcome by decision kind."""
        decision = run.decision
        if decision is None:
            return
        kind = decision.kind.value
        code = decision.reason.code.value if decision.reason else ""
        self._c(self.runs, run.agent, kind, code).inc()
        self._c(self.run_seconds, run.agent, kind).observe(
            max(0.0, run.updated_at - run.created_at)
        )
        if decision.kind is DecisionKind.ESCALATION:
            self._c(self.escalations, run.agent, code).inc()
        elif decision.kind is DecisionKind.REFUSAL:
            self._c(self.refusals, run.agent, code).inc()

    def observe_drift(self, report: DriftReport) -> None:
        """Set each drift monitor's gauges from its last evaluation."""
        for m in report.monitors:
            value = math.nan if m.value is None else m.value
            self._c(self.drift_value, m.name, m.statistic).set(value)
            self._c(self.drift_threshold, m.name, m.statistic).set(m.threshold)
            self._c(self.drift_fired, m.name).set(1.0 if m.fired else 0.0)

    def observe_business(self, report: Mapping[str, Any]) -> None:
        """Set the business KPI gauges from a `business_kpis` report (releases that left the
        window drop out)."""
        for gauge in (self.business_kpi, self.compliance_incidents):
            gauge.clear()
        self._children = {
            k: v
            for k, v in self._children.items()
            if k[0] not in (id(self.business_kpi), id(self.compliance_incidents))
        }
        for found in report["releases"]:
            release = found["release"] or "none"
            for name, value in headline(found).items():
                self._c(self.business_kpi, release, name).set(math.nan if value is None else value)
            for rule, effects in found["compliance"]["by_rule"].items():
                for effect, n in effects.items():
                    self._c(self.compliance_incidents, release, rule, effect).set(n)

    def approval_waited(self, seconds: float, outcome: str) -> None:
        """An escalated action was decided (`approved`, `rejected`, `expired`) after `seconds`."""
        self._c(self.approval_wait, outcome).observe(max(0.0, seconds))

    def _tool(self, data: Mapping[str, Any], tally: _Tally) -> None:
        tool = str(data.get("tool", ""))
        ok = bool(data.get("ok"))
        _add(tally, self.tool_calls, (tool, "ok" if ok else "error"))
        if not ok:
            code = str((data.get("error") or {}).get("code", ""))
            _add(tally, self.tool_errors, (tool, code))
        for attempt in data.get("attempts", ()):
            if "fallback" in attempt:
                served = attempt.get("ok", True) and not attempt.get("code")
                kind = str(attempt["fallback"])
                _add(tally, self.fallbacks, (tool, kind, "served" if served else "failed"))
                continue
            name = str(attempt.get("tool", tool))
            code = attempt.get("code") or "OK"
            _add(tally, self.tool_attempts, (name, code))
            if int(attempt.get("attempt", 1)) > 1:
                _add(tally, self.tool_retries, (name,))
            if code == "RATE_LIMITED":
                _add(tally, self.rate_limited, (name,))
            if attempt.get("breaker_opened"):
                _add(tally, self.breaker_opened, (name,))
            state = attempt.get("breaker_after") or attempt.get("breaker")
            if state in BREAKER_VALUES:  # a gauge holds the last state seen: set in order
                self._c(self.breaker_state, name).set(BREAKER_VALUES[state])

    def _tokens(self, step: Step, tally: _Tally) -> None:
        usage = (step.data.get("output") or {}).get("usage") or {}
        for key, kind in (("prompt_tokens", "input"), ("completion_tokens", "output")):
            if isinstance(usage.get(key), int):
                _add(tally, self.model_tokens, (step.name, kind), usage[key])

    def _guard(self, agent: str, step: Step, tally: _Tally) -> None:
        data = step.data
        target = "answer" if "call" not in data else "tool"
        for verdict in data.get("verdicts", ()):
            effect = str(verdict.get("effect", ""))
            _add(tally, self.verdicts, (target, str(verdict.get("check", "")), effect))
            for rule in verdict_rules(verdict):
                _add(tally, self.rule_hits, (rule, effect))
        if target == "answer":
            grounded = answer_grounded(data)
            outcome = "grounded" if grounded else "ungrounded"
            _add(tally, self.answers_checked, (agent, outcome))
            statuses = claim_statuses(data)
            for status in statuses:
                _add(tally, self.claims, (status,))
            if statuses:
                self.groundedness.observe(statuses.count("supported") / len(statuses))
            else:
                self.groundedness.observe(1.0 if grounded else 0.0)


# counter increments gathered while reading a batch of steps: (metric, labels) -> amount
_Tally = dict[tuple[Any, tuple[str, ...]], float]


def _add(tally: _Tally, metric: Any, labels: tuple[str, ...], amount: float = 1) -> None:
    key = (metric, labels)
    tally[key] = tally.get(key, 0) + amount


def is_grounding_code(code: object) -> bool:
    """A reason code that says an answer is not supported by its evidence."""
    text = str(code or "")
    return text.startswith("CLAIM_") or any(
        word in text for word in ("UNGROUNDED", "UNSUPPORTED", "CONTRADICTED")
    )


def answer_grounded(guard_data: Mapping[str, Any]) -> bool:
    """False when an answer guard refused the answer for a grounding reason (a policy that
    forbids saying something is not a hallucination)."""
    for verdict in guard_data.get("verdicts", ()):
        if verdict.get("effect") == "allow":
            continue
        if any(is_grounding_code(r.get("code")) for r in verdict.get("reasons", ())):
            return False
    return True


def verdict_rules(verdict: Mapping[str, Any]) -> list[str]:
    """The policy rules that determined a verdict (a rule groups statements `rule:stmt`)."""
    facts = verdict.get("facts")
    if not facts:
        return []
    rules = facts.get("rules")
    if rules is None:
        policies = facts.get("policies")
        if not policies:
            return []
        rules = dict.fromkeys(str(p).split(":", 1)[0] for p in policies)
    return list(map(str, rules))


def claim_statuses(guard_data: Mapping[str, Any]) -> list[str]:
    """The verification status of every claim the answer checks assessed (when they did)."""
    out: list[str] = []
    for verdict in guard_data.get("verdicts", ()):
        for claim in (verdict.get("facts") or {}).get("claims", ()):
            if isinstance(claim, Mapping) and isinstance(claim.get("status"), str):
                out.append(claim["status"])
    return out
