"""Counting a batch of steps at once gives the same metrics and KPIs as counting them one by
one: increments gathered per batch add up exactly, every KPI column gets its own value, and
count rows are written in key order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event

from tether.core.errors import ErrorCode
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.observe import TetherMetrics
from tether.observe.kpi import run_kpis
from tether.observe.kpi_store import KpiStore, add_minute
from tether.observe.metrics import verdict_rules
from tether.store.db import create_store_engine, migrate
from tether.store.kpi_schema import KPI_COUNTERS, KPI_SUMS

from .conftest import RECOVERY_SCRIPT, ask, observability, open_desk


def _exposition_lines(metrics: TetherMetrics) -> list[str]:
    """The exposition without stage latencies' buckets and sums (each is a measured time) and
    without creation times."""
    lines = metrics.exposition().decode().splitlines()
    return [
        line
        for line in lines
        if "_created" not in line
        and not (line.startswith("tether_stage_duration") and "_count" not in line)
    ]


def _demo_steps(sqlite_url: str) -> list[Step]:
    from tether.store.runs import RunStore

    store = RunStore.open(sqlite_url)
    try:
        desk = open_desk(store, observability())
        runs = [
            ask(desk, "Status of my order?", RECOVERY_SCRIPT),
            ask(desk, "Whose order?", [{"tool": "get_order_details",
                                        "args": {"order_id": "#W1006327"}},
                                       {"answer": "Sorry."}]),
        ]  # fmt: skip
        return [s for r in runs for s in store.get_run(r.id).steps]
    finally:
        store.close()


def test_a_batch_counts_exactly_what_its_steps_count_one_at_a_time(sqlite_url: str) -> None:
    steps = _demo_steps(sqlite_url)
    verdicts = [s for s in steps if s.kind is StepKind.GUARD]
    assert len(verdicts) >= 3 and any(s.data["effect"] == "deny" for s in verdicts)
    batched, single = TetherMetrics(), TetherMetrics()
    batched.observe_steps("desk", steps)
    for step in steps:
        single.observe_steps("desk", [step])
    assert _exposition_lines(batched) == _exposition_lines(single)
    text = "\n".join(_exposition_lines(batched))
    n = sum(1 for s in verdicts for v in s.data["verdicts"] if v["check"] == "schema")
    assert f'tether_guard_verdicts_total{{check="schema",effect="allow",target="tool"}} {n}.0' in (
        text
    )


def test_a_step_that_cannot_be_read_leaves_the_ones_before_it_counted() -> None:
    metrics = TetherMetrics()
    good = Step("r", 1, StepKind.TOOL, "t", 1.0, 1.5, {"tool": "t", "ok": True, "attempts": []})
    broken = Step("r", 2, StepKind.TOOL, "t", 1.0, 1.5, {"tool": "t", "ok": True, "attempts": 7})
    with pytest.raises(TypeError):
        metrics.observe_steps("desk", [good, broken])
    assert 'tether_tool_calls_total{outcome="ok",tool="t"} 2.0' in metrics.exposition().decode()


def test_model_tokens_add_up_across_a_batch() -> None:
    metrics = TetherMetrics()
    usage = {"output": {"usage": {"prompt_tokens": 7, "completion_tokens": 3}}}
    turns = [Step("r", i, StepKind.MODEL_TURN, "m", 1.0, 1.1, usage) for i in (1, 2, 3)]
    metrics.observe_steps("desk", turns)
    text = metrics.exposition().decode()
    assert 'tether_model_tokens_total{model="m",type="input"} 21.0' in text
    assert 'tether_model_tokens_total{model="m",type="output"} 9.0' in text


@pytest.mark.parametrize(
    ("verdict", "rules"),
    [
        ({"check": "schema", "effect": "allow", "facts": {}}, []),
        ({"check": "schema", "effect": "allow"}, []),
        ({"facts": {"rules": ["a", "b"], "policies": ["x:1"]}}, ["a", "b"]),
        ({"facts": {"rules": []}}, []),
        ({"facts": {"policies": ["r1:s1", "r1:s2", "r2", "r3:s"]}}, ["r1", "r2", "r3"]),
        ({"facts": {"policies": []}}, []),
        ({"facts": {"rules": [3]}}, ["3"]),
    ],
)
def test_the_rules_of_a_verdict(verdict: dict[str, Any], rules: list[str]) -> None:
    assert verdict_rules(verdict) == rules


def _verdict(check: str, effect: str, **facts: Any) -> dict[str, Any]:
    return {"check": check, "effect": effect, "reasons": [], "facts": facts}


def test_run_kpis_count_every_verdict_rule_policy_and_tool_error() -> None:
    guard = {
        "call": {"name": "t"},
        "verdicts": [
            _verdict("schema", "allow"),
            _verdict("policy", "deny", policies=["r1:a", "r1:b", "r2"]),
        ],
    }
    answer = {
        "verdicts": [
            _verdict("claims", "deny", checked=2, claims=[{"status": "supported"},
                                                           {"status": "contradicted"}]),
            _verdict("policy", "allow", rules=["desk"], policies=["desk"]),
        ]
    }  # fmt: skip
    steps = (
        Step("r", 1, StepKind.GUARD, "t", 1.0, 1.1, guard),
        Step("r", 2, StepKind.TOOL, "t", 1.1, 1.2, {"tool": "t", "ok": False,
                                                     "error": {"code": "NOT_FOUND"}}),
        Step("r", 3, StepKind.TOOL, "t", 1.2, 1.3, {"tool": "t", "ok": True}),
        Step("r", 4, StepKind.GUARD, "t", 1.1, 1.2, guard),
        Step("r", 5, StepKind.GUARD, "answer", 1.3, 1.4, answer),
    )  # fmt: skip
    decision = Decision(DecisionKind.REFUSAL, "no", reason=Reason(ErrorCode.POLICY_DENIED, "x"))
    run = Run("r", "desk", "raj", RunStatus.COMPLETED, 120.0, 121.5, {}, decision, steps=steps)
    kpis = run_kpis(run)
    assert kpis.minute == 120 and kpis.latency_bucket is not None
    assert kpis.values == {
        "latency_ms_sum": 1500.0,
        "runs": 1.0,
        "refusals": 1.0,
        "tool_calls": 2.0,
        "tool_errors": 1.0,
        "answers_checked": 1.0,
        "answers_ungrounded": 1.0,
        "claims": 2.0,
        "claims_unsupported": 1.0,
    }
    assert kpis.counts == Counter(
        {
            ("decision", "refusal", "POLICY_DENIED"): 1,
            ("tool_error", "t", "NOT_FOUND"): 1,
            ("verdict", "schema", "allow"): 2,
            ("verdict", "policy", "deny"): 2,
            ("rule_hit", "r1", "deny"): 2,
            ("rule_hit", "r2", "deny"): 2,
            ("policy_hit", "r1:a", "deny"): 2,
            ("policy_hit", "r1:b", "deny"): 2,
            ("policy_hit", "r2", "deny"): 2,
            ("verdict", "claims", "deny"): 1,
            ("verdict", "policy", "allow"): 1,
            ("rule_hit", "desk", "allow"): 1,
            ("policy_hit", "desk", "allow"): 1,
        }
    )


def test_every_kpi_column_gets_its_own_value(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    migrate(engine)
    values: dict[str, float] = {c: i + 1 for i, c in enumerate(KPI_COUNTERS)}
    values |= {c: 0.5 + i for i, c in enumerate(KPI_SUMS)}
    with engine.begin() as conn:
        add_minute(conn, 600, "desk", "", values, 7)
        add_minute(conn, 600, "desk", "", values, 7)
    point = KpiStore(engine).totals()
    assert point.values == {c: 2 * v for c, v in values.items()}
    assert point.latency == {7: 2}
    engine.dispose()


def test_count_rows_are_written_in_key_order(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    migrate(engine)
    written: list[tuple[Any, ...]] = []

    def seen(_conn, _cursor, sql, params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "kpi_counts" in sql:
            written.append(tuple(params))

    counts = {
        ("verdict", s, e): 1 for s in ("schema", "grant", "policy") for e in ("deny", "allow")
    }
    counts[("decision", "answer", "")] = 1
    event.listen(engine, "before_cursor_execute", seen)
    with engine.begin() as conn:
        add_minute(conn, 600, "desk", "", {"runs": 1}, None, counts)
    event.remove(engine, "before_cursor_execute", seen)
    (params,) = written
    rows = [params[i : i + 8] for i in range(0, len(params), 8)]
    assert [r[3:6] for r in rows] == sorted(counts)  # metric, subject, key: the key's order
    assert {r[:3] for r in rows} == {(600, "desk", "")} and len({r[6] for r in rows}) == 1
    assert all(r[7] == 1 for r in rows)
    engine.dispose()
