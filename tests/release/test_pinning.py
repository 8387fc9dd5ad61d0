"""A conversation's turns execute under the release it is pinned to: the configuration in force
when it started, or the arm a running rollout assigned it; a release that cannot be built ends
the turn in a refusal naming why, never a run under another configuration."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.sdk.packs.library import LIBRARIAN, LIBRARY, fresh_data
from tether.conversations import Conversations, ConversationStore
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind, Message, Run, RunStatus, StepKind
from tether.models import ScriptedModel, parse_script
from tether.models.base import ModelRequest
from tether.release import PRODUCTION, Bundle, read_release_dir, write_release_dir
from tether.release.rollout import Rollouts
from tether.release.rollout_looks import CANDIDATE
from tether.release.rollout_plan import assign
from tether.runtime.pinned import UNAVAILABLE_TEXT
from tether.runtime.seams import RunRequest
from tether.sdk import Desk, build_desk
from tether.sdk.releases import ReleaseDesks
from tether.store.runs import RunStore
from tether.store.schema import runs
from tether.workers.executor import RunExecutor
from tether.workers.recovery import Recovery

LENDING = dataclasses.replace(LIBRARIAN, allow_writes_without_policy=True)
BORROW = {"tool": "borrow_book", "args": {"book_id": "dune", "member_id": "ada"}}
SCRIPT = [BORROW, {"answer": "Dune is yours [tool:1]."}]
GUARD = ["resolution_rate >= baseline - 0.02"]


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore.open(store_url)
    yield s
    s.close()


def desk_over(store: RunStore, data: dict[str, Any], lending: bool) -> Desk:
    """The library desk; `lending`: its agent may lend books (else every write is refused)."""
    return build_desk(LIBRARY, store, agents=(LENDING if lending else LIBRARIAN,), data=data)


def service(desk: Desk, desks: ReleaseDesks) -> Conversations:
    return Conversations(desk.runtime, ConversationStore(desk.store.engine), pins=desks)


def model() -> ScriptedModel:
    return ScriptedModel(parse_script(SCRIPT))


def guard_effect(run: Run, tool: str) -> str:
    [guard] = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == tool]
    return str(guard.data["effect"])


def borrow_effect(run: Run) -> str:
    return guard_effect(run, "borrow_book")


def no_lending(desk: Desk) -> str:
    """A stored release of `desk`'s configuration whose agent may not lend."""
    assert desk.release is not None
    content = dict(desk.release.bundle().content)
    content["agents"] = [{**a, "allow_writes_without_policy": False} for a in content["agents"]]
    release, _ = desk.release.releases.create(Bundle(content), "admin", "no lending")
    return release.id


def test_a_conversation_keeps_its_release_after_the_configuration_in_force_changes(
    store: RunStore,
) -> None:
    data = fresh_data()
    before = desk_over(store, data, lending=True)
    assert before.release is not None
    lends = before.release.configuration
    talk = service(before, ReleaseDesks(before)).start("ada")
    # a configuration that refuses lending is deployed while the conversation is open
    after = desk_over(store, data, lending=False)
    assert after.release is not None and after.release.configuration != lends
    pins = ReleaseDesks(after)
    outcome = service(after, pins).open(talk.id, "ada").send("I'd like Dune", model())
    assert borrow_effect(outcome.run) == "allow" and data["loans"] == {"dune": "ada"}
    assert outcome.run.release == lends == talk.record().release
    # built once from the stored release, whose content it reproduces exactly
    built = pins.desk_of(lends)
    assert built is not after and built.release is not None
    assert built.release.bundle().id == lends and pins.desk_of(lends) is built
    # a conversation started now is pinned to the configuration in force, which refuses
    data["loans"].clear()
    fresh = service(after, pins).start("ada")
    outcome = fresh.send("I'd like Dune", model())
    assert borrow_effect(outcome.run) == "deny" and data["loans"] == {}
    assert outcome.run.release == fresh.record().release == after.release.configuration


def test_a_queued_turn_executes_on_a_worker_under_its_pinned_release(store: RunStore) -> None:
    data = fresh_data()
    desk = desk_over(store, data, lending=True)
    pins = ReleaseDesks(desk, refresh_s=0)
    refusing = no_lending(desk)
    pins.pin = lambda conversation, principal: refusing  # type: ignore[method-assign]
    conversations = service(desk, pins)
    talk = conversations.start("ada")
    claim = conversations.begin_turn(talk.id, "ada", text="I'd like Dune")
    queued = conversations.submit_claimed(claim, {"script": SCRIPT})
    assert queued.status is RunStatus.QUEUED and queued.release == refusing
    RunExecutor(desk.runtime, None, runtime_of=pins.runtime)(queued.id)
    run = store.get_run(queued.id)
    assert run.status is RunStatus.COMPLETED and run.release == refusing
    assert borrow_effect(run) == "deny" and data["loans"] == {}
    assert talk.record().turns == 1  # folded into its conversation


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_rollout_assignment_is_sticky_and_takes_the_steps_share(store: RunStore) -> None:
    data = fresh_data()
    desk = desk_over(store, data, lending=True)
    assert desk.release is not None and desk.access is not None
    baseline, candidate = desk.release.configuration, no_lending(desk)
    desk.release.releases.move_label(PRODUCTION, baseline, "admin")
    rollouts = Rollouts(desk.release.releases, desk.access.audit)
    pins = ReleaseDesks(desk, refresh_s=0)
    for _ in range(30):  # a rollout that puts one of the two members on the candidate
        rollout = rollouts.start(candidate, GUARD, "admin", steps=(50, 100), min_runs=50)
        if any(assign(rollout.id, 50, "", member) == CANDIDATE for member in ("ada", "ben")):
            break
        rollouts.rollback("admin")
    # the share of principals on the candidate is the step's percent
    arms = [pins.pin(f"conv_{n}", f"member_{n}") for n in range(4000)]
    assert 47.0 <= 100 * arms.count(candidate) / len(arms) <= 53.0
    # one principal keeps its arm whatever the conversation
    assert {pins.pin(f"conv_{n}", "member_7") for n in range(20)} == {arms[7]}
    # and a conversation's turns all run under the arm it was assigned
    effects = {}
    for member in ("ada", "ben"):
        arm = candidate if assign(rollout.id, 50, "", member) == CANDIDATE else baseline
        talk = service(desk, pins).start(member)
        assert talk.record().release == arm
        borrow = {**BORROW, "args": {"book_id": "dune", "member_id": member}}
        script = [borrow, {"answer": "Dune is yours [tool:1]."}]
        for text in ("I'd like Dune", "Dune again, please"):
            data["loans"].clear()
            run = talk.send(text, ScriptedModel(parse_script(script))).run
            assert run.release == arm
            effects.setdefault(arm, set()).add(borrow_effect(run))
    assert effects[candidate] == {"deny"} and effects.get(baseline, {"allow"}) == {"allow"}
    # once it is rolled back, new conversations take the configuration in force
    rollouts.rollback("admin")
    assert {pins.pin(f"conv_{n}", f"member_{n}") for n in range(200)} == {baseline}
    # once one is promoted, the candidate while it holds the production label
    rollouts.start(candidate, GUARD, "admin", steps=(50, 100), min_runs=50)
    assert rollouts.promote("admin").state == "promoted"
    assert {pins.pin(f"conv_{n}", f"member_{n}") for n in range(200)} == {candidate}
    desk.release.releases.move_label(PRODUCTION, baseline, "admin")  # moved back by hand
    assert {pins.pin(f"conv_{n}", f"member_{n}") for n in range(200)} == {baseline}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("code", [ErrorCode.RELEASE_NOT_FOUND, ErrorCode.RELEASE_SOURCE_INVALID])
def test_a_release_that_cannot_be_built_ends_the_turn_in_a_refusal(
    store: RunStore, code: ErrorCode
) -> None:
    data = fresh_data()
    desk = desk_over(store, data, lending=True)
    assert desk.release is not None
    pinned = "rel_00000000000000ff"
    if code is ErrorCode.RELEASE_SOURCE_INVALID:  # the release of another version of the pack
        content = {**desk.release.bundle().content, "domain": {"name": "library", "version": "9"}}
        pinned = desk.release.releases.create(Bundle(content), "admin")[0].id
    pins = ReleaseDesks(desk)
    pins.pin = lambda conversation, principal: pinned  # type: ignore[method-assign]
    talk = service(desk, pins).start("ada")
    outcome = talk.send("I'd like Dune", model())
    run, decision = outcome.run, outcome.run.decision
    assert decision is not None and decision.kind is DecisionKind.REFUSAL
    assert decision.reason is not None and decision.reason.code is code
    assert decision.text == UNAVAILABLE_TEXT
    # recorded under the release it is pinned to, and nothing of it executed
    assert run.release == pinned and store.get_run(run.id).release == pinned
    assert [s.kind for s in run.steps] == [StepKind.DECISION] and data["loans"] == {}
    assert talk.record().turns == 1 and talk.record().busy_run is None


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_worker_ends_a_queued_turn_whose_release_cannot_be_built(store: RunStore) -> None:
    data = fresh_data()
    desk = desk_over(store, data, lending=True)
    pins = ReleaseDesks(desk)
    lost = "rel_00000000000000ff"
    pins.pin = lambda conversation, principal: lost  # type: ignore[method-assign]
    conversations = service(desk, pins)
    talk = conversations.start("ada")
    claim = conversations.begin_turn(talk.id, "ada", text="I'd like Dune")
    queued = conversations.submit_claimed(claim, {"script": SCRIPT})
    assert queued.status is RunStatus.QUEUED and queued.release == lost
    RunExecutor(desk.runtime, None, runtime_of=pins.runtime)(queued.id)
    run = store.get_run(queued.id)
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.RELEASE_NOT_FOUND
    assert run.release == lost and data["loans"] == {}
    assert talk.record().turns == 1 and talk.record().busy_run is None


class Crash(BaseException):
    """The process dies (not an error the run could end on)."""


class DiesAtSecondTurn(ScriptedModel):
    def propose(self, request: ModelRequest) -> Any:
        if request.turn == 1:
            raise Crash
        return super().propose(request)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_run_recovered_after_a_crash_resumes_under_its_release(store: RunStore) -> None:
    data = fresh_data()
    desk = desk_over(store, data, lending=True)
    pins = ReleaseDesks(desk)
    refusing = no_lending(desk)
    script = [{"tool": "find_book", "args": {"title": "Dune"}}, *SCRIPT]
    request = RunRequest("ada", [Message("user", "I'd like Dune")], metadata={"script": script})
    with pytest.raises(Crash):
        pins.runtime(refusing).run(request, DiesAtSecondTurn(parse_script(script)))
    (left,) = store.list_runs()
    assert left.status is RunStatus.RUNNING and left.release == refusing
    with store.engine.begin() as conn:  # its lease lapsed with its process
        conn.execute(update(runs).where(runs.c.id == left.id).values(lease_expires_at=0.0))
    (recovered,) = Recovery(desk.runtime, None, runtime_of=pins.runtime).sweep()
    assert recovered.status is RunStatus.COMPLETED and recovered.release == refusing
    assert borrow_effect(recovered) == "deny" and data["loans"] == {}


def test_an_approved_call_of_a_release_that_cannot_be_built_never_runs(tmp_path: Path) -> None:
    from tests.approvals.conftest import SAM, open_desk, pending_for, start_return

    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    desk = open_desk(store)
    assert desk.approvals is not None
    in_force, lost = desk.runtime, "rel_00000000000000ff"
    # the run started under a release this process cannot build (another pack version's)
    desk.runtime = dataclasses.replace(in_force, release=lambda: lost, leases=in_force.keeper)
    run = start_return(desk)
    desk.runtime = in_force
    approval = pending_for(desk.approvals, run)
    desk.approvals.runtime_of = ReleaseDesks(desk).runtime
    decided = desk.approvals.approve(approval.id, SAM)
    ended = decided.run
    assert ended.status is RunStatus.COMPLETED and ended.release == lost
    assert ended.decision is not None and ended.decision.reason is not None
    assert ended.decision.reason.code is ErrorCode.RELEASE_NOT_FOUND
    assert not [s for s in ended.steps if s.kind is StepKind.TOOL and s.name.startswith("return")]
    store.close()


NO_CANCELLATIONS = """
@id("no-cancellations")
@reason("cancellations are switched off")
forbid (principal, action == Action::"cancel_pending_order", resource);
"""


def test_a_retail_conversation_pinned_to_the_baseline_still_cancels_under_a_new_release(
    tmp_path: Path,
) -> None:
    from tests.server.conversation_site import CANCEL_SCRIPT, CANCEL_TEXT, CANCELLED_SCRIPT, USER
    from tether.domains.retail.db import RetailDB
    from tether.domains.retail.desk import open_retail_desk
    from tether.sdk.candidate import candidate_desk

    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    baseline = open_retail_desk(store, db=RetailDB.fresh_copy())
    assert baseline.release is not None
    talk = service(baseline, ReleaseDesks(baseline)).start(USER)
    # a release forbidding cancellations is deployed: the process now runs it
    folder = tmp_path / "candidate"
    write_release_dir(baseline.release.bundle(), folder)
    rules = folder / "policies" / "store.cedar"
    rules.write_text(rules.read_text() + NO_CANCELLATIONS)
    bundle = read_release_dir(folder)
    deployed = candidate_desk(
        baseline.domain, store, bundle, tmp_path / "in-force", data=baseline.data
    )
    assert deployed.release is not None and deployed.release.configuration == bundle.id
    after = service(deployed, ReleaseDesks(deployed))

    def cancel(conversation_id: str) -> list[Run]:
        talk = after.open(conversation_id, USER)
        first = talk.send(CANCEL_TEXT, ScriptedModel(parse_script(CANCEL_SCRIPT)))
        if first.pending_action is None:
            return [first.run]
        nonce = first.pending_action.nonce
        return [first.run, talk.confirm(nonce, ScriptedModel(parse_script(CANCELLED_SCRIPT))).run]

    # the conversation pinned to the baseline confirms and cancels
    runs = cancel(talk.id)
    assert [r.release for r in runs] == [baseline.release.configuration] * 2
    assert runs[-1].decision is not None and runs[-1].decision.kind is DecisionKind.ACTION
    assert [s.name for s in runs[-1].steps if s.kind is StepKind.TOOL] == ["cancel_pending_order"]
    # one started now is pinned to the release in force, whose policy denies it
    (denied,) = cancel(after.start(USER).id)
    assert denied.release == bundle.id and guard_effect(denied, "cancel_pending_order") == "deny"
    store.close()


def test_the_server_assigns_a_conversation_to_its_arm_and_runs_its_turns_there(
    tmp_path: Path,
) -> None:
    from tests.server.conversation_site import CANCEL_SCRIPT, CANCEL_TEXT, USER, open_site

    with open_site(f"sqlite:///{tmp_path / 'tether.db'}") as site:
        desk = site.desk
        assert desk.release is not None and desk.access is not None
        baseline = desk.release.configuration
        folder = tmp_path / "candidate"
        write_release_dir(desk.release.bundle(), folder)
        rules = folder / "policies" / "store.cedar"
        rules.write_text(rules.read_text() + NO_CANCELLATIONS)
        candidate = desk.release.releases.create(read_release_dir(folder), "admin")[0].id
        desk.release.releases.move_label(PRODUCTION, baseline, "admin")
        rollouts = Rollouts(desk.release.releases, desk.access.audit)
        for _ in range(30):  # a rollout that puts the customer on the candidate
            rollout = rollouts.start(candidate, GUARD, "admin", steps=(50, 100), min_runs=50)
            if assign(rollout.id, 50, "", USER) == CANDIDATE:
                break
            rollouts.rollback("admin")
        cid = site.start(USER)
        assert site.record(cid).release == candidate
        with site.client("service") as c:
            body = {"text": CANCEL_TEXT, "script": CANCEL_SCRIPT}
            done = c.post(f"/v1/conversations/{cid}/messages", json=body, params={"wait": 10})
        assert done.status_code == 200, done.text
        run = desk.store.get_run(done.json()["run_id"])
        # executed by the server's worker under the candidate, whose policy denies it
        assert run.release == candidate and guard_effect(run, "cancel_pending_order") == "deny"
        assert site.order_status() == "pending"
