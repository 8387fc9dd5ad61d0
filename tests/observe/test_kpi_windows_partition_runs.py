"""KPI windows that meet never count the same run twice.

README, *KPIs*: `KpiStore.series(agent, since, until, step_s)`, `totals(...)` and `counts(...)`
read the per-minute rollups over [since, until), both ends rounded down to their minute. When
`until` was not rounded like `since`, a boundary inside a minute counted the runs that ended in
that minute in both windows: the parts added up to more than the whole.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.observe.conftest import RECOVERY_SCRIPT, ask, observability, open_desk
from tether.observe import KpiStore
from tether.observe.kpi import minute_of
from tether.store.runs import RunStore


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore.open(store_url)
    yield s
    s.close()


def test_adjacent_windows_partition_the_runs(store: RunStore) -> None:
    desk = open_desk(store, observability())
    run = ask(desk, "Where is order #W4566809?", RECOVERY_SCRIPT)
    ended = store.get_run(run.id, with_steps=False).updated_at
    minute = minute_of(ended)
    boundary = minute + 30.5  # two windows meeting half-way through the run's minute
    kpis = KpiStore(store.engine)
    before = kpis.totals(since=minute - 3600, until=boundary)
    after = kpis.totals(since=boundary, until=minute + 3600)
    whole = kpis.totals(since=minute - 3600, until=minute + 3600)
    assert whole.runs == 1
    assert before.runs + after.runs == whole.runs, (
        f"[since, boundary) counts {before.runs}, [boundary, until) counts {after.runs}: "
        f"one run is counted {before.runs + after.runs} times"
    )
    # the boundary rounds down to the run's minute, which starts the later window
    assert (before.runs, after.runs) == (0, 1)
    counted = [
        sum(row.count for row in kpis.counts("decision", None, since, until))
        for since, until in ((minute - 3600, boundary), (boundary, minute + 3600))
    ]
    assert counted == [0, 1]
