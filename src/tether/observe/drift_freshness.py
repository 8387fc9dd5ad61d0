"""Knowledge freshness for the drift monitors: the age bucket of the evidence a run used, and
the sources that stopped updating (silent for several times their usual gap)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence

from tether.observe.drift import STALE, DriftSettings, MonitorResult, iso

# the age of the evidence a run used (run start minus when that document version was stored)
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<1h", 3600),
    ("<1d", 86_400),
    ("<7d", 7 * 86_400),
    ("<30d", 30 * 86_400),
    ("<90d", 90 * 86_400),
)
OLDEST = ">=90d"


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
