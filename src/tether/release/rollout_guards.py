"""What a staged rollout compares: conversations' outcomes, the KPIs read from them per arm,
and the guards (`METRIC OP baseline [+|-|*] NUMBER`) that bound the candidate's KPIs by the
baseline's.

The unit is the conversation, not the turn: turns that end in a clarification or a
confirmation wait on the user, so a conversation's outcome is its last turn's decision, and a
conversation still waiting on the user (its last turn a clarification or a confirmation) has
no outcome yet and is not counted.

The business KPIs (cost, handle time, compliance incidents, audit completeness) are read from
each turn's run through the same per-run definitions the business report uses
(`tether.observe.run_facts`); a rollout step cannot wait out the follow-up window of
first-contact resolution, so that KPI is not a guard.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind
from tether.observe.business import handle_time_s
from tether.release.rollout_stats import (
    Bound,
    NonInferiority,
    mean_test,
    quantile,
    quantile_test,
    rate_test,
)

WAITING = (DecisionKind.CLARIFICATION, DecisionKind.CONFIRMATION)
RESOLVED = (DecisionKind.ANSWER, DecisionKind.ACTION)


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation as a rollout sees it."""

    decision: DecisionKind
    latency_s: float
    tool_calls: int = 0
    tool_errors: int = 0
    verified: bool = False  # the claims check judged a proposed answer in this turn
    stopped_by_verification: bool = False  # ... and stopped it (deny or escalate)
    started_at: float = 0.0
    cost: float | None = 0.0  # its model cost; None when a model it used has no price
    incident: bool = False  # a write denied or escalated by a rule
    audited: bool = True  # every step that gives rise to an audit event has it in the chain


@dataclass(frozen=True)
class Facts:
    """What the KPIs read from one concluded conversation."""

    outcome: DecisionKind
    verified: bool  # the claims check judged a proposed answer
    stopped: bool  # ... and stopped one
    called_tool: bool
    tool_failed: bool
    slowest_s: float  # the slowest turn's latency
    cost: float | None  # the turns' model cost; None when some has no price
    handle_time_s: float
    incident: bool
    audit_complete: bool


@dataclass(frozen=True)
class Conversation:
    """A conversation's turns, in order."""

    id: str
    turns: tuple[Turn, ...]

    @property
    def outcome(self) -> DecisionKind:
        return self.turns[-1].decision

    @property
    def concluded(self) -> bool:
        return bool(self.turns) and self.outcome not in WAITING

    @cached_property
    def facts(self) -> Facts:
        turns = self.turns
        return Facts(
            self.outcome,
            any(t.verified for t in turns),
            any(t.stopped_by_verification for t in turns),
            any(t.tool_calls > 0 for t in turns),
            any(t.tool_errors > 0 for t in turns),
            max(t.latency_s for t in turns),
            None if any(t.cost is None for t in turns) else sum(t.cost or 0.0 for t in turns),
            handle_time_s(turns[0].started_at, turns[-1].started_at + turns[-1].latency_s),
            any(t.incident for t in turns),
            all(t.audited for t in turns),
        )


@dataclass(frozen=True)
class Kpi:
    """A KPI over concluded conversations: a rate (the share of the conversations it applies
    to that `hit`), or the q-quantile or the mean of a per-conversation value."""

    name: str
    meaning: str
    hit: Callable[[Facts], bool] | None = None
    applies: Callable[[Facts], bool] | None = None  # None: every conversation
    value: Callable[[Facts], float | None] | None = None  # None: this conversation has none
    q: float | None = None  # None: the mean

    @property
    def is_rate(self) -> bool:
        return self.hit is not None


KPIS: dict[str, Kpi] = {
    k.name: k
    for k in (
        Kpi("resolution_rate", "conversations that ended in an answer or an action",
            hit=lambda f: f.outcome in RESOLVED),
        Kpi("escalation_rate", "conversations that ended in an escalation to a person",
            hit=lambda f: f.outcome is DecisionKind.ESCALATION),
        Kpi("refusal_rate", "conversations that ended in a refusal",
            hit=lambda f: f.outcome is DecisionKind.REFUSAL),
        Kpi("refused_by_verification",
            "conversations in which the claims check stopped a proposed answer, over those in "
            "which it judged one",
            hit=lambda f: f.stopped, applies=lambda f: f.verified),
        Kpi("tool_error_rate",
            "conversations with a failed tool call, over those that called a tool",
            hit=lambda f: f.tool_failed, applies=lambda f: f.called_tool),
        Kpi("p50_latency_s", "median over conversations of the slowest turn, in seconds",
            value=lambda f: f.slowest_s, q=0.5),
        Kpi("p95_latency_s", "95th percentile over conversations of the slowest turn, in seconds",
            value=lambda f: f.slowest_s, q=0.95),
        # spend is the mean times the traffic, so a budget bounds the mean: a quantile would
        # miss a candidate that costs more on a minority of conversations
        Kpi("cost_per_conversation",
            "mean model cost of a conversation at TETHER_MODEL_PRICES (none while a "
            "conversation used a model without a price)",
            value=lambda f: f.cost),
        Kpi("handle_time_s",
            "mean over conversations from the start of the first turn to the end of the last, "
            "in seconds",
            value=lambda f: f.handle_time_s),
        Kpi("compliance_incident_rate",
            "conversations in which a rule denied or escalated a write",
            hit=lambda f: f.incident),
        Kpi("audit_completeness",
            "conversations whose every step that gives rise to an audit event has it in the "
            "chain",
            hit=lambda f: f.audit_complete),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ArmSample:
    """One arm's concluded conversations, counted once for every KPI: (hits, n) per rate, the
    sorted values per value KPI, and how many conversations had no value for it (then the KPI
    has no figure and its guard cannot pass: an unknown is never read as zero)."""

    rates: dict[str, tuple[int, int]]
    values: dict[str, list[float]]
    missing: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, convs: Sequence[Conversation]) -> ArmSample:
        facts = [c.facts for c in convs if c.concluded]
        rates: dict[str, tuple[int, int]] = {}
        values: dict[str, list[float]] = {}
        missing: dict[str, int] = {}
        for kpi in KPIS.values():
            if kpi.hit is not None:
                sample = facts if kpi.applies is None else [f for f in facts if kpi.applies(f)]
                rates[kpi.name] = (sum(map(kpi.hit, sample)), len(sample))
            else:
                assert kpi.value is not None
                found = [kpi.value(f) for f in facts]
                values[kpi.name] = sorted(v for v in found if v is not None)
                missing[kpi.name] = sum(v is None for v in found)
        return cls(rates, values, missing)

    def known(self, name: str) -> list[float]:
        """A value KPI's sorted values; empty when a conversation has none."""
        return [] if self.missing.get(name) else self.values[name]

    @property
    def n(self) -> int:
        return self.rates["resolution_rate"][1]

    def measure(self, name: str) -> float | None:
        if name in self.rates:
            hits, n = self.rates[name]
            return round(hits / n, 6) if n else None
        values, q = self.known(name), KPIS[name].q
        if not values:
            return None
        return round(quantile(values, q) if q is not None else math.fsum(values) / len(values), 6)

    def kpis(self) -> dict[str, Any]:
        """`{"n", KPI: value, ...}`, and `{KPI}_missing` for a value KPI some conversations
        lack."""
        found: dict[str, Any] = {"n": self.n, **{name: self.measure(name) for name in KPIS}}
        found.update({f"{k}_missing": n for k, n in self.missing.items() if n})
        return found


def arm_kpis(convs: Sequence[Conversation]) -> dict[str, Any]:
    """`{"n", KPI: value, ...}` over the concluded conversations of one arm."""
    return ArmSample.of(convs).kpis()


GUARD_RE = re.compile(
    r"\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|>|<)\s*baseline\s*"
    r"(?:(?P<sign>[-+*])\s*(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))?\s*"
)


def _invalid(expr: str, problem: str) -> TetherError:
    return TetherError(ErrorCode.ROLLOUT_GUARD_INVALID, f"guard {expr!r}: {problem}")


@dataclass(frozen=True)
class Guard:
    """`METRIC OP baseline [+|-|*] NUMBER`: the candidate's KPI against a bound on the
    baseline's (the margin of the non-inferiority test)."""

    expr: str
    metric: str
    bound: Bound

    @classmethod
    def parse(cls, text: str) -> Guard:
        """The guard `text` states; ROLLOUT_GUARD_INVALID naming the problem otherwise."""
        expr = " ".join(str(text).split())
        found = GUARD_RE.fullmatch(expr)
        if found is None:
            raise _invalid(
                expr, "expected METRIC OP baseline [+|-|*] NUMBER with OP one of >=, <=, >, <, "
                "e.g. 'resolution_rate >= baseline - 0.02'",
            )  # fmt: skip
        metric, op, sign, number = found.group("metric", "op", "sign", "number")
        kpi = KPIS.get(metric)
        if kpi is None:
            raise _invalid(expr, f"unknown metric {metric!r}; one of {', '.join(KPIS)}")
        value = float(number) if number is not None else 0.0
        if not math.isfinite(value):
            raise _invalid(expr, "the number must be finite")
        if sign == "*" and value <= 0:
            raise _invalid(expr, "a factor must be above 0")
        if sign in ("+", "-") and kpi.is_rate and value >= 1:
            raise _invalid(expr, f"{metric} is a share from 0 to 1: a margin must be below 1")
        higher = op in (">=", ">")
        if sign == "*":
            bound = Bound(higher, factor=value)
        else:
            bound = Bound(higher, offset=-value if sign == "-" else value)
        return cls(expr, metric, bound)

    def test(self, baseline: ArmSample, candidate: ArmSample) -> NonInferiority | None:
        """The non-inferiority test on both arms; None when an arm has no conversation the KPI
        applies to, or one without its value."""
        kpi = KPIS[self.metric]
        if kpi.is_rate:
            (hits_b, n_b), (hits_c, n_c) = baseline.rates[kpi.name], candidate.rates[kpi.name]
            if not n_b or not n_c:
                return None
            return rate_test(hits_b, n_b, hits_c, n_c, self.bound)
        values_b, values_c = baseline.known(kpi.name), candidate.known(kpi.name)
        if not values_b or not values_c:
            return None
        if kpi.q is None:
            return mean_test(values_b, values_c, self.bound)
        return quantile_test(values_b, values_c, kpi.q, self.bound)


def parse_guards(texts: Sequence[str]) -> list[Guard]:
    """Every guard of `texts`, at least one, none twice."""
    if not texts:
        raise TetherError(
            ErrorCode.ROLLOUT_GUARD_INVALID,
            "a rollout needs at least one guard, e.g. --guard 'resolution_rate >= baseline - 0.02'",
        )
    guards = [Guard.parse(t) for t in texts]
    seen: set[str] = set()
    for g in guards:
        if g.expr in seen:
            raise _invalid(g.expr, "stated twice")
        seen.add(g.expr)
    return guards
