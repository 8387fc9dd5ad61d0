"""How often the drift monitors raise a false alarm: windows of synthetic traffic drawn from
one unchanging profile, compared many times over, in memory.

A profile gives the chance of each outcome of a run (decision, refusal code, tool called, tool
error, answer refused by verification, source retrieved, latency bucket, evidence age,
compliance incident, audit event missing) and its cost (lognormal); a window's counts are
multinomial draws from it, as independent runs would give. Shifting a profile (`shifted`) makes
the traffic a monitor must catch.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tether.observe.drift import COST, DriftSettings, Traffic, evaluate


def _dist(**shares: float) -> dict[str, float]:
    return dict(shares)


@dataclass(frozen=True)
class Profile:
    """The chances that shape synthetic traffic."""

    decisions: Mapping[str, float] = field(
        default_factory=lambda: _dist(
            answer=0.55, action=0.2, escalation=0.08, refusal=0.05, clarification=0.12
        )
    )
    refusal_codes: Mapping[str, float] = field(
        default_factory=lambda: {"POLICY_DENIED": 0.5, "PERMISSION_DENIED": 0.3, "STEP_LIMIT": 0.2}
    )
    tools: Mapping[str, float] = field(
        default_factory=lambda: _dist(find_user=0.35, get_order=0.35, get_product=0.2, cancel=0.1)
    )
    sources: Mapping[str, float] = field(
        default_factory=lambda: _dist(faq=0.4, returns=0.3, shipping=0.2, warranty=0.1)
    )
    latency: Mapping[str, float] = field(
        default_factory=lambda: {"<=45ms": 0.3, "<=181ms": 0.5, "<=724ms": 0.15, "<=2896ms": 0.05}
    )
    ages: Mapping[str, float] = field(default_factory=lambda: {"<1d": 0.3, "<7d": 0.5, "<30d": 0.2})
    tool_calls_per_run: int = 2
    sources_per_run: int = 2
    tool_error: float = 0.04
    checked_share: float = 0.8  # answers the claims check judged
    ungrounded: float = 0.03  # of those, refused by verification
    cost_median: float = 0.004  # a run's model cost
    cost_sigma: float = 0.7  # of its logarithm
    unpriced: float = 0.0  # runs whose model has no price
    incident: float = 0.02  # runs in which a rule denied or escalated a write
    audit_gap: float = 0.0  # runs missing an audit event (none where the chain is intact)


def shifted(profile: Profile, **changes: object) -> Profile:
    """`profile` with some parts replaced (e.g. another tool mix)."""
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


def _draw(rng: np.random.Generator, n: int, shares: Mapping[str, float]) -> dict[str, int]:
    names = list(shares)
    p = np.array([shares[k] for k in names], dtype=float)
    counts = rng.multinomial(n, p / p.sum())
    return {k: int(c) for k, c in zip(names, counts, strict=True) if c}


def draw_traffic(rng: np.random.Generator, runs: int, profile: Profile) -> Traffic:
    """One window of `runs` runs drawn from `profile`."""
    decisions = _draw(rng, runs, profile.decisions)
    refusals = decisions.get("refusal", 0)
    answers = decisions.get("answer", 0)
    calls = runs * profile.tool_calls_per_run
    checked = int(rng.binomial(answers, profile.checked_share))
    counts = {
        "runs": runs,
        "answers": answers,
        "actions": decisions.get("action", 0),
        "escalations": decisions.get("escalation", 0),
        "refusals": refusals,
        "answers_checked": checked,
        "answers_ungrounded": int(rng.binomial(checked, profile.ungrounded)),
        "tool_calls": calls,
        "tool_errors": int(rng.binomial(calls, profile.tool_error)),
        "sampled_runs": runs,
        "incident_runs": int(rng.binomial(runs, profile.incident)),
        "audit_incomplete_runs": int(rng.binomial(runs, profile.audit_gap)),
    }
    unpriced = int(rng.binomial(runs, profile.unpriced))
    counts["unpriced_runs"] = unpriced
    costs = rng.lognormal(np.log(profile.cost_median), profile.cost_sigma, runs - unpriced)
    mixes = {
        "decision_mix": decisions,
        "refusal_codes": _draw(rng, refusals, profile.refusal_codes),
        "tool_call_mix": _draw(rng, calls, profile.tools),
        "retrieved_sources": _draw(rng, runs * profile.sources_per_run, profile.sources),
        "latency": _draw(rng, runs, profile.latency),
        "evidence_age": _draw(rng, runs * profile.sources_per_run, profile.ages),
    }
    return Traffic(counts, mixes, {COST: [float(c) for c in costs]})


@dataclass(frozen=True)
class FalseAlarms:
    """Over `trials` evaluations of unchanging traffic: how many raised any alarm, and how
    many had any monitor pass the significance gate alone (the test's own error rate)."""

    trials: int
    fired: int
    significant: int
    alpha: float
    by_monitor: Mapping[str, int] = field(default_factory=dict)  # trials each monitor fired in

    @property
    def fired_rate(self) -> float:
        return self.fired / self.trials

    @property
    def significant_rate(self) -> float:
        return self.significant / self.trials

    def monitor_rate(self, name: str) -> float:
        """The share of trials in which monitor `name` fired."""
        return self.by_monitor.get(name, 0) / self.trials


def false_alarms(
    seeds: int = 200,
    baseline_runs: int = 1400,
    window_runs: int = 200,
    profile: Profile | None = None,
    settings: DriftSettings | None = None,
) -> FalseAlarms:
    """Evaluate the monitors on `seeds` pairs of windows drawn from one profile."""
    chosen = profile or Profile()
    s = settings or DriftSettings()
    fired = significant = 0
    by_monitor: Counter[str] = Counter()
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        results = evaluate(
            draw_traffic(rng, baseline_runs, chosen), draw_traffic(rng, window_runs, chosen), s
        )
        fired += any(m.fired for m in results)
        significant += any(m.significant for m in results)
        by_monitor.update(m.name for m in results if m.fired)
    return FalseAlarms(seeds, fired, significant, s.alpha, dict(by_monitor))
