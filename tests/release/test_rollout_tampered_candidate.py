"""A rollout must never move the production label onto a release whose stored content no
longer hashes to its id (README, Releases: RELEASE_TAMPERED "wherever it is named (..., a
rollout, ...)"; Staged rollout: when the label may not move, the rollout rolls back): the
first promotion after the edit is refused, the rollout rolls back, production stays put."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.release.cli_store import Cli, production_and_candidate
from tests.release.helpers import bundle
from tether import ErrorCode, TetherError
from tether.access.control import AccessControl
from tether.access.storage import begin
from tether.release import ReleaseStore
from tether.store.runs import RunStore


def test_promotion_of_a_tampered_candidate_leaves_production_alone(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    base, cand = production_and_candidate(cli)
    cli.ok("rollout", "start", cand, "--guard", "resolution_rate >= baseline - 0.05")
    # someone edits the candidate's prompt in the store while it is rolled out
    changed = cli.sql(
        "UPDATE releases SET bundle = replace(bundle, 'Be extra polite.', 'Be extra rude.') "
        "WHERE id = ?",
        cand,
    )
    assert changed == 1
    code, shown = cli("release", "show", cand)
    assert code == 2 and shown["error"]["code"] == "RELEASE_TAMPERED"

    # the first promotion is refused: the candidate takes no larger share, nor the label
    code, refused = cli("rollout", "promote")
    assert code == 2 and refused["error"]["code"] == "RELEASE_TAMPERED", refused
    status = cli.ok("rollout", "status")
    assert status["state"] == "rolled_back", status
    assert "RELEASE_TAMPERED" in status["reason"]
    # the production label still names the baseline, which still serves
    code, production = cli("release", "show", "production")
    assert code == 0, production
    assert production["id"] == base
    # nor can an operator move a label onto it by hand
    code, moved = cli("release", "label", "canary", cand)
    assert code == 2 and moved["error"]["code"] == "RELEASE_TAMPERED", moved


def test_no_label_move_lands_on_a_release_edited_in_the_store(store_url: str) -> None:
    """The check sits in the one place every label move passes (`move_label_in`, which the
    rollout's promotion calls inside its own transaction), on SQLite and PostgreSQL."""
    store = RunStore.open(store_url)
    try:
        releases = ReleaseStore(store.engine, AccessControl.open(store.engine).audit)
        made, _ = releases.create(bundle(instructions="Be brief."), "op:alice")
        with begin(store.engine) as conn:
            conn.execute(
                text("UPDATE releases SET bundle = replace(bundle, 'Be brief.', 'Be rude.') "
                     "WHERE id = :id"),
                {"id": made.id},
            )  # fmt: skip
        with pytest.raises(TetherError) as refused, begin(store.engine) as conn:
            releases.move_label_in(conn, "production", made.id, "op:alice")
        assert refused.value.code is ErrorCode.RELEASE_TAMPERED
        assert releases.target("production") is None
    finally:
        store.close()
