"""Rollouts in the system of record, on SQLite and PostgreSQL: a look that cannot decide keeps
the step and says why, a decided look moves it (audited, notified), and a transition made from a
stale copy is refused instead of applied twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tether import ErrorCode, TetherError
from tether.access.control import AccessControl
from tether.core.types import DecisionKind
from tether.release import ReleaseStore
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import Conversation, Turn
from tether.release.rollout_plan import PROMOTED, ROLLED_BACK, RUNNING
from tether.store.runs import RunStore

from .helpers import bundle


@pytest.fixture
def setup(store_url: str) -> Iterator[tuple[Rollouts, str, list[tuple[str, Any]]]]:
    store = RunStore.open(store_url)
    audit = AccessControl.open(store.engine).audit
    releases = ReleaseStore(store.engine, audit)
    base, _ = releases.create(bundle(), "cli:ana")
    cand, _ = releases.create(bundle(instructions="Be brief."), "cli:ana")
    releases.move_label("production", base.id, "cli:ana")
    heard: list[tuple[str, Any]] = []
    yield Rollouts(releases, audit, notify=lambda kind, s: heard.append((kind, s))), cand.id, heard
    store.close()


def arm(resolved: int, refused: int) -> list[Conversation]:
    """Conversations that ended in an answer or a refusal, and one still waiting."""
    answers = [Conversation(f"a{i}", (Turn(DecisionKind.ANSWER, 1.0),)) for i in range(resolved)]
    refusals = [Conversation(f"r{i}", (Turn(DecisionKind.REFUSAL, 1.0),)) for i in range(refused)]
    waiting = [Conversation("w", (Turn(DecisionKind.CLARIFICATION, 1.0),))]
    return answers + refusals + waiting


def kinds(rollouts: Rollouts) -> list[str]:
    return [e.kind for e in rollouts.audit.events(limit=1000) if e.kind.startswith("rollout.")]


def test_looks_wait_then_advance_then_roll_back(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    rollouts, cand, heard = setup
    guard = "resolution_rate >= baseline - 0.05"
    started = rollouts.start(cand, [guard], "cli:ana", steps=(10, 50, 100), min_runs=50, looks=2)
    assert (started.state, started.traffic_pct, started.runs_needed) == (RUNNING, 10, 50)

    too_few = rollouts.observe(started, arm(80, 20), arm(30, 10))  # 40 concluded: no look yet
    assert too_few == started
    # 80 % against 80 % with 50 each: neither within nor beyond the 5-point margin yet
    waiting = rollouts.observe(started, arm(40, 10), arm(40, 10))
    assert (waiting.state, waiting.step, waiting.look, waiting.runs_needed) == (RUNNING, 1, 1, 100)
    assert waiting.reason.startswith("undecided at look 1 of 2")
    status = rollouts.current().status()
    assert status["arms"]["candidate"]["n"] == 50 and status["guards"][0]["passed"] is None
    assert kinds(rollouts) == ["rollout.started"]  # a look that decides nothing is no event

    advanced = rollouts.observe(waiting, arm(800, 200), arm(800, 200))
    assert (advanced.state, advanced.step, advanced.look, advanced.traffic_pct) == (
        RUNNING, 2, 0, 50)  # fmt: skip
    # at the next step, a candidate refusing twice as often breaks the bound
    back = rollouts.observe(advanced, arm(800, 200), arm(600, 400))
    assert (back.state, back.step, back.traffic_pct) == (ROLLED_BACK, 2, 0)
    assert back.reason.startswith("guard broken at look 2 of 2") and guard in back.reason
    assert rollouts.current() == back
    assert kinds(rollouts) == ["rollout.started", "rollout.advanced", "rollout.rolled_back"]
    last = json.loads(rollouts.audit.events(limit=1000)[-1].data)
    assert last["from_step"] == last["step"] == 2 and last["p_values"][guard] > 0.99
    assert [k for k, _ in heard] == ["rollout.started", "rollout.advanced", "rollout.rolled_back"]
    assert heard[-1][1]["state"] == ROLLED_BACK and heard[-1][1]["rollout"] == back.id


def test_a_transition_from_a_stale_copy_is_refused(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    rollouts, cand, _ = setup
    started = rollouts.start(cand, ["refusal_rate <= baseline + 0.05"], "cli:ana",
                             steps=(50, 100), min_runs=50)  # fmt: skip
    promoted = rollouts.promote("cli:bo")
    assert promoted.state == PROMOTED
    assert rollouts.releases.target("production") == cand
    with pytest.raises(TetherError) as caught:  # a look begun before the promotion lands late
        rollouts.observe(started, arm(800, 0), arm(300, 500))
    assert caught.value.code is ErrorCode.CONFLICT
    assert rollouts.current().state == PROMOTED
    assert kinds(rollouts) == ["rollout.started", "rollout.promoted"]


def test_a_late_look_that_decides_nothing_leaves_a_rollout_that_moved_on_alone(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    rollouts, cand, _ = setup
    guard = "resolution_rate >= baseline - 0.05"
    first = rollouts.start(cand, [guard], "cli:ana", steps=(10, 50, 100), min_runs=50, looks=2)
    advanced = rollouts.promote("cli:bo")
    assert (advanced.step, advanced.look) == (2, 0)
    with pytest.raises(TetherError) as caught:  # step 1's look, begun before the promotion
        rollouts.observe(first, arm(40, 10), arm(40, 10))
    assert caught.value.code is ErrorCode.CONFLICT
    assert rollouts.current() == advanced  # step 2 keeps its own looks
    back = rollouts.rollback("cli:bo", "customers complain")
    with pytest.raises(TetherError):
        rollouts.observe(advanced, arm(40, 10), arm(40, 10))
    assert rollouts.current() == back  # the rollback's reason stands


def test_a_late_promotion_after_a_rollback_leaves_production_where_it_was(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    rollouts, cand, _ = setup
    production = rollouts.releases.target("production")
    started = rollouts.start(cand, ["refusal_rate <= baseline + 0.05"], "cli:ana",
                             steps=(50, 100), min_runs=50)  # fmt: skip
    rollouts.rollback("cli:bo", "customers complain")
    with pytest.raises(TetherError) as caught:  # a look that would promote, begun before
        rollouts.observe(started, arm(800, 0), arm(800, 0))
    assert caught.value.code is ErrorCode.CONFLICT
    assert rollouts.current().state == ROLLED_BACK
    assert rollouts.releases.target("production") == production != cand
    assert kinds(rollouts) == ["rollout.started", "rollout.rolled_back"]


def test_a_promotion_to_a_release_the_store_no_longer_holds_moves_nothing(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    from sqlalchemy import delete

    from tether.access.storage import begin
    from tether.store.release_schema import releases

    rollouts, cand, _ = setup
    production = rollouts.releases.target("production")
    rollouts.start(cand, ["refusal_rate <= baseline + 0.05"], "cli:ana",
                   steps=(50, 100), min_runs=50)  # fmt: skip
    with begin(rollouts.engine) as conn:  # the candidate's row lost (a bad restore, a hand edit)
        conn.execute(delete(releases).where(releases.c.id == cand))
    with pytest.raises(TetherError) as caught:
        rollouts.promote("cli:bo")
    assert caught.value.code is ErrorCode.RELEASE_NOT_FOUND
    assert rollouts.releases.target("production") == production  # never a label to nothing
    assert rollouts.current().state == RUNNING
    assert kinds(rollouts) == ["rollout.started"]


def test_a_rollout_does_not_promote_over_a_production_moved_by_hand(
    setup: tuple[Rollouts, str, list[tuple[str, Any]]],
) -> None:
    rollouts, cand, _ = setup
    releases = rollouts.releases
    started = rollouts.start(cand, ["refusal_rate <= baseline + 0.05"], "cli:ana",
                             steps=(50, 100), min_runs=50)  # fmt: skip
    hotfix, _ = releases.create(bundle(instructions="Apologise first."), "cli:bo")
    releases.move_label("production", hotfix.id, "cli:bo")  # its arms were never compared
    with pytest.raises(TetherError) as caught:  # an operator is told why
        rollouts.promote("cli:ana")
    assert caught.value.code is ErrorCode.CONFLICT
    assert started.baseline in caught.value.message and hotfix.id in caught.value.message
    assert releases.target("production") == hotfix.id
    assert rollouts.current().state == RUNNING
    # a look whose guards pass rolls the rollout back rather than wait on a move that
    # cannot happen: at its last step it would otherwise hold its traffic share for good
    ended = rollouts.observe(started, arm(800, 0), arm(800, 0))
    assert (ended.state, ended.traffic_pct) == (ROLLED_BACK, 0)
    assert "the promotion was refused: CONFLICT" in ended.reason
    assert releases.target("production") == hotfix.id
    assert kinds(rollouts) == ["rollout.started", "rollout.rolled_back"]
