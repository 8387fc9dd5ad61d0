"""KPI rollups on SQLite and PostgreSQL: what the demo adds, series and totals, percentiles
that survive a restart, and no lost update with concurrent writers."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.observe import KpiStore
from tether.observe.kpi import BUCKET_GROWTH, bucket_upper_ms, latency_bucket, percentile
from tether.store.db import create_store_engine
from tether.store.runs import RunStore

from .conftest import observability, run_demo

T0 = 1_800_000_000.0  # a minute boundary


def synthetic(
    agent: str,
    ended: float,
    latency_ms: float,
    kind: DecisionKind = DecisionKind.ANSWER,
    tool_error: str | None = None,
) -> Run:
    steps = []
    if tool_error:
        data = {"tool": "lookup", "ok": False, "error": {"code": tool_error}, "attempts": []}
        steps.append(Step("r", 1, StepKind.TOOL, "lookup", ended - 0.01, ended, data))
    code = ErrorCode.HANDOFF_REQUESTED if kind is DecisionKind.ESCALATION else None
    decision = Decision(kind, "", reason=Reason(code, "") if code else None)
    created = ended - latency_ms / 1000
    return Run(
        "r", agent, "p", RunStatus.COMPLETED, created, ended, {}, decision, steps=tuple(steps)
    )


def test_latency_buckets_are_fixed_and_tight() -> None:
    assert latency_bucket(0.2) == latency_bucket(1.0) == 0
    previous = 0
    for ms in (1.5, 3, 10, 99.9, 100, 2_500, 60_000, 3_600_000):
        b = latency_bucket(ms)
        assert b >= previous
        previous = b
        assert ms <= bucket_upper_ms(b) < ms * BUCKET_GROWTH * 1.0001
    assert percentile({}, 0.5) is None
    assert percentile({latency_bucket(10): 9, latency_bucket(1000): 1}, 0.5) == pytest.approx(
        bucket_upper_ms(latency_bucket(10)), rel=1e-3
    )


def test_the_demo_rolls_into_kpis(store_url: str) -> None:
    store = RunStore.open(store_url)
    runs = run_demo(store, observability())
    kpis = KpiStore(store.engine)
    total = kpis.totals()
    decisions = Counter(r.decision.kind.value for r in runs if r.decision)
    assert total.runs == len(runs)
    assert total.count("answers") == decisions["answer"]
    assert total.count("actions") == decisions["action"]
    assert total.count("escalations") == decisions["escalation"]
    assert total.count("refusals") == decisions["refusal"]
    assert total.success_rate == pytest.approx(
        (decisions["answer"] + decisions["action"]) / len(runs), abs=1e-6
    )
    # answers a grounding check turned down, counted from the steps themselves: the uncited
    # answer, the invented citation, three answers whose claims contradict the refunds
    # passage, and a clarification that slipped in an uncited claim
    ungrounded = sum(
        1
        for r in runs
        for s in r.steps
        if s.kind is StepKind.GUARD
        and s.name == "answer"
        and any(
            v["check"] in ("citations", "claims") and v["effect"] != "allow"
            for v in s.data["verdicts"]
        )
    )
    assert ungrounded >= 6
    assert total.count("answers_ungrounded") == ungrounded
    assert total.hallucination_rate == pytest.approx(
        ungrounded / total.count("answers_checked"), abs=1e-6
    )
    tools = [s for r in runs for s in r.steps if s.kind is StepKind.TOOL]
    assert total.count("tool_calls") == len(tools)
    assert total.tool_error_rate is not None and total.tool_error_rate > 0
    p50, p95 = total.latency_ms(0.5), total.latency_ms(0.95)
    assert p50 is not None and p95 is not None and 0 < p50 <= p95
    errors = kpis.tool_error_counts()
    assert [(e.subject, e.key) for e in errors] == [("get_order_details", "NOT_FOUND")]
    verdicts = {(c.subject, c.key): c.count for c in kpis.counts("verdict")}
    citation_denials = sum(
        1
        for r in runs
        for s in r.steps
        if s.kind is StepKind.GUARD
        for v in s.data["verdicts"]
        if v["check"] == "citations" and v["effect"] == "deny"
    )
    assert verdicts[("citations", "deny")] == citation_denials >= 2
    assert kpis.agents() == ["retail-desk"]
    rules = Counter(
        (rule, v["effect"])
        for r in runs
        for s in r.steps
        if s.kind is StepKind.GUARD
        for v in s.data["verdicts"]
        for rule in v["facts"].get("rules", ())
    )
    assert {(c.subject, c.key): c.count for c in kpis.rule_hit_counts()} == dict(rules)
    store.close()


def test_series_totals_and_percentiles_survive_a_restart(store_url: str) -> None:
    store = RunStore.open(store_url)
    kpis = KpiStore(store.engine)
    for i in range(9):
        kpis.record_run(synthetic("a", T0 + 5 + i, 10.0))
    kpis.record_run(synthetic("a", T0 + 30, 1000.0, DecisionKind.ESCALATION, "TOOL_TIMEOUT"))
    kpis.record_run(synthetic("a", T0 + 65, 50.0))
    kpis.record_run(synthetic("b", T0 + 70, 20.0, DecisionKind.REFUSAL))
    store.close()

    reopened = RunStore.open(store_url)  # a new process: only what was stored counts
    kpis = KpiStore(reopened.engine)
    series = kpis.series("a", since=T0, until=T0 + 3600)
    assert [(p.start, p.runs) for p in series] == [(int(T0), 10), (int(T0) + 60, 1)]
    first = series[0]
    assert first.escalation_rate == pytest.approx(0.1)
    assert first.latency_ms(0.5) == pytest.approx(bucket_upper_ms(latency_bucket(10)), rel=1e-3)
    assert first.latency_ms(0.95) == pytest.approx(bucket_upper_ms(latency_bucket(1000)), rel=1e-3)
    assert first.tool_error_rate == 1.0

    merged = kpis.series(None, since=T0, until=T0 + 3600, step_s=120)
    assert [(p.start, p.runs) for p in merged] == [(int(T0), 12)]
    assert merged[0].refusal_rate == pytest.approx(1 / 12, abs=1e-6)
    assert kpis.totals(since=T0 + 60).runs == 2
    assert kpis.totals("b").to_dict()["refusal_rate"] == 1.0
    assert set(kpis.series_by_agent(since=T0)) == {"a", "b"}
    assert kpis.tool_error_counts("a")[0].to_dict() == {
        "subject": "lookup",
        "key": "TOOL_TIMEOUT",
        "count": 1,
    }
    assert kpis.series("a", since=T0 + 7200) == []
    with pytest.raises(TetherError) as bad:
        kpis.series(step_s=90)
    assert bad.value.code is ErrorCode.BAD_REQUEST
    reopened.close()


def test_concurrent_writers_lose_no_update(store_url: str) -> None:
    RunStore.open(store_url).close()  # migrate once
    writers, per_writer = 6, 20
    errors: list[BaseException] = []

    def write(n: int) -> None:
        engine = create_store_engine(store_url)  # one engine per writer, like replicas
        kpis = KpiStore(engine)
        try:
            for i in range(per_writer):
                kpis.record_run(
                    synthetic("busy", T0 + 10, 5.0 + n + i, tool_error="UPSTREAM_ERROR")
                )
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    store = RunStore.open(store_url)
    kpis = KpiStore(store.engine)
    point = kpis.totals("busy")
    assert point.runs == writers * per_writer
    assert sum(point.latency.values()) == writers * per_writer
    assert point.count("tool_errors") == writers * per_writer
    assert kpis.tool_error_counts("busy")[0].count == writers * per_writer
    store.close()
