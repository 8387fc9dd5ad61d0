"""Prometheus metrics: counted from the demo's committed steps, exposed at /metrics, and every
metric the shipped Grafana dashboard and alert rules use exists there."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import admin_headers, serve
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.observe import TetherMetrics
from tether.server.app import create_app
from tether.store.runs import RunStore

from .conftest import observability, open_desk, run_demo

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for s in family.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def total(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, lab), v in found.items() if n == name and wanted <= set(lab))


def steps_of(runs: Iterable[Run], kind: StepKind) -> list[Step]:
    return [s for r in runs for s in r.steps if s.kind is kind]


def test_the_demo_is_counted_step_by_step(store: RunStore) -> None:
    obs = observability()
    runs = run_demo(store, obs)
    found = samples(obs.metrics.exposition())

    decisions = Counter(r.decision.kind.value for r in runs if r.decision)
    for kind, n in decisions.items():
        assert total(found, "tether_runs_total", decision=kind) == n
        assert total(found, "tether_run_duration_seconds_count", decision=kind) == n
    for kind in StepKind:
        assert total(found, "tether_stage_duration_seconds_count", stage=kind.value) == len(
            steps_of(runs, kind)
        )

    tools = steps_of(runs, StepKind.TOOL)
    assert total(found, "tether_tool_calls_total") == len(tools) > 0
    failed = Counter((s.data["tool"], s.data["error"]["code"]) for s in tools if not s.data["ok"])
    assert failed  # the demo recovers from a NOT_FOUND
    for (tool, code), n in failed.items():
        assert total(found, "tether_tool_errors_total", tool=tool, code=code) == n
    attempts = sum(len(s.data["attempts"]) for s in tools)
    assert total(found, "tether_tool_attempts_total") == attempts
    assert total(found, "tether_tool_breaker_state") == 0  # every breaker seen is closed
    assert any(n == "tether_tool_breaker_state" for n, _ in found)

    guards = steps_of(runs, StepKind.GUARD)
    verdicts = Counter((v["check"], v["effect"]) for g in guards for v in g.data["verdicts"])
    for (check, effect), n in verdicts.items():
        assert total(found, "tether_guard_verdicts_total", check=check, effect=effect) == n

    ended = Counter(
        (r.decision.kind.value, r.decision.reason.code.value)
        for r in runs
        if r.decision and r.decision.reason
    )
    for (kind, code), n in ended.items():
        if kind == "escalation":
            assert total(found, "tether_escalations_total", code=code) == n
        if kind == "refusal":
            assert total(found, "tether_refusals_total", code=code) == n
    rules = Counter(
        (rule, v["effect"])
        for g in guards
        for v in g.data["verdicts"]
        for rule in v["facts"].get("rules", ())
    )
    for (rule, effect), n in rules.items():
        assert total(found, "tether_policy_rule_hits_total", rule=rule, effect=effect) == n
    assert total(found, "tether_policy_rule_hits_total") == sum(rules.values())
    answers = [g for g in guards if "call" not in g.data]
    assert total(found, "tether_answers_checked_total") == len(answers)
    # the uncited answer, the invented citation, three answers whose claims contradict the
    # refunds passage (claim verification), and a question that slipped in an uncited claim
    ungrounded = [
        g
        for g in answers
        if any(
            v["check"] in ("citations", "claims") and v["effect"] != "allow"
            for v in g.data["verdicts"]
        )
    ]
    assert len(ungrounded) >= 6
    assert total(found, "tether_answers_checked_total", outcome="ungrounded") == len(ungrounded)
    assert total(found, "tether_answer_groundedness_ratio_count") == len(answers)


def test_envelope_facts_become_retry_breaker_limit_and_fallback_metrics() -> None:
    metrics = TetherMetrics()
    attempts = [
        {"attempt": 1, "tool": "t", "code": "TOOL_TIMEOUT", "breaker": "closed"},
        {"attempt": 2, "tool": "t", "code": "TOOL_TIMEOUT", "breaker": "closed",
         "breaker_after": "open", "breaker_opened": True},
        {"attempt": 3, "tool": "t", "code": "CIRCUIT_OPEN", "breaker": "open"},
        {"fallback": "alternate", "tool": "t2"},
        {"attempt": 1, "tool": "t2", "code": "RATE_LIMITED", "breaker": "closed"},
        {"fallback": "cached", "ok": True, "age_s": 2.0},
    ]  # fmt: skip
    data = {"tool": "t", "ok": True, "fallback": "cached", "attempts": attempts}
    metrics.observe_steps("agent", [Step("r", 5, StepKind.TOOL, "t", 1.0, 1.5, data)])
    found = samples(metrics.exposition())
    assert total(found, "tether_tool_retries_total", tool="t") == 2
    assert total(found, "tether_tool_breaker_opened_total", tool="t") == 1
    assert total(found, "tether_tool_breaker_state", tool="t") == 2
    assert total(found, "tether_tool_breaker_state", tool="t2") == 0
    assert total(found, "tether_tool_rate_limited_total", tool="t2") == 1
    assert total(found, "tether_tool_fallbacks_total", kind="alternate") == 1
    assert total(found, "tether_tool_fallbacks_total", kind="cached", outcome="served") == 1
    assert total(found, "tether_tool_calls_total", tool="t", outcome="ok") == 1
    metrics.approval_waited(90.0, "approved")
    found = samples(metrics.exposition())
    assert total(found, "tether_approval_wait_seconds_count", outcome="approved") == 1
    assert total(found, "tether_approval_wait_seconds_bucket", outcome="approved", le="60.0") == 0


def _referenced_metrics() -> set[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "tether-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "tether-alerts.yml").read_text())
    rules = [r for g in alerts["groups"] for r in g["rules"]]
    assert rules and all({"alert", "expr", "labels", "annotations"} <= set(r) for r in rules)
    names = {r["alert"] for r in rules}
    assert {
        "TetherToolErrorRateHigh",
        "TetherCircuitBreakerOpen",
        "TetherRefusedByVerificationHigh",
        "TetherApprovalBacklog",
    } <= names
    assert not [r["alert"] for r in rules if "allucination" in r["alert"]]
    exprs += [r["expr"] for r in rules]
    return {m for e in exprs for m in re.findall(r"\btether_[a-z_]+\b", e)}


def test_metrics_endpoint_after_the_demo_serves_what_deploy_assets_use(tmp_path: Path) -> None:
    store = RunStore.open(f"sqlite:///{tmp_path / 'm.db'}")
    obs = observability()
    run_demo(store, obs)
    store.create_run(
        Run("run_waiting", "retail-desk", "raj_sanchez_2970", RunStatus.SUSPENDED, 1.0, 1.0, {}),
        {},
    )
    app = create_app(open_desk(store, obs))
    headers = admin_headers(app)
    with serve(app) as url:
        anonymous = httpx.get(f"{url}/metrics")
        response = httpx.get(f"{url}/metrics", headers=headers)
    store.close()
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")

    text = response.text
    found = samples(response.content)
    for name in (
        "tether_runs_total",
        "tether_run_duration_seconds_count",
        "tether_stage_duration_seconds_count",
        "tether_tool_calls_total",
        "tether_tool_errors_total",
        "tether_guard_verdicts_total",
        "tether_escalations_total",
        "tether_refusals_total",
        "tether_answers_checked_total",
    ):
        assert total(found, name) > 0, name
    assert total(found, "tether_runs_suspended") == 1  # read from the store at scrape time

    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    sample_names = {n for n, _ in found}
    referenced = _referenced_metrics()
    assert len(referenced) >= 15
    for metric in sorted(referenced):
        base = re.sub(r"_(total|bucket|sum|count)$", "", metric)
        assert metric in sample_names or (
            metric != base and families.get(base) in ("counter", "histogram")
        ), f"{metric} is used by deploy/ but not exposed at /metrics"
