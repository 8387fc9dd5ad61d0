"""KPIs: what one run adds to its minute's rollup, and the rates read back from rollups.

Latency is kept as a fixed log-bucket histogram (each bucket 2^(1/4) ≈ 19 % wider than the
one before), so p50/p95 of any range, agent set or replica set is the merge of per-minute
buckets, accurate to one bucket width.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.core.types import DecisionKind, Run, StepKind
from tether.observe.metrics import claim_statuses, verdict_rules
from tether.store.kpi_schema import KPI_COUNTERS, KPI_SUMS, NO_RELEASE

BUCKET_GROWTH = 2**0.25
MAX_BUCKET = 120  # 2^30 ms ≈ 12 days: anything slower lands here
CLAIMS_CHECK = "claims"  # the answer check whose verdicts the verification KPIs count
STOPPED = ("deny", "escalate")  # the effects that keep a proposed answer from the user


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a latency: bucket b holds (growth^(b-1), growth^b] ms."""
    if ms <= 1.0:
        return 0
    return min(MAX_BUCKET, math.ceil(math.log(ms) / math.log(BUCKET_GROWTH) - 1e-9))


def bucket_upper_ms(bucket: int) -> float:
    """The upper bound of a bucket, in milliseconds (what a percentile reports)."""
    return float(BUCKET_GROWTH**bucket)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of a bucket histogram, as its bucket's upper bound."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_upper_ms(bucket), 3)
    return round(bucket_upper_ms(max(histogram)), 3)


def minute_of(ts: float) -> int:
    return int(ts // 60) * 60


CountKey = tuple[str, str, str]  # (metric, subject, key)


@dataclass
class RunKpis:
    """The additive contribution of one run to its minute."""

    minute: int
    agent: str
    release: str
    values: dict[str, float] = field(default_factory=dict)
    latency_bucket: int | None = None
    counts: Counter[CountKey] = field(default_factory=Counter)


_PLURAL = {
    DecisionKind.ANSWER: "answers",
    DecisionKind.ACTION: "actions",
    DecisionKind.ESCALATION: "escalations",
    DecisionKind.REFUSAL: "refusals",
}


def run_kpis(run: Run, release: str | None = None) -> RunKpis:
    """What `run` (ended, with its steps) adds to the rollup of the minute it ended in."""
    out = RunKpis(minute_of(run.updated_at), run.agent, release or NO_RELEASE)
    v: dict[str, int] = {}
    counts: dict[CountKey, int] = {}
    decision = run.decision
    if decision is not None:
        v["runs"] = 1
        column = _PLURAL.get(decision.kind)  # turns waiting on the user count by kind only
        if column is not None:
            v[column] = 1
        code = decision.reason.code.value if decision.reason else ""
        counts["decision", decision.kind.value, code] = 1
        latency = max(0.0, run.updated_at - run.created_at) * 1000
        out.values["latency_ms_sum"] = latency
        out.latency_bucket = latency_bucket(latency)
    for step in run.steps:
        data = step.data
        if step.kind is StepKind.TOOL:
            tool = str(data.get("tool", step.name))
            v["tool_calls"] = v.get("tool_calls", 0) + 1
            if not data.get("ok"):
                v["tool_errors"] = v.get("tool_errors", 0) + 1
                key = ("tool_error", tool, str((data.get("error") or {}).get("code", "")))
                counts[key] = counts.get(key, 0) + 1
        elif step.kind is StepKind.GUARD:
            _guard(step.name, data, v, counts)
    out.values.update({k: float(n) for k, n in v.items()})
    out.counts.update(counts)
    return out


def _guard(
    name: str, data: Mapping[str, Any], v: dict[str, int], counts: dict[CountKey, int]
) -> None:
    for verdict in data.get("verdicts", ()):
        effect = str(verdict.get("effect", ""))
        key: CountKey = ("verdict", str(verdict.get("check", "")), effect)
        counts[key] = counts.get(key, 0) + 1
        for rule in verdict_rules(verdict):
            key = ("rule_hit", rule, effect)
            counts[key] = counts.get(key, 0) + 1
        for policy in (verdict.get("facts") or {}).get("policies", ()):
            key = ("policy_hit", str(policy), effect)
            counts[key] = counts.get(key, 0) + 1
    if "call" in data:
        return
    verified = _claims_verdict(data)
    if verified is not None:
        # stored as answers_checked / answers_ungrounded (names kept: renaming needs a migration)
        v["answers_checked"] = v.get("answers_checked", 0) + 1
        if verified.get("effect") in STOPPED:
            v["answers_ungrounded"] = v.get("answers_ungrounded", 0) + 1
    statuses = claim_statuses(data)
    v["claims"] = v.get("claims", 0) + len(statuses)
    v["claims_unsupported"] = v.get("claims_unsupported", 0) + sum(
        1 for s in statuses if s != "supported"
    )


def _claims_verdict(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The verdict of the `claims` answer check when it verified something: it stopped the
    answer, or it judged at least one claim (a reply that asserts nothing, or one with no
    evidence to check against, was not checked)."""
    for verdict in data.get("verdicts", ()):
        if verdict.get("check") != CLAIMS_CHECK:
            continue
        facts = verdict.get("facts") or {}
        if verdict.get("effect") in STOPPED or facts.get("checked") or facts.get("claims"):
            return dict(verdict)
    return None


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


@dataclass(frozen=True)
class KpiPoint:
    """KPIs of one time bucket (or a whole range): raw sums and the rates derived from them."""

    start: int  # epoch seconds at the bucket's start
    values: Mapping[str, float]
    latency: Mapping[int, int]  # histogram bucket -> runs

    def count(self, name: str) -> int:
        return int(self.values.get(name, 0))

    @property
    def runs(self) -> int:
        return self.count("runs")

    @property
    def success_rate(self) -> float | None:
        """Runs that ended in an answer or an action, over runs."""
        return _ratio(self.count("answers") + self.count("actions"), self.runs)

    @property
    def refused_by_verification(self) -> float | None:
        """Proposed answers the `claims` check stopped (deny or escalate), over the answers it
        checked. What the verifier suspects, not what is known: some of these are its false
        alarms."""
        return _ratio(self.count("answers_ungrounded"), self.count("answers_checked"))

    @property
    def unsupported_claims(self) -> float | None:
        """Claims judged anything but supported, over claims judged."""
        return _ratio(self.count("claims_unsupported"), self.count("claims"))

    @property
    def tool_error_rate(self) -> float | None:
        """Failed tool calls over tool calls."""
        return _ratio(self.count("tool_errors"), self.count("tool_calls"))

    @property
    def escalation_rate(self) -> float | None:
        return _ratio(self.count("escalations"), self.runs)

    @property
    def refusal_rate(self) -> float | None:
        return _ratio(self.count("refusals"), self.runs)

    @property
    def resolved_rate(self) -> float | None:
        """Feedback that says the request was resolved, over feedback received."""
        return _ratio(self.count("resolved"), self.count("feedback"))

    @property
    def csat_mean(self) -> float | None:
        return _ratio(self.values.get("csat_sum", 0.0), self.count("csat_count"))

    def latency_ms(self, q: float) -> float | None:
        """The q-quantile of run latency in milliseconds (None without runs)."""
        return percentile(self.latency, q)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start}
        out.update({k: self.count(k) for k in KPI_COUNTERS})
        out.update({k: round(self.values.get(k, 0.0), 3) for k in KPI_SUMS})
        out.update(
            success_rate=self.success_rate,
            refused_by_verification=self.refused_by_verification,
            unsupported_claims=self.unsupported_claims,
            tool_error_rate=self.tool_error_rate,
            escalation_rate=self.escalation_rate,
            refusal_rate=self.refusal_rate,
            resolved_rate=self.resolved_rate,
            csat_mean=self.csat_mean,
            latency_p50_ms=self.latency_ms(0.5),
            latency_p95_ms=self.latency_ms(0.95),
        )
        return out


def merge(points: Sequence[KpiPoint], start: int = 0) -> KpiPoint:
    """One point holding the sums and the merged histogram of `points`."""
    values: Counter[str] = Counter()
    latency: Counter[int] = Counter()
    for p in points:
        values.update(p.values)
        latency.update(p.latency)
    return KpiPoint(start, dict(values), dict(latency))
