"""Every run records the release it ran under, and the KPI rollups are keyed by it: the release
the content id of the configuration in force, stored on first use, whatever the labels say."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.sdk.packs.library import LIBRARIAN, LIBRARY, fresh_data
from tether import DecisionKind, Message, Run, RunRequest
from tether.access.control import AccessControl
from tether.core.clock import ManualClock
from tether.models import ScriptedModel, parse_script
from tether.observe import KpiStore
from tether.release import ReleaseInForce, ReleaseStore
from tether.release.binding import RUNTIME_ACTOR
from tether.sdk import Desk, build_desk
from tether.store.runs import RunFilter, RunStore
from tether.store.schema import runs

from .helpers import bundle

SCRIPT = [
    {"tool": "find_book", "args": {"title": "Dune"}},
    {"answer": "Dune by Frank Herbert is on the shelf [tool:1]."},
]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


def desk_over(store: RunStore) -> Desk:
    return build_desk(LIBRARY, store, agents=(LIBRARIAN,), data=fresh_data())


def run(desk: Desk) -> Run:
    request = RunRequest("ada", [Message("user", "Is Dune on the shelf?")])
    result = desk.runtime.run(request, ScriptedModel(parse_script(SCRIPT)))
    assert result.decision is not None and result.decision.kind is DecisionKind.ANSWER
    return result


def releases_of(store: RunStore) -> ReleaseStore:
    return ReleaseStore(store.engine, AccessControl.open(store.engine).audit)


def test_a_run_records_the_configuration_in_force(store: RunStore) -> None:
    desk = desk_over(store)
    assert desk.release is not None
    result = run(desk)
    config = desk.release.bundle().id
    assert result.release == config
    stored = store.get_run(result.id)
    assert stored.release == config and stored.to_dict()["release"] == config
    with store.engine.connect() as conn:
        assert conn.execute(select(runs.c.release_id)).scalar_one() == config
    release = releases_of(store).get(config)  # stored on first use, by the runtime
    assert (
        release.created_by == RUNTIME_ACTOR
        and release.bundle.content == desk.release.bundle().content
    )
    assert store.count_runs(RunFilter(release=config)) == 1
    assert store.count_runs(RunFilter(release="rel_0000000000000000")) == 0
    kpis = KpiStore(store.engine)
    assert kpis.totals(release=config).runs == 1
    assert kpis.totals(release="").runs == 0  # no longer the release-less key


def test_runs_record_what_ran_not_the_production_label(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    releases = releases_of(store)
    labelled, _ = releases.create(bundle(instructions="the release in production"), "cli:ana")
    releases.move_label("production", labelled.id, "cli:ana")
    desk = desk_over(store)
    assert desk.release is not None
    with caplog.at_level(logging.WARNING, logger="tether.release"):
        result = run(desk)
    config = desk.release.configuration
    assert result.release == config != labelled.id
    assert store.get_run(result.id).release == config
    assert KpiStore(store.engine).totals(release=config).runs == 1
    assert any(labelled.id in r.getMessage() and config in r.getMessage() for r in caplog.records)


def test_the_bundle_is_built_once_and_a_moved_label_is_seen_after_the_refresh(
    store: RunStore,
) -> None:
    releases = releases_of(store)
    built: list[int] = []

    def build() -> object:
        built.append(1)
        return bundle()

    clock = ManualClock()
    in_force = ReleaseInForce(releases, build, clock, refresh_s=5.0)  # type: ignore[arg-type]
    config = in_force()
    other, _ = releases.create(bundle(instructions="a candidate"), "cli:ana")
    releases.move_label("production", other.id, "cli:ana")
    assert in_force() == config  # the label names another release: runs record what ran
    clock.advance(5.0)
    assert in_force() == config
    for _ in range(10):
        in_force()
    assert len(built) == 1 and in_force.configuration == config
