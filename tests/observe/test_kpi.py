"""KPI rollups on SQLite and PostgreSQL: what the demo adds, series and totals, percentiles
that survive a restart, and no lost update with concurrent writers."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import (
    Decision,
    DecisionKind,
    Message,
    Reason,
    Run,
    RunStatus,
    Step,
    StepKind,
)
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.observe import KpiStore
from tether.observe.kpi import BUCKET_GROWTH, bucket_upper_ms, latency_bucket, percentile
from tether.runtime import RunRequest
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
    # answers the claims check stopped, counted from the steps themselves (among them the
    # three whose claims contradict the refunds passage); citation refusals are not its own
    stopped = sum(
        1
        for r in runs
        for s in r.steps
        if s.kind is StepKind.GUARD
        and s.name == "answer"
        and any(v["check"] == "claims" and v["effect"] != "allow" for v in s.data["verdicts"])
    )
    assert stopped >= 3
    assert total.count("answers_ungrounded") == stopped
    assert total.refused_by_verification == pytest.approx(
        stopped / total.count("answers_checked"), abs=1e-6
    )
    assert total.to_dict()["refused_by_verification"] == total.refused_by_verification
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


def checked_answer(ended: float, *verdicts: dict[str, Any]) -> Run:
    """An answer run whose proposed answer went through `verdicts` (the answer guard step)."""
    effect = next((v["effect"] for v in verdicts if v["effect"] != "allow"), "allow")
    guard = Step(
        "r",
        1,
        StepKind.GUARD,
        "answer",
        ended - 0.01,
        ended,
        {
            "effect": effect,
            "verdicts": list(verdicts),
        },
    )
    decision = Decision(DecisionKind.ANSWER, "")
    return Run("r", "v", "p", RunStatus.COMPLETED, ended - 0.1, ended, {}, decision, steps=(guard,))


def verdict(check: str, effect: str, code: str = "", **facts: Any) -> dict[str, Any]:
    reasons = [{"code": code, "message": "why"}] if code else []
    return {"check": check, "effect": effect, "reasons": reasons, "facts": facts}


def claims(*statuses: str) -> list[dict[str, Any]]:
    return [{"claim": f"claim {i}", "status": s} for i, s in enumerate(statuses)]


def test_verification_rates_count_what_the_claims_check_stopped_and_judged(
    store_url: str,
) -> None:
    store = RunStore.open(store_url)
    kpis = KpiStore(store.engine)
    answers = [
        # stopped: one claim contradicted
        verdict(
            "claims",
            "deny",
            "CLAIM_CONTRADICTED",
            checked=2,
            claims=claims("supported", "contradicted"),
        ),
        # stopped by an escalation, recorded with the failing claims only (older verdicts)
        verdict(
            "claims",
            "escalate",
            "CLAIM_UNSUPPORTED",
            checked=2,
            failing=[{"claim": "x", "status": "unsupported"}],
        ),
        # let through, one claim left uncertain
        verdict("claims", "allow", checked=3, claims=claims("supported", "supported", "uncertain")),
        # nothing to verify: not an answer the verifier checked
        verdict("claims", "allow", checked=0, note="the reply asserts nothing"),
    ]
    for i, v in enumerate(answers):
        kpis.record_run(checked_answer(T0 + 1 + i, v))
    # refused by the citation check, not by the verifier, whose claims all held
    kpis.record_run(
        checked_answer(
            T0 + 9,
            verdict("citations", "deny", "ANSWER_UNGROUNDED"),
            verdict("claims", "allow", checked=1, claims=claims("supported")),
        )
    )
    total = kpis.totals("v")
    store.close()
    assert total.count("answers_checked") == 4
    assert total.count("answers_ungrounded") == 2
    assert total.refused_by_verification == pytest.approx(2 / 4)
    # claims from the full per-claim record: 6 judged, contradicted and uncertain not supported
    assert (total.count("claims"), total.count("claims_unsupported")) == (6, 2)
    assert total.unsupported_claims == pytest.approx(2 / 6, abs=1e-6)
    shown = total.to_dict()
    assert shown["refused_by_verification"] == 0.5
    assert shown["unsupported_claims"] == pytest.approx(0.333333)
    assert "hallucination_rate" not in shown and "unsupported_claim_rate" not in shown


def test_verification_rates_without_checked_answers_are_none(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    kpis = KpiStore(store.engine)
    kpis.record_run(synthetic("quiet", T0 + 5, 10.0, DecisionKind.ESCALATION))
    kpis.record_run(
        checked_answer(T0 + 6, verdict("claims", "allow", checked=0, note="no evidence"))
    )
    total = kpis.totals("quiet")
    unchecked = kpis.totals("v")
    store.close()
    assert total.runs == 1 and unchecked.runs == 1
    for point in (total, unchecked):
        assert point.refused_by_verification is None and point.unsupported_claims is None
        assert point.to_dict()["refused_by_verification"] is None
        assert point.to_dict()["unsupported_claims"] is None


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


class Died(BaseException):
    """Stands in for the process dying: nothing in the run may catch it."""


class DieAtRunEnd:
    """An observer told of the end first, which kills the process right after the commit."""

    def on_steps(self, run: Run, steps: Any) -> None:
        return None

    def on_run_end(self, run: Run) -> None:
        raise Died(run.id)


def test_a_run_counts_once_even_if_its_process_dies_right_after_the_decision(
    store_url: str,
) -> None:
    desk = open_retail_desk(RunStore.open(store_url), db=RetailDB.fresh_copy())
    script = [
        {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
        {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
        {"answer": "Order #W4566809 is pending [tool:2]."},
    ]
    asks = "Status of #W4566809? I am raj.sanchez2046@example.com"
    request = RunRequest("raj_sanchez_2970", [Message("user", asks)])
    try:
        kpis = KpiStore(desk.store.engine)
        first = desk.runtime.run(request, ScriptedModel(parse_script(script)))
        assert first.decision is not None and first.decision.kind is DecisionKind.ANSWER
        assert kpis.totals().runs == 1  # counted once, not in the commit and again after it
        dying = dataclasses.replace(
            desk.runtime, observers=(DieAtRunEnd(), *desk.runtime.observers)
        )
        with pytest.raises(Died) as died:
            dying.run(request, ScriptedModel(parse_script(script)))
        stored = desk.store.get_run(str(died.value))
        assert stored.decision is not None  # the decision committed, and its KPIs with it
        assert kpis.totals().runs == 2
    finally:
        desk.store.close()
