"""The traffic of a window, read from the system of record for the drift monitors.

Rates, the decision mix, refusal codes and latency come from the KPI rollups (cheap over any
range). The tool-call mix is counted from tool steps, and retrieved sources and the age of the
evidence used from retrieval steps, of the runs created in the window: each source counts once
per run that retrieved it, over at most `SAMPLE_CAP` of the window's latest runs, so that a
long baseline stays cheap. The business monitors (cost per run, compliance incidents, audit
completeness) read the same latest `SAMPLE_CAP` runs of each window into the business KPIs'
`RunFacts`, with their audit events. Knowledge sources' update rhythm comes from their ingest
jobs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import StepKind
from tether.observe.business_source import BusinessReader
from tether.observe.drift import (
    COST,
    DriftReport,
    DriftSettings,
    Traffic,
    Window,
    evaluate,
    parse_duration,
    windows,
)
from tether.observe.drift_freshness import age_bucket, stale_monitor
from tether.observe.kpi import bucket_upper_ms
from tether.observe.kpi_store import KpiStore
from tether.observe.metrics import TetherMetrics
from tether.observe.periodic import Throttled, every_seconds
from tether.observe.prices import PriceTable
from tether.observe.run_facts import ToolFacts, audit_gaps, run_cost
from tether.store.grounding_schema import documents, ingest_jobs
from tether.store.kpi_schema import KPI_COUNTERS
from tether.store.schema import runs, steps

log = logging.getLogger("tether.observe.drift")

SAMPLE_CAP = 5000
LATENCY_GROUP = 8  # fine latency buckets per coarse one: each coarse bucket spans 4 times
NO_CODE = "(none)"


def latency_mix(histogram: Mapping[int, int]) -> dict[str, int]:
    """A latency histogram in coarse buckets named by their upper bound (`<=45ms`)."""
    out: Counter[str] = Counter()
    for bucket, n in histogram.items():
        top = (bucket // LATENCY_GROUP) * LATENCY_GROUP + LATENCY_GROUP - 1
        out[f"<={bucket_upper_ms(top):.0f}ms"] += n
    return dict(out)


def _in_window(window: Window, agent: str | None) -> list[ColumnElement[bool]]:
    conditions = [runs.c.created_at >= window.start, runs.c.created_at < window.end]
    if agent is not None:
        conditions.append(runs.c.agent == agent)
    return conditions


def tool_call_mix(engine: Engine, window: Window, agent: str | None = None) -> dict[str, int]:
    """Tool calls executed by the window's runs, by tool."""
    n = func.count().label("n")
    query = (
        select(steps.c.name, n)
        .join(runs, runs.c.id == steps.c.run_id)
        .where(steps.c.kind == StepKind.TOOL.value, *_in_window(window, agent))
        .group_by(steps.c.name)
    )
    with engine.connect() as conn:
        return {str(name): int(count) for name, count in conn.execute(query)}


def _ingested(engine: Engine, versions: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """When each (document URI, version) was stored."""
    found: dict[tuple[str, str], float] = {}
    wanted = sorted({v for _, v in versions})
    d = documents.c
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            query = select(d.uri, d.version, d.ingested_at).where(
                d.version.in_(wanted[i : i + 500])
            )
            found.update({(str(u), str(v)): float(t) for u, v, t in conn.execute(query)})
    return found


def retrievals(
    engine: Engine, window: Window, agent: str | None = None, cap: int = SAMPLE_CAP
) -> tuple[dict[str, int], dict[str, int]]:
    """Over the latest `cap` runs of the window: runs that retrieved from each source, and the
    age of each (run, document version) used, by age bucket (versions no longer stored, or
    never ingested, are left out of the ages)."""
    latest = (
        select(runs.c.id)
        .where(*_in_window(window, agent))
        .order_by(runs.c.created_at.desc())
        .limit(cap)
        .subquery()
    )
    query = (
        select(steps.c.run_id, runs.c.created_at, steps.c.data)
        .join(runs, runs.c.id == steps.c.run_id)
        .where(steps.c.kind == StepKind.RETRIEVAL.value, steps.c.run_id.in_(select(latest.c.id)))
    )
    sources: set[tuple[str, str]] = set()
    used: dict[tuple[str, str, str], float] = {}
    with engine.connect() as conn:
        for run_id, created, data in conn.execute(query):
            for evidence in json.loads(data).get("evidence", ()):
                source = str(evidence.get("source", ""))
                sources.add((str(run_id), source))
                used[str(run_id), source, str(evidence.get("version", ""))] = float(created)
    stored = _ingested(engine, {(s, v) for _, s, v in used})
    ages = Counter(
        age_bucket(created - stored[s, v])
        for (_, s, v), created in used.items()
        if (s, v) in stored
    )
    return dict(Counter(source for _, source in sources)), dict(ages)


def ingest_history(engine: Engine, until: float, cap: int = 20_000) -> dict[str, list[float]]:
    """When each knowledge source was last ingested successfully (its latest `cap` jobs in
    all), oldest first."""
    j = ingest_jobs.c
    query = (
        select(j.source, j.finished_at)
        .where(j.status == "succeeded", j.finished_at < until)
        .order_by(j.finished_at.desc())
        .limit(cap)
    )
    history: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for source, finished in conn.execute(query):
            history.setdefault(str(source), []).insert(0, float(finished))
    return history


def business_sample(
    engine: Engine,
    window: Window,
    agent: str | None = None,
    prices: PriceTable | None = None,
    registry: Mapping[str, ToolFacts] | None = None,
    cap: int = SAMPLE_CAP,
) -> tuple[dict[str, int], list[float]]:
    """Over the latest `cap` ended runs of the window: counters of runs read, runs with a
    compliance incident, runs missing an audit event and runs with an unpriced model; and the
    cost of each priced run (as the business report defines each)."""
    table = prices or PriceTable()
    with engine.connect() as conn:
        reader = BusinessReader(conn, registry)
        sampled = reader.window_runs(window.start, window.end, None, cap, agent)
        recorded = reader.audit_events([r.id for r in sampled])
    costs = [run_cost(r, table) for r in sampled]
    counts = {
        "sampled_runs": len(sampled),
        "incident_runs": sum(1 for r in sampled if r.incidents),
        "audit_incomplete_runs": sum(1 for r in sampled if audit_gaps(r, recorded.get(r.id, {}))),
        "unpriced_runs": sum(1 for c in costs if c is None),
    }
    return counts, [c for c in costs if c is not None]


def read_traffic(
    engine: Engine,
    window: Window,
    agent: str | None = None,
    prices: PriceTable | None = None,
    registry: Mapping[str, ToolFacts] | None = None,
) -> Traffic:
    """Counters and mixes of the runs in `window` (all agents unless `agent` is given), with
    the business sample's (costs at `prices`; tool risks of runs without a release from
    `registry`)."""
    kpis = KpiStore(engine)
    total = kpis.totals(agent, window.start, window.end)
    decisions: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for row in kpis.counts("decision", agent, window.start, window.end):
        decisions[row.subject] += row.count
        if row.subject == "refusal":
            refusals[row.key or NO_CODE] += row.count
    sources, ages = retrievals(engine, window, agent)
    mixes = {
        "decision_mix": dict(decisions),
        "refusal_codes": dict(refusals),
        "tool_call_mix": tool_call_mix(engine, window, agent),
        "retrieved_sources": sources,
        "latency": latency_mix(total.latency),
        "evidence_age": ages,
    }
    business, costs = business_sample(engine, window, agent, prices, registry)
    counts = {**{k: total.count(k) for k in KPI_COUNTERS}, **business}
    return Traffic(counts, mixes, {COST: costs})


def detect_drift(
    engine: Engine,
    window_s: float,
    baseline_s: float,
    settings: DriftSettings | None = None,
    now: float | None = None,
    agent: str | None = None,
    prices: PriceTable | None = None,
    registry: Mapping[str, ToolFacts] | None = None,
) -> DriftReport:
    """Every monitor on the window that ends now against the baseline before it (costs at
    `prices`: without them every run with tokens is unpriced and the cost monitor has
    nothing to compare)."""
    try:
        baseline, recent = windows(time.time() if now is None else now, window_s, baseline_s)
        before = read_traffic(engine, baseline, agent, prices, registry)
        after = read_traffic(engine, recent, agent, prices, registry)
        history = ingest_history(engine, recent.end)
    except SQLAlchemyError as exc:  # an unreachable store: say so, without driver internals
        name = type(getattr(exc, "orig", None) or exc).__name__
        raise TetherError(
            ErrorCode.STORE_UNAVAILABLE, f"drift: cannot read runs ({name})"
        ) from None
    chosen = settings or DriftSettings()
    stale = stale_monitor(history, recent.end, chosen)
    return DriftReport(baseline, recent, (*evaluate(before, after, chosen), stale))


DEFAULT_WINDOW = "24h"
DEFAULT_BASELINE = "7d"
DEFAULT_EVERY_S = 300.0


class DriftWatch:
    """Drift evaluated for a process's `/metrics`, at most once per `every_s` (the monitors
    read a week of rollups; scrapes come every few seconds). A failed evaluation keeps the
    gauges of the last good one and is logged."""

    def __init__(
        self,
        engine: Engine,
        window_s: float,
        baseline_s: float,
        every_s: float = DEFAULT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        prices: PriceTable | None = None,
        registry: Mapping[str, ToolFacts] | None = None,
    ) -> None:
        self.engine = engine
        self.window_s = window_s
        self.baseline_s = baseline_s
        self.every_s = every_s
        self.prices = prices
        self.registry = registry
        self._now = now
        self._throttled = Throttled(self._evaluate, every_s, "drift", monotonic)

    @property
    def last(self) -> DriftReport | None:
        return self._throttled.last

    @classmethod
    def from_env(
        cls,
        engine: Engine,
        environ: Mapping[str, str] | None = None,
        registry: Mapping[str, ToolFacts] | None = None,
    ) -> DriftWatch | None:
        """TETHER_DRIFT_WINDOW, TETHER_DRIFT_BASELINE (durations), TETHER_DRIFT_EVERY_S (0 turns
        it off) and TETHER_MODEL_PRICES; a bad value stops the app before it starts
        (CONFIG_INVALID)."""
        env = os.environ if environ is None else environ
        every = every_seconds(env, "TETHER_DRIFT_EVERY_S", DEFAULT_EVERY_S)
        if every == 0:
            return None
        window = parse_duration(env.get("TETHER_DRIFT_WINDOW", "") or DEFAULT_WINDOW, "window")
        baseline = parse_duration(
            env.get("TETHER_DRIFT_BASELINE", "") or DEFAULT_BASELINE, "baseline"
        )
        prices = PriceTable.from_env(env)
        return cls(engine, window, baseline, every, prices=prices, registry=registry)

    def _evaluate(self) -> DriftReport:
        return detect_drift(
            self.engine,
            self.window_s,
            self.baseline_s,
            now=self._now(),
            prices=self.prices,
            registry=self.registry,
        )

    def refresh(self, metrics: TetherMetrics) -> DriftReport | None:
        """Evaluate when the last evaluation is older than `every_s`, and set the gauges."""
        before = self._throttled.last
        report = self._throttled()
        if report is not None and report is not before:
            metrics.observe_drift(report)
        return report
