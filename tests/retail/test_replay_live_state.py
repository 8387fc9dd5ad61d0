"""A replay reads nothing live: neither the retail records a recorded run's checks looked at
(orders, users) nor the catalogue whose variants an exchange swaps in, whose availability and
prices can change after the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether.core.types import StepKind
from tether.domains.retail.db import RetailDB
from tether.runtime.replay import Replayer
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore


def test_an_exchange_replays_without_reading_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    domain = load_domain("retail")
    (scenario,) = [
        s for s in load_scenarios(None, domain) if s.name == "exchange-after-confirmation"
    ]
    assert run_scenario(domain, store, scenario).ok
    runs = [store.get_run(r.id) for r in store.list_runs(limit=100)]
    swaps = [
        s
        for r in runs
        for s in r.steps
        if s.kind is StepKind.GUARD and s.name == "exchange_delivered_order_items"
    ]
    assert swaps, "the scenario proposes an exchange"
    # the variant swapped in is kept with the step, as the check saw it
    assert all(any(k.startswith("retail_products.item:") for k in s.data["reads"]) for s in swaps)

    live: list[Any] = []
    fetch, scan = RetailDB._fetch, RetailDB._all

    def fetched(self: RetailDB, table: Any, key: str) -> Any:
        live.append((table.name, key))
        return fetch(self, table, key)

    def scanned(self: RetailDB, table: Any) -> Any:
        live.append((table.name, "*"))
        return scan(self, table)

    monkeypatch.setattr(RetailDB, "_fetch", fetched)
    monkeypatch.setattr(RetailDB, "_all", scanned)
    replayer = Replayer(build_desk(domain, store, approvals=True).runtime)  # nothing cached
    for run in runs:
        report = replayer.replay(run)
        assert report.identical, (run.id, [d.to_dict() for d in report.diffs])
    assert live == []
    store.close()
