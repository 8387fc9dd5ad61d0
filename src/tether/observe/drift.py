"""Drift monitors: a recent window of traffic against the baseline window just before it.

Rates (success, escalation, refusal, verification refusals, tool errors) are compared with
Fisher's exact test (a two-proportion z-test once every cell is large) and Cohen's h;
distributions (decision mix, refusal codes, tool-call mix, retrieved sources, latency) with a
chi-square test of homogeneity and the population stability index (PSI). A monitor fires only
when both gates pass:

- the effect is large enough to matter: |h| ≥ `min_h`, or PSI ≥ `min_psi`;
- it is unlikely under no change: p < `alpha` / (number of monitors) — a Bonferroni split, so
  that on stable traffic one evaluation raises any alarm with probability at most `alpha`.

Below `min_samples` (runs, calls, checked answers, ... in either window) a monitor does not
fire and says why. Domain-neutral: it reads counts, never a domain's names.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError
from tether.observe.drift_stats import compare_mix, two_proportions

# rate monitor -> (counters summed as hits, counter of trials)
RATES: dict[str, tuple[tuple[str, ...], str]] = {
    "success_rate": (("answers", "actions"), "runs"),
    "escalation_rate": (("escalations",), "runs"),
    "refusal_rate": (("refusals",), "runs"),
    "verification_refusal_rate": (("answers_ungrounded",), "answers_checked"),
    "tool_error_rate": (("tool_errors",), "tool_calls"),
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
TESTED = (*RATES, *MIXES)  # the monitors a significance test judges (alpha is split over them)
STALE = "stale_sources"
MONITORS = (*TESTED, STALE)
# the age of the evidence a run used (run start minus when that document version was stored)
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<1h", 3600),
    ("<1d", 86_400),
    ("<7d", 7 * 86_400),
    ("<30d", 30 * 86_400),
    ("<90d", 90 * 86_400),
)
OLDEST = ">=90d"

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
    mb, mw = baseline.mixes.get(name, {}), recent.mixes.get(name, {})
    samples = (sum(mb.values()), sum(mw.values()))
    alpha = settings.alpha_each
    short = _short(samples, MIX_UNITS[name], settings)
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


def age_bucket(age_s: float) -> str:
    """The evidence-age category of an age in seconds."""
    return next((name for name, top in AGE_BUCKETS if age_s < top), OLDEST)


def stale_monitor(
    history: Mapping[str, Sequence[float]], now: float, settings: DriftSettings
) -> MonitorResult:
    """Knowledge sources that stopped updating: silent for more than `stale_factor` times the
    median gap between their past updates (`history`: update times per source)."""
    judged: dict[str, tuple[float, float, float]] = {}
    for source, times in history.items():
        ordered = sorted(times)
        if len(ordered) < settings.min_updates:
            continue
        usual = statistics.median(b - a for a, b in itertools.pairwise(ordered))
        if usual > 0:
            judged[source] = (ordered[-1], now - ordered[-1], usual)
    stale = {
        source: {"last_update": iso(last), "silent_s": round(silent), "usual_gap_s": round(gap)}
        for source, (last, silent, gap) in sorted(judged.items())
        if silent > settings.stale_factor * gap
    }
    if not judged:
        note = f"no source has {settings.min_updates} updates to learn its rhythm from"
    elif stale:
        note = f"{len(stale)} of {len(judged)} sources stopped updating: {', '.join(stale)}"
    else:
        note = f"{len(judged)} sources update on their usual rhythm"
    return MonitorResult(
        name=STALE,
        statistic="stale_count",
        value=float(len(stale)) if judged else None,
        threshold=1.0,
        fired=bool(stale),
        test="update_gap",
        p_value=None,
        alpha=None,
        samples=(len(history), len(judged)),
        effect={"stale": stale, "factor": settings.stale_factor},
        note=note,
    )


def evaluate(
    baseline: Traffic, recent: Traffic, settings: DriftSettings | None = None
) -> list[MonitorResult]:
    """Every tested monitor's verdict, rates first."""
    s = settings or DriftSettings()
    return [rate_monitor(n, baseline, recent, s) for n in RATES] + [
        mix_monitor(n, baseline, recent, s) for n in MIXES
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
