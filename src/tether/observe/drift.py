"""Drift monitors: a recent window of traffic against the baseline window just before it.

Rates (success, escalation, refusal, verification refusals, tool errors, compliance incidents)
are compared with Fisher's exact test (a two-proportion z-test once every cell is large) and
Cohen's h; distributions (decision mix, refusal codes, tool-call mix, retrieved sources,
latency, evidence age, and the cost per run in the baseline's cost deciles) with a chi-square
test of homogeneity and the population stability index (PSI). A monitor fires only when both
gates pass:

- the effect is large enough to matter: |h| ≥ `min_h`, or PSI ≥ `min_psi`;
- it is unlikely under no change: p < `alpha` / (number of monitors) — a Bonferroni split, so
  that on stable traffic one evaluation raises any alarm with probability at most `alpha`.

Below `min_samples` (runs, calls, checked answers, ... in either window) a monitor does not
fire and says why. Audit completeness is an invariant rather than a rate (a step's audit event
commits with the step): any run missing an event fires it when the baseline had none, and a
significant rise fires it when the baseline already had some. Domain-neutral: it reads counts,
never a domain's names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError
from tether.observe.drift_stats import compare_mix, quantile_bins, two_proportions

# rate monitor -> (counters summed as hits, counter of trials)
RATES: dict[str, tuple[tuple[str, ...], str]] = {
    "success_rate": (("answers", "actions"), "runs"),
    "escalation_rate": (("escalations",), "runs"),
    "refusal_rate": (("refusals",), "runs"),
    "verification_refusal_rate": (("answers_ungrounded",), "answers_checked"),
    "tool_error_rate": (("tool_errors",), "tool_calls"),
    # business KPIs, over the runs read one by one (see drift_source.business_sample)
    "compliance_incident_rate": (("incident_runs",), "sampled_runs"),
}
# distribution monitors, each over the categories of one mix
# distribution monitor -> what it counts
MIX_UNITS = {
    "decision_mix": "runs",
    "refusal_codes": "refusals",
    "tool_call_mix": "tool calls",
    "retrieved_sources": "retrievals (run, source)",
    "latency": "runs",
    "evidence_age": "retrievals (run, document)",
}
MIXES = tuple(MIX_UNITS)
COST, AUDIT = "cost_per_run", "audit_completeness"
UNPRICED = "unpriced"  # the cost category of a run whose model has no price
COST_BINS = 10  # the baseline's deciles
# the monitors a significance test judges (alpha is split over them)
TESTED = (*RATES, *MIXES, COST, AUDIT)
STALE = "stale_sources"
MONITORS = (*TESTED, STALE)
MAX_SPAN_S = 366 * 86_400


def parse_duration(text: str, what: str = "window") -> float:
    """Seconds in `text`: a number and a unit (`90s`, `30m`, `24h`, `7d`, `2w`) or an ISO 8601
    duration (`PT24H`, `P7D`); DRIFT_WINDOW_INVALID when it is neither, zero or over a year."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise TetherError(
            ErrorCode.DRIFT_WINDOW_INVALID,
            f"{what} {text!r} is not a duration such as 30m, 24h, 7d or PT24H",
        )
    if not 60 <= seconds <= MAX_SPAN_S:
        raise TetherError(
            ErrorCode.DRIFT_WINDOW_INVALID,
            f"{what} {text!r} must be at least a minute and at most a year",
        )
    return seconds


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end) in epoch seconds."""

    start: float
    end: float

    def to_dict(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}


def windows(now: float, window_s: float, baseline_s: float) -> tuple[Window, Window]:
    """(baseline, recent): the recent window ends at the start of the current minute, the
    baseline where the window starts. Both are whole minutes, as the KPI rollups are, so that
    no minute counts in both."""
    end = (now // 60) * 60
    recent = Window(end - math.ceil(window_s / 60) * 60, end)
    return Window(recent.start - math.ceil(baseline_s / 60) * 60, recent.start), recent


@dataclass(frozen=True)
class Traffic:
    """What one window's runs did: KPI counters (runs, refusals, tool_calls, ...) and, per
    distribution monitor, counts by category."""

    counts: Mapping[str, int] = field(default_factory=dict)
    mixes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    values: Mapping[str, Sequence[float]] = field(default_factory=dict)  # cost_per_run: priced

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))


@dataclass(frozen=True)
class DriftSettings:
    """When a monitor fires (see the module's docstring)."""

    alpha: float = 0.01
    min_h: float = 0.1
    min_psi: float = 0.2
    min_samples: int = 50
    stale_factor: float = 3.0  # silent for this many times its usual gap between updates
    min_updates: int = 4  # updates a source needs before its usual gap is trusted

    @property
    def alpha_each(self) -> float:
        return self.alpha / len(TESTED)


@dataclass(frozen=True)
class MonitorResult:
    """One monitor's verdict on the recent window against the baseline."""

    name: str
    statistic: str  # the effect size it is judged by: cohens_h (rates) or psi (distributions)
    value: float | None  # |h| or PSI; None without enough data
    threshold: float
    fired: bool
    test: str  # fisher_exact or two_proportion_z (rates), chi_square (distributions)
    p_value: float | None
    alpha: float | None  # the significance level it was held to (None: no test)
    samples: tuple[int, int]  # (baseline, window)
    effect: Mapping[str, Any]
    note: str

    @property
    def sample_names(self) -> tuple[str, str]:
        """What `samples` counts: the two windows, or (stale_sources) sources seen and
        sources with enough updates to judge."""
        return ("sources", "judged") if self.name == STALE else ("baseline", "window")

    @property
    def significant(self) -> bool:
        """The significance gate alone (what the false-alarm rate is measured on)."""
        return self.p_value is not None and self.alpha is not None and self.p_value < self.alpha

    def to_dict(self, baseline: Window, recent: Window) -> dict[str, Any]:
        return {
            "name": self.name,
            "statistic": self.statistic,
            "value": None if self.value is None else round(self.value, 6),
            "threshold": self.threshold,
            "fired": self.fired,
            "baseline_window": baseline.to_dict(),
            "window": recent.to_dict(),
            "test": self.test,
            "p_value": None if self.p_value is None else float(f"{self.p_value:.6g}"),
            "alpha": None if self.alpha is None else float(f"{self.alpha:.6g}"),
            "samples": dict(zip(self.sample_names, self.samples, strict=True)),
            "effect": dict(self.effect),
            "note": self.note,
        }


def _short(samples: tuple[int, int], unit: str, settings: DriftSettings) -> str | None:
    if min(samples) >= settings.min_samples:
        return None
    return f"too few {unit} to judge (needs {settings.min_samples} each)"


def rate_monitor(
    name: str, baseline: Traffic, recent: Traffic, settings: DriftSettings
) -> MonitorResult:
    hits, trials = RATES[name]
    nb, nw = baseline.count(trials), recent.count(trials)
    hb, hw = (sum(t.count(h) for h in hits) for t in (baseline, recent))
    alpha, samples = settings.alpha_each, (nb, nw)
    short = _short(samples, trials, settings)
    if short is not None:
        return MonitorResult(
            name=name,
            statistic="cohens_h",
            value=None,
            threshold=settings.min_h,
            fired=False,
            test="two_proportion_z",
            p_value=None,
            alpha=alpha,
            samples=samples,
            effect={},
            note=short,
        )
    t = two_proportions(hb, nb, hw, nw)
    fired = t.p_value < alpha and abs(t.cohens_h) >= settings.min_h
    effect = {
        "baseline": round(t.baseline, 6),
        "window": round(t.window, 6),
        "difference": round(t.difference, 6),
        "cohens_h": round(t.cohens_h, 6),
        "z": round(t.z, 4),
    }
    note = f"{'+'.join(hits)} per {trials}: {t.baseline:.1%} -> {t.window:.1%}"
    return MonitorResult(
        name=name,
        statistic="cohens_h",
        value=abs(t.cohens_h),
        threshold=settings.min_h,
        fired=fired,
        test=t.test,
        p_value=t.p_value,
        alpha=alpha,
        samples=samples,
        effect=effect,
        note=note,
    )


def mix_monitor(
    name: str, baseline: Traffic, recent: Traffic, settings: DriftSettings
) -> MonitorResult:
    found = baseline.mixes.get(name, {}), recent.mixes.get(name, {})
    return judge_mix(name, *found, MIX_UNITS[name], settings)


def judge_mix(
    name: str,
    mb: Mapping[str, int],
    mw: Mapping[str, int],
    unit: str,
    settings: DriftSettings,
) -> MonitorResult:
    """Two windows' counts by category: chi-square and PSI."""
    samples = (sum(mb.values()), sum(mw.values()))
    alpha = settings.alpha_each
    short = _short(samples, unit, settings)
    t = compare_mix(mb, mw) if short is None else None
    if t is None:
        note = short or "one category only: nothing to compare"
        return MonitorResult(
            name=name,
            statistic="psi",
            value=None,
            threshold=settings.min_psi,
            fired=False,
            test="chi_square",
            p_value=None,
            alpha=alpha,
            samples=samples,
            effect={},
            note=note,
        )
    fired = t.p_value < alpha and t.psi >= settings.min_psi
    shares = t.shares()
    moved = max(shares, key=lambda c: abs(shares[c]["window"] - shares[c]["baseline"]))
    effect = {
        "psi": round(t.psi, 6),
        "cramers_v": round(t.cramers_v, 6),
        "chi2": round(t.chi2, 4),
        "dof": t.dof,
        "shares": shares,
    }
    s = shares[moved]
    note = f"largest move: {moved} {s['baseline']:.1%} -> {s['window']:.1%}"
    return MonitorResult(
        name=name,
        statistic="psi",
        value=t.psi,
        threshold=settings.min_psi,
        fired=fired,
        test="chi_square",
        p_value=t.p_value,
        alpha=alpha,
        samples=samples,
        effect=effect,
        note=note,
    )


def cost_monitor(baseline: Traffic, recent: Traffic, settings: DriftSettings) -> MonitorResult:
    """The cost per run in the baseline's cost deciles (fewer bins for a small window), runs
    without a price a category of their own (a move to an unpriced model is a shift too):
    chi-square and PSI."""
    costs_b, costs_w = baseline.values.get(COST, ()), recent.values.get(COST, ())
    # about 20 runs of the smaller window a bin: the chi-square tail is poor on sparse bins
    bins = max(2, min(COST_BINS, min(len(costs_b), len(costs_w)) // 20))
    mb, mw = quantile_bins(costs_b, costs_w, bins)
    for traffic, mix in ((baseline, mb), (recent, mw)):
        if traffic.count("unpriced_runs"):
            mix[UNPRICED] = traffic.count("unpriced_runs")
    found = judge_mix(COST, mb, mw, "runs", settings)
    if found.value is None or not costs_b or not costs_w:
        return found
    means = {
        "baseline": math.fsum(costs_b) / len(costs_b),
        "window": math.fsum(costs_w) / len(costs_w),
    }
    effect = {**found.effect, "mean": {k: round(v, 6) for k, v in means.items()}}
    note = f"mean {means['baseline']:.4g} -> {means['window']:.4g}; {found.note}"
    return dataclasses.replace(found, effect=effect, note=note)


def audit_monitor(baseline: Traffic, recent: Traffic, settings: DriftSettings) -> MonitorResult:
    """Runs with an audit event missing from the chain: any in the window fires when the
    baseline had none; otherwise a rise Fisher's exact test finds significant fires."""
    nb, nw = baseline.count("sampled_runs"), recent.count("sampled_runs")
    kb, kw = baseline.count("audit_incomplete_runs"), recent.count("audit_incomplete_runs")
    share_b, share_w = (kb / nb if nb else 0.0), (kw / nw if nw else 0.0)
    alpha = settings.alpha_each
    test, p_value, fired = "zero_tolerance", None, kw > 0
    if kb and nw:
        t = two_proportions(kb, nb, kw, nw)
        test, p_value = t.test, t.p_value
        fired = share_w > share_b and t.p_value < alpha
    if not nw:
        note = "no runs in the window"
    else:
        note = f"runs audited completely: {1 - share_b:.2%} -> {1 - share_w:.2%}"
    return MonitorResult(
        name=AUDIT,
        statistic="incomplete_share",
        value=round(share_w, 6) if nw else None,
        threshold=0.0,
        fired=fired,
        test=test,
        p_value=p_value,
        alpha=alpha if p_value is not None else None,
        samples=(nb, nw),
        effect={"incomplete": {"baseline": kb, "window": kw}},
        note=note,
    )


def evaluate(
    baseline: Traffic, recent: Traffic, settings: DriftSettings | None = None
) -> list[MonitorResult]:
    """Every tested monitor's verdict, rates first."""
    s = settings or DriftSettings()
    return [
        *(rate_monitor(n, baseline, recent, s) for n in RATES),
        *(mix_monitor(n, baseline, recent, s) for n in MIXES),
        cost_monitor(baseline, recent, s),
        audit_monitor(baseline, recent, s),
    ]


@dataclass(frozen=True)
class DriftReport:
    """The monitors' verdicts on one recent window against its baseline."""

    baseline: Window
    window: Window
    monitors: tuple[MonitorResult, ...]

    @property
    def fired(self) -> list[str]:
        return [m.name for m in self.monitors if m.fired]

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitors": [m.to_dict(self.baseline, self.window) for m in self.monitors],
            "fired": self.fired,
            "baseline_window": self.baseline.to_dict(),
            "window": self.window.to_dict(),
        }
