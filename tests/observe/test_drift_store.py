"""Drift read from the store: synthetic traffic whose tool-call mix and refusal rate shift fires
the monitors (SQLite and PostgreSQL); `tether drift` prints them, re-evaluates the release and
keeps the result with it; its gauges and alert rule; bad input is a stable code, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from typer.testing import CliRunner

from tether.cli.app import app
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.observe import TetherMetrics
from tether.observe.drift_calibration import Profile, shifted
from tether.observe.drift_source import DriftWatch, detect_drift
from tether.store.grounding_schema import documents, ingest_jobs
from tether.store.runs import RunStore

from .drift_traffic import PRICES, WRITES, write_traffic
from .test_drift import MORE_REFUSALS, SHIFTED_TOOLS

DAY = 86_400
T0 = 1_800_000_000.0  # a minute boundary
KEYS = {"name", "statistic", "value", "threshold", "fired", "baseline_window", "window"}
ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "tether-alerts.yml"
SCENARIOS = ("02-order-status.yaml", "07-other-customers-order.yaml")


def traffic(store: RunStore, now: float, drift: bool, seed: int = 1) -> None:
    """A week of steady baseline traffic, then a day that shifts (or not)."""
    base = Profile()
    recent = shifted(base, tools=SHIFTED_TOOLS, decisions=MORE_REFUSALS) if drift else base
    write_traffic(store, seed, now - 8 * DAY, now - DAY, 700, base, "b")
    write_traffic(store, seed + 1, now - DAY, now - 120, 250, recent, "w")


def test_a_shift_in_stored_traffic_fires(store_url: str) -> None:
    store = RunStore.open(store_url)
    traffic(store, T0, drift=True)
    report = detect_drift(store.engine, DAY, 7 * DAY, now=T0)
    store.close()
    found = {m.name: m for m in report.monitors}
    assert {"tool_call_mix", "refusal_rate"} <= set(report.fired)
    assert not found["retrieved_sources"].fired and not found["tool_error_rate"].fired
    assert found["refusal_rate"].samples == (700, 250)
    assert found["tool_call_mix"].samples == (1400, 500)  # two calls a run
    assert found["retrieved_sources"].samples == (1400, 500)  # two sources a run
    assert found["refusal_rate"].effect["window"] > 2 * found["refusal_rate"].effect["baseline"]


def test_stable_stored_traffic_does_not_fire(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    traffic(store, T0, drift=False)
    report = detect_drift(store.engine, DAY, 7 * DAY, now=T0, prices=PRICES, registry=WRITES)
    store.close()
    assert report.fired == []
    judged = {m.name for m in report.monitors if m.p_value is not None}
    # no claims checked, one latency, 35 refusals: those monitors say why they cannot judge
    assert judged == {
        "success_rate", "escalation_rate", "refusal_rate", "tool_error_rate",
        "compliance_incident_rate", "decision_mix", "tool_call_mix", "retrieved_sources",
        "cost_per_run",
    }  # fmt: skip
    found = {m.name: m for m in report.monitors}
    audit = found["audit_completeness"]  # the chain is whole in both windows
    assert audit.effect["incomplete"] == {"baseline": 0, "window": 0} and audit.value == 0.0
    assert found["compliance_incident_rate"].effect["baseline"] > 0  # incidents were counted


def test_a_shift_in_stored_cost_incidents_and_audit_fires(store_url: str) -> None:
    store = RunStore.open(store_url)
    base = Profile()
    write_traffic(store, 1, T0 - 8 * DAY, T0 - DAY, 700, base, "b")
    dearer = shifted(base, cost_median=base.cost_median * 2, incident=0.1, audit_gap=0.02)
    write_traffic(store, 2, T0 - DAY, T0 - 120, 250, dearer, "w")
    report = detect_drift(store.engine, DAY, 7 * DAY, now=T0, prices=PRICES, registry=WRITES)
    unpriced = detect_drift(store.engine, DAY, 7 * DAY, now=T0, registry=WRITES)
    store.close()
    assert set(report.fired) == {"cost_per_run", "compliance_incident_rate", "audit_completeness"}
    found = {m.name: m for m in report.monitors}
    cost = found["cost_per_run"]
    assert cost.samples == (700, 250) and cost.value is not None and cost.value >= 0.2
    assert cost.effect["mean"]["window"] > 1.7 * cost.effect["mean"]["baseline"]
    incidents = found["compliance_incident_rate"]
    assert incidents.effect["window"] > 3 * incidents.effect["baseline"]
    audit = found["audit_completeness"]
    assert audit.effect["incomplete"]["baseline"] == 0 and audit.effect["incomplete"]["window"] > 0
    assert audit.test == "zero_tolerance" and audit.value is not None and audit.value > 0
    # without a price table every run is unpriced: nothing to compare, never a zero cost
    blind = {m.name: m for m in unpriced.monitors}["cost_per_run"]
    assert not blind.fired and blind.value is None and "one category" in blind.note


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [k for k in os.environ if k.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["drift", *args])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return json.loads(result.stdout) if "--json" in args else result.stdout


def scenarios(tmp_path: Path) -> str:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    assert RETAIL.scenarios is not None
    for name in SCENARIOS:
        shutil.copy(RETAIL.scenarios / name, folder / name)
    return str(folder)


def test_drift_fires_and_the_release_is_evaluated_again(home: Path, tmp_path: Path) -> None:
    store = RunStore.open()
    traffic(store, time.time(), drift=True)
    store.close()

    report = cli("--json")
    assert {m["name"] for m in report["monitors"] if m["fired"]} >= {
        "tool_call_mix",
        "refusal_rate",
    }
    assert all(set(m) >= KEYS for m in report["monitors"])
    first = report["monitors"][0]
    assert set(first["window"]) == {"start", "end"} and first["window"]["end"].endswith("Z")
    assert first["baseline_window"]["end"] == first["window"]["start"]
    assert report["reevaluation"] is None  # nothing evaluated yet

    ran = cli("--reevaluate", "--scenarios", scenarios(tmp_path), "--json")["reevaluation"]
    assert ran["release"].startswith("rel_") and ran["passed"] is True and ran["ran_now"]
    assert {"drift:tool_call_mix", "drift:refusal_rate"} <= set(ran["triggers"])
    assert ran["suite"] == "gate"  # the release's evaluation suite (`tether eval suite`)
    checks = ran["results"]["checks"]
    assert checks["scenarios"] == {"passed": True, "scenarios": 2, "ok": 2, "failed": []}
    assert checks["replay"]["runs"] > 0  # the window's runs, re-checked under the release

    shown = cli("--json")["reevaluation"]  # a plain `tether drift` shows the stored result
    assert shown == {**ran, "ran_now": False}
    text = cli()
    assert "FIRED" in text and "tool_call_mix" in text and ran["release"] in text


def test_new_knowledge_or_policies_trigger_an_evaluation_once(home: Path, tmp_path: Path) -> None:
    store = RunStore.open()
    traffic(store, time.time(), drift=False)
    store.close()
    folder = scenarios(tmp_path)
    first = cli("--reevaluate", "--scenarios", folder, "--json")
    assert first["fired"] == []
    assert first["reevaluation"]["triggers"] == ["knowledge and policies not evaluated yet"]
    again = cli("--reevaluate", "--scenarios", folder, "--json")["reevaluation"]
    assert again == {**first["reevaluation"], "ran_now": False}  # nothing new: not run again


def test_bad_windows_exit_2_with_a_stable_code(home: Path) -> None:
    for args in (["--window", "24x"], ["--baseline", "-7d"], ["--window", "0h"]):
        found = cli(*args, "--json", code=2)
        assert found["error"]["code"] == ErrorCode.DRIFT_WINDOW_INVALID.value, args
    result = CliRunner().invoke(app, ["drift", "--baseline", "soon"])
    assert result.exit_code == 2 and "DRIFT_WINDOW_INVALID" in result.output
    assert "Traceback" not in result.output


def test_gauges_follow_the_last_evaluation_and_the_alert_rule_reads_them(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    traffic(store, T0, drift=True)
    clock = [100.0]
    watch = DriftWatch(
        store.engine, DAY, 7 * DAY, every_s=300, monotonic=lambda: clock[0], now=lambda: T0
    )
    metrics = TetherMetrics()
    report = watch.refresh(metrics)
    assert report is not None and report.window.end == T0
    fired = {
        s.labels["monitor"]: s.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        if family.name == "tether_drift_monitor_fired"
        for s in family.samples
    }
    assert set(fired) == {m.name for m in report.monitors}
    assert {name for name, value in fired.items() if value == 1.0} == set(report.fired)
    assert fired["tool_call_mix"] == 1.0 and fired["tool_error_rate"] == 0.0
    text = metrics.exposition().decode()
    assert 'tether_drift_monitor_value{monitor="tool_call_mix",statistic="psi"}' in text
    assert 'tether_drift_monitor_threshold{monitor="refusal_rate",statistic="cohens_h"} 0.1' in text
    clock[0] += 10
    assert watch.refresh(metrics) is report  # not evaluated again before `every_s`
    clock[0] += 300
    again = watch.refresh(metrics)
    assert again is not report and again is not None and again.fired == report.fired
    store.close()

    assert DriftWatch.from_env(store.engine, {"TETHER_DRIFT_EVERY_S": "0"}) is None
    with pytest.raises(TetherError) as caught:
        DriftWatch.from_env(store.engine, {"TETHER_DRIFT_EVERY_S": "often"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    with pytest.raises(TetherError) as caught:
        DriftWatch.from_env(store.engine, {"TETHER_DRIFT_WINDOW": "1y"})
    assert caught.value.code is ErrorCode.DRIFT_WINDOW_INVALID

    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rule = next(r for g in rules["groups"] for r in g["rules"] if r["alert"] == "TetherDrift")
    assert "tether_drift_monitor_fired" in rule["expr"] and "monitor" in rule["expr"]
    assert "{{ $labels.monitor }}" in rule["annotations"]["summary"]


def test_evidence_that_stops_being_refreshed_fires_the_age_monitor(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    profile = Profile()
    versions = []
    for day in range(8, 1, -1):  # a week in which the knowledge base is refreshed daily
        start = T0 - day * DAY
        versions.append((f"v{day}", start - DAY / 2))
        write_traffic(store, day, start, start + DAY, 50, profile, f"b{day}-", f"v{day}")
    versions.append(("v40", T0 - 40 * DAY))  # then a day that cites a month-old version
    write_traffic(store, 99, T0 - DAY, T0 - 120, 80, profile, "w", "v40")
    rows = [
        {"uri": uri, "version": version, "source": "kb://", "doc_id": uri, "title": uri,
         "media_type": "text/markdown", "acl": "[]", "size": 1, "chunks": 1, "job_id": "j",
         "ingested_at": at}
        for version, at in versions
        for uri in profile.sources
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(documents), rows)
    report = detect_drift(store.engine, DAY, 7 * DAY, now=T0)
    store.close()
    age = next(m for m in report.monitors if m.name == "evidence_age")
    assert age.fired and age.samples == (700, 160)  # two documents per run
    shares = age.effect["shares"]  # a day-old version half a day to a day and a half later
    assert 0.4 < shares["<1d"]["baseline"] < 0.6 and 0.4 < shares["<7d"]["baseline"] < 0.6
    assert shares["<90d"] == {"baseline": 0.0, "window": 1.0}
    assert report.fired == ["evidence_age"]  # nothing else moved


def test_a_knowledge_source_whose_ingests_stopped_is_reported(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    jobs = [
        {"id": f"{source}-{k}-{status}", "source": source, "status": status, "started_at": at - 5,
         "finished_at": at, "acl": "[]", "stats": "{}"}
        for source, last in (("kb://faq/", T0 - DAY / 2), ("kb://prices/", T0 - 6 * DAY))
        for k in range(8)
        for at, status in ((last - k * DAY, "succeeded"), (last - k * DAY + 60, "failed"))
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(ingest_jobs), jobs)
    report = detect_drift(store.engine, DAY, 7 * DAY, now=T0)
    store.close()
    stale = next(m for m in report.monitors if m.name == "stale_sources")
    assert stale.fired and list(stale.effect["stale"]) == ["kb://prices/"]
    assert stale.effect["stale"]["kb://prices/"]["usual_gap_s"] == DAY  # failed jobs don't count
    assert report.fired == ["stale_sources"]
