"""What the replay tests share: a store holding the runs of a few demo scenarios, and a
replayer over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.runtime.replay import Replayer
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

# a write after a confirmation, another customer's order, an approval and a rejection, a model
# that refuses,
# a negated status caught, an answer revised once
SCENARIOS = (
    "cancel-after-confirmation",
    "other-customers-order",
    "large-return-approved",
    "large-return-rejected",
    "model-refuses",
    "negated-order-status",
    "refund-timeline-revised",
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A store holding the runs of a few demo scenarios."""
    home = tmp_path_factory.mktemp("replay")
    url = f"sqlite:///{home / 'tether.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TETHER_HOME", str(home))
        store = RunStore.open(url)
        domain = load_domain("retail")
        wanted = [s for s in load_scenarios(None, domain) if s.name in SCENARIOS]
        assert len(wanted) == len(SCENARIOS)
        for scenario in wanted:
            assert run_scenario(domain, store, scenario).ok, scenario.name
        store.close()
        yield url, home


@pytest.fixture
def replayer(recorded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Replayer]:
    url, home = recorded
    monkeypatch.setenv("TETHER_HOME", str(home))
    store = RunStore.open(url)
    yield Replayer(build_desk(load_domain("retail"), store, approvals=True).runtime)
    store.close()
