"""KPI rollups are keyed by the release a run executed under (README, Releases/Runs: "the KPI
rollups are keyed by it"; Observability/KPIs: each run is added "by agent and release ... and
feedback"). Feedback on a run of release R was filed under the empty release ("runs recorded
before releases") instead, so R's resolved rate and CSAT never saw it and legacy traffic got
credit for it. Now it counts under R; a run recorded without a release still counts under ""."""

from __future__ import annotations

import time
from pathlib import Path

from tests.release.cli_store import Cli
from tether.observe.feedback import FeedbackStore
from tether.observe.kpi_store import KpiStore
from tether.store.runs import RunStore


def test_feedback_counts_under_the_runs_release(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    code, _ = cli("demo", "--no-serve")
    assert code == 0
    run = cli.ok("runs", "list")["runs"][0]
    shown = cli.ok("runs", "show", run["id"])
    release = shown.get("release")
    assert isinstance(release, str) and release.startswith("rel_"), shown.keys()

    older = cli.ok("runs", "list")["runs"][1]["id"]
    assert cli.sql("UPDATE runs SET release_id = NULL WHERE id = ?", older)  # before releases

    store = RunStore.open(cli.url)
    try:
        at = time.time() - 120  # a whole minute in the past, so the rollup reads it
        FeedbackStore(store.engine).add(run["id"], True, 5, None, "customer", at=at)
        FeedbackStore(store.engine).add(older, False, None, None, "customer", at=at)
        kpis = KpiStore(store.engine)
        since, until = at - 60, time.time()
        mine = kpis.totals(None, since, until, release=release)
        legacy = kpis.totals(None, since, until, release="")
    finally:
        store.close()
    assert mine.count("feedback") == 1, (mine.values, legacy.values)
    assert mine.resolved_rate == 1.0
    assert legacy.count("feedback") == 1, legacy.values  # the run without a release
    assert legacy.resolved_rate == 0.0
