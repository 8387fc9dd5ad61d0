"""Releases and labels in the system of record, on SQLite and PostgreSQL: creating is
idempotent, every creation and label move is an audit event with its operator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tether import ErrorCode, TetherError
from tether.access.control import AccessControl
from tether.release import ReleaseStore
from tether.store.runs import RunStore

from .helpers import bundle


def open_releases(url: str) -> Iterator[ReleaseStore]:
    store = RunStore.open(url)
    access = AccessControl.open(store.engine)
    yield ReleaseStore(store.engine, access.audit)
    store.close()


@pytest.fixture
def both(store_url: str) -> Iterator[ReleaseStore]:
    """On SQLite and PostgreSQL."""
    yield from open_releases(store_url)


@pytest.fixture
def releases(sqlite_url: str) -> Iterator[ReleaseStore]:
    yield from open_releases(sqlite_url)


def release_events(releases: ReleaseStore) -> list[dict[str, object]]:
    events = releases.audit.events(limit=1000)
    return [
        {"kind": e.kind, "actor": e.actor, **json.loads(e.data)}
        for e in events
        if e.kind.startswith("release.")
    ]


def test_a_release_round_trips_and_is_created_once(both: ReleaseStore) -> None:
    releases = both
    made, created = releases.create(bundle(), "cli:ana", note="  first   cut ")
    again, created_again = releases.create(bundle(), "cli:bo", note="another note")
    assert created is True and created_again is False
    assert again.id == made.id and again.note == "first cut" and again.created_by == "cli:ana"
    stored = releases.get(made.id)
    assert stored.bundle.content == bundle().content and stored.digest == bundle().digest
    assert [r.id for r in releases.list_releases()] == [made.id]
    assert release_events(releases) == [
        {"kind": "release.created", "actor": "cli:ana", "release": made.id,
         "digest": made.digest, "note": "first cut"}
    ]  # fmt: skip


def test_moving_a_label_is_recorded_with_who_and_where_from(both: ReleaseStore) -> None:
    releases = both
    one, _ = releases.create(bundle(), "cli:ana")
    two, _ = releases.create(bundle(instructions="Be brief."), "cli:ana")
    first = releases.move_label("production", one.id, "cli:ana")
    moved = releases.move_label("production", two.id, "cli:bo")
    same = releases.move_label("production", "production", "cli:cy")  # by label: no move
    releases.move_label("candidate", one.id, "cli:bo")
    assert (first.previous, moved.previous, moved.release_id) == (None, one.id, two.id)
    assert same.release_id == two.id and same.moved_by == "cli:bo"
    assert releases.labels() == {"production": two.id, "candidate": one.id}
    assert releases.get("production").id == two.id
    assert releases.get(two.id).labels == ("production",)
    moves = [e for e in release_events(releases) if e["kind"] == "release.label_moved"]
    assert moves == [
        {"kind": "release.label_moved", "actor": "cli:ana", "label": "production",
         "release": one.id, "previous": None},
        {"kind": "release.label_moved", "actor": "cli:bo", "label": "production",
         "release": two.id, "previous": one.id},
        {"kind": "release.label_moved", "actor": "cli:bo", "label": "candidate",
         "release": one.id, "previous": None},
    ]  # fmt: skip


def test_a_bad_label_is_refused_and_nothing_moves(releases: ReleaseStore) -> None:
    one, _ = releases.create(bundle(), "cli:ana")
    for label in ("Production", "", "-x", "a b", "x" * 65, "prod/1", "rel_next"):
        with pytest.raises(TetherError) as caught:
            releases.move_label(label, one.id, "cli:ana")
        assert caught.value.code is ErrorCode.RELEASE_LABEL_INVALID, label
    assert releases.labels() == {}


def test_an_unknown_release_or_label_is_not_found(releases: ReleaseStore) -> None:
    for ref in ("rel_0000000000000000", "production", ""):
        with pytest.raises(TetherError) as caught:
            releases.get(ref)
        assert caught.value.code is ErrorCode.RELEASE_NOT_FOUND
    with pytest.raises(TetherError) as caught:
        releases.move_label("production", "rel_0000000000000000", "cli:ana")
    assert caught.value.code is ErrorCode.RELEASE_NOT_FOUND
    assert releases.labels() == {} and release_events(releases) == []
