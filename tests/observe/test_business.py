"""Business KPIs: the price table and its errors; every KPI per release from synthetic runs in a
store (SQLite and PostgreSQL); `tether kpi --json`; the Prometheus gauges; the dashboard page."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from tether.cli.app import app
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.observe import TetherMetrics
from tether.observe.business import headline
from tether.observe.business_source import BusinessSettings, BusinessWatch, business_kpis
from tether.observe.prices import PriceTable
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

from .business_traffic import PRICES, REL_A, REL_B, traffic, write

T0 = 1_800_000_000.0
DAY = 86_400.0


def by_release(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["release"]: r for r in report["releases"]}


# -- the price table ------------------------------------------------------------------------


def test_inline_prices_cost_tokens_and_unknown_models_have_no_price() -> None:
    table = PriceTable.from_env({"TETHER_MODEL_PRICES": json.dumps(PRICES)})
    assert table.cost("gpt-x", 1500, 250) == pytest.approx(1.5 + 0.5)
    assert table.cost("other", 10, 10) is None
    assert PriceTable.from_env({}).prices == {}


def test_prices_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("small:\n  input_per_1k: 0.25\n  output_per_1k: 1\n", encoding="utf-8")
    table = PriceTable.from_env({"TETHER_MODEL_PRICES": str(path)})
    assert table.cost("small", 4000, 1000) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('{"m": {"input_per_1k": -1, "output_per_1k": 1}}', "model 'm': input_per_1k"),
        ('{"m": {"input_per_1k": 1}}', "output_per_1k: Field required"),
        ('{"m": {"input_per_1k": 1, "output_per_1k": 1, "tax": 2}}', "tax"),
        ("{not json", "is not valid JSON"),
        ("/nowhere/prices.yaml", "cannot be read"),
    ],
)
def test_a_bad_price_table_is_config_invalid_and_says_what(value: str, says: str) -> None:
    with pytest.raises(TetherError) as caught:
        PriceTable.from_env({"TETHER_MODEL_PRICES": value})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert says in caught.value.message and "input_per_1k" in caught.value.message


def test_a_bad_follow_up_window_is_config_invalid() -> None:
    assert BusinessSettings.from_env({"TETHER_KPI_FOLLOW_UP": "24h"}).follow_up_s == DAY
    assert BusinessSettings.from_env({}).follow_up_s == 3 * DAY
    with pytest.raises(TetherError) as caught:
        BusinessSettings.from_env({"TETHER_KPI_FOLLOW_UP": "soon"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID


# -- every KPI from a store -------------------------------------------------------------------


def report_of(store_url: str, now: float, **options: Any) -> dict[str, Any]:
    store = RunStore.open(store_url)
    try:
        write(store, traffic(T0), T0)
        prices = PriceTable.parse(PRICES)
        return business_kpis(store.engine, T0, T0 + DAY, prices, now=now, **options)
    finally:
        store.close()


def test_business_kpis_per_release(store_url: str) -> None:
    report = report_of(store_url, now=T0 + 10 * DAY)
    assert [r["release"] for r in report["releases"]] == [REL_A, REL_B]  # busiest first
    a, b = by_release(report)[REL_A], by_release(report)[REL_B]

    # cost: 3000 input and 1500 output tokens of gpt-x at 1 and 2 per 1k
    assert a["cost"]["tokens"] == {"gpt-x": {"input": 3000, "output": 1500}}
    assert a["cost"]["total"] == pytest.approx(6.0)
    assert a["cost"]["per_run"] == pytest.approx(1.5)
    assert a["cost"]["per_resolved_conversation"] == pytest.approx(3.0)  # 6.0 over c1 and c3
    # a model without a price leaves the cost unknown rather than zero
    assert b["cost"]["unpriced_models"] == ["mystery"] and b["cost"]["per_run"] is None

    talk = a["conversations"]
    assert (talk["conversations"], talk["concluded"], talk["resolved"]) == (3, 3, 2)
    assert talk["handle_time_s"] == pytest.approx((10 + 140 + 20) / 3, abs=1e-3)
    # c1 is resolved but alice came back about order #1 (c3); bob's was escalated
    assert (talk["fcr_judged"], talk["first_contact_resolved"]) == (3, 1)
    assert talk["first_contact_resolution"] == pytest.approx(1 / 3, abs=1e-6)
    assert b["conversations"]["concluded"] == 0 and b["conversations"]["handle_time_s"] is None

    # incidents: writes only (the denied read of order #2 is not one), keyed by policy id
    assert a["compliance"]["by_rule"] == {"big-refund": {"escalate": 1}, "no-cancel": {"deny": 1}}
    assert a["compliance"]["incidents_per_run"] == 0.5
    assert b["compliance"]["incidents"] == 0  # its write was allowed

    # a2's denial and decision never reached the chain
    assert a["audit"]["audit_completeness"] == 0.75
    assert a["audit"]["missing_events"] == {"guard.deny": 1, "run.decided": 1}
    assert a["audit"]["incomplete_examples"] == ["a2"]
    assert b["audit"]["audit_completeness"] == 1.0

    # a1 cited v1 an hour and 100 s after it was ingested; a4 cited a version no longer stored
    fresh = a["freshness"]
    assert (fresh["evidence_cited"], fresh["evidence_unknown"]) == (2, 1)
    assert fresh["evidence_age_p95_s"] == pytest.approx(3700.0)
    assert headline(a)["evidence_age_p95_s"] == pytest.approx(3700.0)


def test_first_contact_resolution_waits_for_its_follow_up_window(sqlite_url: str) -> None:
    talk = by_release(report_of(sqlite_url, now=T0 + DAY))[REL_A]["conversations"]
    assert (talk["fcr_judged"], talk["fcr_pending"]) == (0, 3)
    assert talk["first_contact_resolution"] is None
    # with a window that has passed, c1's repeat contact (an hour later) falls outside it
    short = report_of(sqlite_url.replace("tether.db", "short.db"), T0 + DAY, follow_up_s=1800)
    assert by_release(short)[REL_A]["conversations"]["first_contact_resolved"] == 2


def test_one_release_only(sqlite_url: str) -> None:
    report = report_of(sqlite_url, now=T0 + 10 * DAY, release=REL_B)
    assert [(r["release"], r["runs"]) for r in report["releases"]] == [(REL_B, 2)]


# -- the command, the gauges, the page --------------------------------------------------------


def written(url: str, t0: float) -> None:
    store = RunStore.open(url)
    write(store, traffic(t0), t0)
    store.close()


def test_tether_kpi_json(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TETHER_MODEL_PRICES", json.dumps(PRICES))
    written(sqlite_url, time.time() - DAY)
    result = CliRunner().invoke(app, ["kpi", "--since", "2d", "--json"])
    assert result.exit_code == 0, result.output
    found = by_release(json.loads(result.stdout))
    assert found[REL_A]["cost"]["per_run"] == pytest.approx(1.5)
    assert found[REL_A]["conversations"]["fcr_pending"] == 3  # 72 h have not passed yet
    shown = CliRunner().invoke(app, ["kpi", "--since", "2d"])
    flat = " ".join(shown.stdout.split())
    assert "no-cancel {'deny': 1}" in flat and "without a price: mystery" in flat

    monkeypatch.setenv("TETHER_MODEL_PRICES", '{"gpt-x": {"input_per_1k": "a lot"}}')
    bad = CliRunner().invoke(app, ["kpi", "--json"])
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["error"]["code"] == "CONFIG_INVALID"


def test_tether_kpi_refuses_durations_beyond_reach(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Digits enough to overflow a float, or a follow-up beyond the year the setting allows,
    are bad input, never an `Infinity` that no JSON reader accepts."""
    for name in [k for k in os.environ if k.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_DATABASE_URL", sqlite_url)
    huge = "9" * 400 + "h"
    for args in (["--since", huge], ["--follow-up", huge], ["--follow-up", "800d"]):
        bad = CliRunner().invoke(app, ["kpi", *args, "--json"])
        assert bad.exit_code == 2, bad.output
        assert json.loads(bad.stdout)["error"]["code"] == "BAD_REQUEST"
    fine = CliRunner().invoke(app, ["kpi", "--follow-up", "365d", "--json"])
    assert fine.exit_code == 0 and json.loads(fine.stdout)["follow_up_s"] == 365 * DAY


def test_gauges_per_release(sqlite_url: str) -> None:
    now = time.time()
    written(sqlite_url, now - 3600)
    store = RunStore.open(sqlite_url)
    env = {"TETHER_MODEL_PRICES": json.dumps(PRICES), "TETHER_KPI_WINDOW": "2h"}
    watch = BusinessWatch.from_env(store.engine, environ=env)
    assert watch is not None
    metrics = TetherMetrics()
    watch.refresh(metrics)
    store.close()
    samples = {
        (s.labels["release"], s.labels["kpi"]): s.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        if family.name == "tether_business_kpi"
        for s in family.samples
    }
    assert samples[REL_A, "cost_per_run"] == pytest.approx(1.5)
    assert samples[REL_A, "audit_completeness"] == 0.75
    assert math.isnan(samples[REL_B, "cost_per_run"])
    text = metrics.exposition().decode()
    assert (
        f'tether_compliance_incidents{{effect="deny",release="{REL_A}",rule="no-cancel"}} 1.0'
        in text
    )
    assert BusinessWatch.from_env(store.engine, environ={"TETHER_KPI_EVERY_S": "0"}) is None
    with pytest.raises(TetherError):
        BusinessWatch.from_env(store.engine, environ={"TETHER_KPI_WINDOW": "lately"})


# -- the definitions hold on what the runtime records ------------------------------------------

RECORDED = (
    "cancel-after-confirmation",  # a confirmed write
    "other-customers-order",  # a read refused: not a compliance incident
    "large-return-escalated",  # a write escalated by a policy rule
    "return-item-not-in-order",  # a confirmed write stopped by its premises
)


def test_runs_the_runtime_records_are_audited_completely(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(sqlite_url)
    started = time.time()
    for scenario in load_scenarios(None, RETAIL):
        if scenario.name in RECORDED:
            assert run_scenario(RETAIL, store, scenario).ok, scenario.name
    report = business_kpis(store.engine, started - 60, time.time() + 60, now=time.time())
    store.close()
    [found] = report["releases"]
    assert found["release"].startswith("rel_")  # the desk's release, from its bundle's tools
    assert found["audit"]["audit_completeness"] == 1.0, found["audit"]
    assert found["compliance"]["by_rule"] == {
        "supervisor-approval-large-return": {"escalate": 1},
        "premises:PREMISE_FAILED": {"deny": 1},
    }
    talk = found["conversations"]
    assert talk["conversations"] == len(RECORDED) and talk["concluded"] == len(RECORDED)
    assert talk["resolved"] == 2  # not the refused read, nor the escalated return
