"""Replay decides at the instants a run recorded, under the grant and the principal it recorded.

Sixty days after a run, with its token long expired, the customer's rights withdrawn and their
attributes changed, the replay still comes out identical; the same replay with the live clock,
a fresh token and today's principal comes out otherwise, which is what these tests could catch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import tether.runtime.replay as replay_module
from tether.access.settings import AccessSettings
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext, ToolCheck
from tether.core.types import Message, Principal, Run, Step, StepKind, ToolCall, Verdict
from tether.domains.retail.db import RetailDB
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.replay import Replayer, counterfactual, replay_runs
from tether.runtime.seams import RunRequest
from tether.sdk.candidate import candidate_desk
from tether.sdk.desk import Desk, build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

T0 = 1_790_000_000.0  # when the runs are recorded
DAY = 86_400.0
LATER = 60 * DAY  # when they are replayed
USER = "raj_sanchez_2970"
ASK = "What is the status of my order #W4566809? My e-mail is raj.sanchez2046@example.com."
SCRIPT = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Your order #W4566809 is pending, so it can still be changed [tool:2]."},
]


class Sunset:
    """A rule with a time condition: the desk takes calls until a deadline. It decides at the
    decision time the runtime gives it (its own clock only outside a run)."""

    name = "sunset"

    def __init__(self, until: float, clock: ManualClock) -> None:
        self.until, self.clock = until, clock

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        now = ctx.now if ctx.now is not None else self.clock.now()
        if now >= self.until:
            return Verdict.deny(self.name, ErrorCode.POLICY_DENIED, "the desk has closed")
        return Verdict.allow(self.name, decided_at=now)


class Tiered:
    """Gold customers only: a rule on the principal's attributes."""

    name = "tier"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        tier = ctx.principal.attributes.get("tier")
        if tier != "gold":
            return Verdict.deny(self.name, ErrorCode.PERMISSION_DENIED, f"tier {tier!r}")
        return Verdict.allow(self.name, tier=tier)


class Directory:
    """The customers, with an attribute the store holds about them (today's value)."""

    def __init__(self, desk: Desk, tier: str | None) -> None:
        self.inner, self.tier = desk.runtime.principals, tier

    def resolve(self, principal_id: str) -> Principal:
        if self.tier is None:
            raise AssertionError("a replay looked the principal up")
        found = self.inner.resolve(principal_id)
        return dataclasses.replace(found, attributes={"tier": self.tier})


class SlowModel:
    """A scripted model whose turns take `seconds[i]` on the clock (real models take time)."""

    def __init__(self, clock: ManualClock, seconds: Sequence[float]) -> None:
        self.inner, self.clock, self.seconds = ScriptedModel(parse_script(SCRIPT)), clock, seconds
        self.name = self.inner.name

    def propose(self, request: ModelRequest) -> Any:
        self.clock.advance(self.seconds[request.turn])
        return self.inner.propose(request)


@pytest.fixture
def store(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """SQLite and PostgreSQL: recorded instants read back to the digit on both."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


def desk_at(
    store: RunStore,
    clock: ManualClock,
    db: RetailDB,
    checks: Callable[[list[Any]], Sequence[ToolCheck]] | None = None,
    **options: Any,
) -> Desk:
    return build_desk(
        load_domain("retail"),
        store,
        clock=clock,
        data=db,
        settings=AccessSettings(token_ttl_s=30.0),
        tool_checks=checks,
        **options,
    )


def record(desk: Desk, model: Any) -> Run:
    run = desk.runtime.run(RunRequest(USER, [Message("user", ASK)]), model)
    return desk.store.get_run(run.id)


def guards(run: Run) -> list[Step]:
    return [s for s in run.steps if s.kind is StepKind.GUARD and "call" in s.data]


def without_injection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay as if the record kept nothing to inject: the live clock, a fresh token and the
    rights configured now (what a record made before they were kept gets)."""
    monkeypatch.setattr(replay_module, "_recorded_rights", lambda scope: None)


def test_a_time_condition_decides_at_the_recorded_instant(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    sunset = Sunset(T0 + 30 * DAY, clock)
    desk = desk_at(store, clock, RetailDB.fresh_copy(), lambda chain: [*chain, sunset])
    run = record(desk, SlowModel(clock, [2.0, 3.0, 4.0]))
    assert run.decision is not None and run.decision.kind.value == "answer"
    checked = guards(run)
    assert len(checked) == 2 and all(g.data["effect"] == "allow" for g in checked)

    clock.advance(LATER)  # the desk has closed since
    report = Replayer(desk.runtime).replay(run)
    assert report.identical, report.diffs
    for step in checked:  # each call decided at its own recorded instant, to the digit
        assert report.verdicts[step.seq].final.facts["decided_at"] == step.started_at
    assert len({report.verdicts[s.seq].final.facts["decided_at"] for s in checked}) == 2

    without_injection(monkeypatch)
    live = Replayer(desk.runtime).replay(run)
    first = live.diffs[0]
    assert (first.step, first.path, first.recorded, first.replayed) == (
        checked[0].seq,
        "effect",
        "allow",
        "deny",
    )


def test_a_token_that_expired_mid_run_expires_again_at_the_same_step(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    desk = desk_at(store, clock, RetailDB.fresh_copy())
    # the second turn takes 45 s: the 30 s token has expired when its call is checked
    run = record(desk, SlowModel(clock, [1.0, 45.0, 1.0]))
    first, second = guards(run)
    assert first.data["effect"] == "allow"
    reason = second.data["verdicts"][-1]["reasons"][0]
    assert (second.data["decided_by"], reason["code"]) == ("grant", "TOKEN_EXPIRED")
    token = run.steps[0].data["capability"]["id"]
    assert first.data["verdicts"][1]["facts"]["token_id"] == token

    clock.advance(LATER)
    report = Replayer(desk.runtime).replay(run)
    assert report.identical, report.diffs
    assert report.checked == 2 and not report.not_replayed

    without_injection(monkeypatch)  # a fresh token, checked now: the call would have passed
    live = Replayer(desk.runtime).replay(run)
    assert live.diffs[0].step == second.seq
    grant = live.verdicts[second.seq].verdicts[1]
    assert (grant.check, grant.effect.value) == ("grant", "allow")


def test_a_token_id_changed_in_the_record_diverges(store: RunStore) -> None:
    clock = ManualClock(T0)
    desk = desk_at(store, clock, RetailDB.fresh_copy())
    run = record(desk, SlowModel(clock, [1.0, 1.0, 1.0]))
    scope = run.steps[0]
    forged = {**scope.data, "capability": {**scope.data["capability"], "id": "tok_forged"}}
    steps = (dataclasses.replace(scope, data=forged), *run.steps[1:])
    report = Replayer(desk.runtime).replay(dataclasses.replace(run, steps=steps))
    first = report.diffs[0]
    assert (first.step, first.path) == (guards(run)[0].seq, "verdicts[1].facts.token_id")
    assert first.replayed == "tok_forged"


def test_a_capability_recorded_without_its_lifetime_is_not_replayable(store: RunStore) -> None:
    clock = ManualClock(T0)
    desk = desk_at(store, clock, RetailDB.fresh_copy())
    run = record(desk, SlowModel(clock, [1.0, 1.0, 1.0]))
    scope = run.steps[0]
    held = {k: v for k, v in scope.data["capability"].items() if k != "expires_at"}
    steps = (dataclasses.replace(scope, data={**scope.data, "capability": held}), *run.steps[1:])
    broken = dataclasses.replace(run, steps=steps)
    replayer = Replayer(desk.runtime)
    with pytest.raises(TetherError) as caught:  # never a token of a guessed lifetime
        replayer.replay(broken)
    assert caught.value.code is ErrorCode.RUN_NOT_REPLAYABLE
    summary = replay_runs(replayer, [broken, run])
    assert (summary["identical"], summary["diverged"]) == (1, 1)
    assert summary["examples"][0]["error"]["code"] == "RUN_NOT_REPLAYABLE"


def test_a_grant_renewed_on_resume_is_kept_and_replayed(store: RunStore) -> None:
    domain = load_domain("retail")
    scenario = next(s for s in load_scenarios(None, domain) if s.name == "large-return-approved")
    assert run_scenario(domain, store, scenario).ok
    run = next(store.get_run(r.id) for r in store.list_runs(limit=10))
    renewed = [s for s in run.steps[1:] if "capability" in s.data]
    assert len(renewed) == 1, "the resumed process keeps the grant it re-minted"
    token = renewed[0].data["capability"]["id"]
    assert token != run.steps[0].data["capability"]["id"]
    after = [g for g in guards(run) if g.seq >= renewed[0].seq]
    assert after and after[0].data["verdicts"][1]["facts"]["token_id"] == token
    replayer = Replayer(build_desk(domain, store, approvals=True).runtime)
    assert replayer.replay(run).identical
    step = renewed[0]
    forged = {**step.data, "capability": {**step.data["capability"], "id": "tok_forged"}}
    steps = tuple(dataclasses.replace(s, data=forged) if s is step else s for s in run.steps)
    report = replayer.replay(dataclasses.replace(run, steps=steps))
    assert report.diffs and report.diffs[0].path == "verdicts[1].facts.token_id"


def principal_run(store: RunStore, db: RetailDB, clock: ManualClock) -> Run:
    """A run for a gold customer, recorded with the rights and attributes it had."""
    desk = desk_at(store, clock, db, lambda chain: [*chain, Tiered()])
    desk.runtime = dataclasses.replace(desk.runtime, principals=Directory(desk, "gold"))
    run = record(desk, SlowModel(clock, [1.0, 1.0, 1.0]))
    assert run.decision is not None and run.decision.kind.value == "answer"
    principal = run.steps[0].data["principal"]
    assert principal["attributes"] == {"tier": "gold"}
    assert principal["rights"] == ["retail:read", "retail:write"]
    return run


def test_replay_acts_for_the_recorded_principal(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, db = ManualClock(T0), RetailDB.fresh_copy()
    run = principal_run(store, db, clock)
    clock.advance(LATER)
    # since then the customer role lost its rights, and the store knows the customer as basic
    today = desk_at(store, clock, db, lambda chain: [*chain, Tiered()], rights={"customer": ()})
    today.runtime = dataclasses.replace(today.runtime, principals=Directory(today, None))
    report = Replayer(today.runtime).replay(run)  # the directory is never asked
    assert report.identical, report.diffs
    assert [report.verdicts[g.seq].final.facts["tier"] for g in guards(run)] == ["gold", "gold"]

    # the recorded attributes decide: a record saying "basic" is refused at its first call
    basic = Replayer(today.runtime).replay(as_basic(run))
    assert (basic.diffs[0].path, basic.diffs[0].replayed) == ("effect", "deny")
    without_injection(monkeypatch)  # today's rights would not even grant the run's tools
    live = Replayer(today.runtime).replay(run)
    assert live.diffs[0].path == "tools"


def as_basic(run: Run) -> Run:
    """The run as if its principal had been recorded as a basic customer."""
    scope = run.steps[0]
    principal = {**scope.data["principal"], "attributes": {"tier": "basic"}}
    steps = (
        dataclasses.replace(scope, data={**scope.data, "principal": principal}),
        *run.steps[1:],
    )
    return dataclasses.replace(run, steps=steps)


def test_a_counterfactual_replay_acts_for_the_recorded_principal(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, db = ManualClock(T0), RetailDB.fresh_copy()
    run = principal_run(store, db, clock)
    clock.advance(LATER)
    domain = load_domain("retail")
    in_force = build_desk(domain, store, clock=clock, data=db).release
    assert in_force is not None

    def candidate() -> Replayer:
        desk = candidate_desk(
            domain,
            store,
            in_force.bundle(),
            tmp_path / f"release-{len(list(tmp_path.iterdir()))}",
            clock=clock,
            data=db,
            settings=AccessSettings(token_ttl_s=30.0),
            tool_checks=lambda chain: [*chain, Tiered()],
            rights={"customer": ()},
        )
        desk.runtime = dataclasses.replace(desk.runtime, principals=Directory(desk, None))
        return Replayer(desk.runtime)

    found = counterfactual(candidate(), [run])
    assert (found["runs"], found["changed"], found["errors"]) == (1, 0, 0), found
    changed = counterfactual(candidate(), [as_basic(run)])
    assert changed["by_change"] == {"allow->deny": 1}, changed
    assert changed["by_rule"] == {"tier:PERMISSION_DENIED": 1}
    without_injection(monkeypatch)  # today's rights would not even grant the run's tools
    assert counterfactual(candidate(), [run])["errors"] == 1
