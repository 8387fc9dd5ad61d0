"""Demo scenarios: conversations of scripted turns, each with the outcome it must come to.

A scenario file names the principal and lists turns. Each turn is the user's message
(`user: TEXT`), a press of the confirm or decline button on the pending action
(`confirm: true`, `decline: true`; `nonce:` overrides the nonce sent, to show a stale or
foreign one), each with the scripted model turns that answer it (`model: [...]`) and what it
must come to (`expect: {decision, code}` or `expect: {error: CODE}` for a turn the server must
reject). `wait_s` lets time pass before the turn (to let a pending action expire). The
scenario's `expect` is its last turn's outcome; `approval` decides the request a last turn
that waits for a person opens.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tether.approvals.requests import Approver
from tether.conversations import Conversation, Conversations, ConversationStore, TurnOutcome
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run, RunStatus
from tether.models.base import ModelAdapter
from tether.models.scripted import ScriptedModel, ScriptTurn
from tether.sdk.desk import Desk, build_desk
from tether.sdk.domain import Domain
from tether.store.runs import RunStore


class Expectation(BaseModel):
    """What a turn (or the scenario's last turn) must come to: a Decision kind and code, or
    an error the server rejects the turn with."""

    model_config = ConfigDict(extra="forbid")
    decision: DecisionKind | None = None
    code: ErrorCode | None = None
    error: ErrorCode | None = None

    @model_validator(mode="after")
    def _one(self) -> Expectation:
        if (self.decision is None) == (self.error is None):
            raise ValueError("expect either a decision (with an optional code) or an error")
        return self


class ApprovalStep(BaseModel):
    """What a person decides when the run waits for approval, and who they are."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    by: str = Field(min_length=1, max_length=128)  # an operator (not the requester)
    note: str = ""

    def approver(self) -> Approver:
        actor = self.by if ":" in self.by else f"operator:{self.by}"
        return Approver(actor=actor, role="approver", name=self.by)


class ScenarioTurn(BaseModel):
    """One turn: the user's message or a button, the model's scripted turns, the outcome."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    confirm: bool = False
    decline: bool = False
    nonce: str | None = None  # sent instead of the pending action's (a stale or foreign one)
    role: str | None = None  # the role the client claims for `user` (to show forged input)
    model: list[ScriptTurn] = Field(default_factory=list)
    expect: Expectation | None = None
    wait_s: float = Field(default=0.0, ge=0.0, le=7 * 86400.0)

    @model_validator(mode="after")
    def _exactly_one(self) -> ScenarioTurn:
        given = [self.user is not None, self.confirm, self.decline]
        if sum(given) != 1:
            raise ValueError("a turn is exactly one of user:, confirm: true or decline: true")
        return self


class Scenario(BaseModel):
    """One demo scenario, as written in a YAML file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    principal: str = Field(min_length=1)
    agent: str | None = None  # the domain's default agent when not given
    turns: list[ScenarioTurn] = Field(min_length=1, max_length=50)
    expect: Expectation | None = None  # the last turn's, when that turn has none
    max_steps: int | None = Field(default=None, ge=3, le=200)
    approval: ApprovalStep | None = None  # the last run must wait for approval; runner decides

    @model_validator(mode="after")
    def _last_expected(self) -> Scenario:
        if self.expect is None and self.turns[-1].expect is None:
            raise ValueError("say what the last turn must come to (expect:)")
        return self

    @property
    def final(self) -> Expectation:
        found = self.turns[-1].expect or self.expect
        assert found is not None  # checked when parsed
        return found

    @property
    def script(self) -> list[ScriptTurn]:
        """Every scripted model turn of the scenario, in order."""
        return [t for turn in self.turns for t in turn.model]


class ScenarioClock:
    """The system clock, which a scenario may move forward (to let a pending action expire)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class TurnResult:
    """What one turn came to, against what it had to."""

    turn: int
    expected: Expectation | None
    outcome: TurnOutcome | None = None
    error: ErrorCode | None = None

    @property
    def kind(self) -> str:
        if self.error is not None:
            return f"error:{self.error.value}"
        assert self.outcome is not None
        run = self.outcome.run
        return run.decision.kind.value if run.decision else run.status.value

    @property
    def code(self) -> ErrorCode | None:
        if self.error is not None:
            return self.error
        decision = self.outcome.run.decision if self.outcome else None
        return decision.reason.code if decision and decision.reason else None

    @property
    def ok(self) -> bool:
        e = self.expected
        if e is None:
            return True
        if e.error is not None:
            return self.error is e.error
        assert e.decision is not None
        return self.kind == e.decision.value and (e.code is None or e.code == self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "ok": self.ok,
            "actual": self.kind,
            "code": self.code.value if self.code else None,
            "run_id": self.outcome.run.id if self.outcome else None,
        }


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    expected: DecisionKind
    expected_code: ErrorCode | None
    run: Run
    expects_approval: bool = False
    approval: Mapping[str, Any] | None = None  # the request the runner decided, if any
    turns: tuple[TurnResult, ...] = field(default=())
    conversation_id: str = ""

    @property
    def actual(self) -> DecisionKind:
        assert self.run.decision is not None
        return self.run.decision.kind

    @property
    def actual_code(self) -> ErrorCode | None:
        decision = self.run.decision
        return decision.reason.code if decision and decision.reason else None

    @property
    def ok(self) -> bool:
        code_ok = self.expected_code is None or self.expected_code == self.actual_code
        approval_ok = self.approval is not None or not self.expects_approval
        turns_ok = all(t.ok for t in self.turns)
        return self.expected == self.actual and code_ok and approval_ok and turns_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected.value,
            "actual": self.actual.value,
            "ok": self.ok,
            "expected_code": self.expected_code.value if self.expected_code else None,
            "actual_code": self.actual_code.value if self.actual_code else None,
            "run_id": self.run.id,
            "conversation_id": self.conversation_id,
            "turns": [t.to_dict() for t in self.turns],
            "approval": dict(self.approval) if self.approval is not None else None,
        }


def parse_scenario(data: Any, origin: str) -> Scenario:
    if not isinstance(data, Mapping):
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: a scenario is a mapping")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{origin}: {where}: {first['msg']}"
        ) from None


def _read_scenario(read: Callable[[], str], origin: str) -> Scenario:
    try:
        data = yaml.safe_load(read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{origin}: cannot read: {exc}") from None
    except RecursionError:  # nested past what the YAML parser can descend
        raise TetherError(
            ErrorCode.SCENARIO_INVALID, f"{origin}: cannot read: nested too deep"
        ) from None
    return parse_scenario(data, origin)


def load_scenario_file(path: Path) -> Scenario:
    return _read_scenario(lambda: path.read_text(encoding="utf-8"), str(path))


def load_scenarios(directory: Path | None = None, domain: Domain | None = None) -> list[Scenario]:
    """The scenarios in `directory` (default: the domain's packaged ones), in file-name order."""
    folder = directory if directory is not None else (domain.scenarios if domain else None)
    if folder is None:
        name = domain.name if domain else "?"
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"domain {name!r} ships no scenarios")
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{folder}: no *.yaml scenarios")
    return [load_scenario_file(f) for f in files]


def scenario_desk(domain: Domain, store: RunStore, scenario: Scenario, **options: Any) -> Desk:
    """A desk for one scenario: a fresh copy of the domain's data, the scenario's agent (with
    its step limit), a clock the scenario may move, approvals when it decides one."""
    agent = domain.agent(scenario.agent)
    if scenario.max_steps is not None:
        limits = dataclasses.replace(agent.limits, max_steps=scenario.max_steps)
        agent = dataclasses.replace(agent, limits=limits)
    crew = [agent, *(a for a in domain.agents if a.name != agent.name)]
    options.setdefault("approvals", scenario.approval is not None)
    options.setdefault("clock", ScenarioClock())
    return build_desk(domain, store, agents=crew, fresh=True, **options)


def script_data(turns: list[ScriptTurn]) -> list[dict[str, Any]]:
    """Scripted turns as a run keeps them, to continue the run after an approval."""
    return [turn.model_dump(exclude_none=True) for turn in turns]


def play(desk: Desk, scenario: Scenario) -> tuple[Conversation, list[TurnResult]]:
    """Run the scenario's turns as one conversation on `desk`."""
    conversations = Conversations(desk.runtime, ConversationStore(desk.store.engine))
    conversation = conversations.start(scenario.principal, scenario.agent)
    results: list[TurnResult] = []
    last: TurnOutcome | None = None
    for number, turn in enumerate(scenario.turns, start=1):
        clock = desk.runtime.clock
        if turn.wait_s and isinstance(clock, ScenarioClock):
            clock.offset += turn.wait_s
        model = ScriptedModel(turn.model)
        meta = {"scenario": scenario.name, "script": script_data(turn.model)}
        try:
            last = send_turn(conversation, turn, model, meta, last)
        except TetherError as exc:
            results.append(TurnResult(number, turn.expect, error=exc.code))
            continue
        results.append(TurnResult(number, turn.expect, last))
    return conversation, results


def send_turn(
    conversation: Conversation,
    turn: ScenarioTurn,
    model: ModelAdapter,
    meta: Mapping[str, Any],
    last: TurnOutcome | None,
) -> TurnOutcome:
    """Send one scenario turn: its text, or confirm / decline the last pending action."""
    if turn.user is not None:
        if turn.role not in (None, "user"):  # what a client claiming another role gets
            raise TetherError(ErrorCode.INPUT_ROLE_FORBIDDEN, f"role {turn.role!r} is not input")
        return conversation.send(turn.user, model, meta)
    pending = last.pending_action if last is not None else None
    nonce = turn.nonce or (pending.nonce if pending else "")
    if turn.confirm:
        return conversation.confirm(nonce, model, meta)
    return conversation.decline(nonce, model, meta)


def run_scenario(
    domain: Domain, store: RunStore, scenario: Scenario, desk: Desk | None = None
) -> ScenarioResult:
    """Run one scenario on a fresh copy of the domain's data (or on `desk`), recording its
    conversation and runs in `store`."""
    desk = desk or scenario_desk(domain, store, scenario)
    conversation, turns = play(desk, scenario)
    ran = [t for t in turns if t.outcome is not None]
    if not ran:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{scenario.name}: no turn ran")
    run = ran[-1].outcome.run if ran[-1].outcome else None
    assert run is not None
    run, approval = perform_approval(desk, scenario, run)
    expect = scenario.final
    # a scenario whose last turn the server must reject is judged by its turns
    expected = expect.decision or (run.decision.kind if run.decision else DecisionKind.REFUSAL)
    return ScenarioResult(
        scenario.name,
        expected,
        expect.code,
        run,
        scenario.approval is not None,
        approval,
        tuple(turns),
        conversation.id,
    )


def perform_approval(
    desk: Desk, scenario: Scenario, run: Run
) -> tuple[Run, Mapping[str, Any] | None]:
    """Decide the request a suspended run waits for, as the scenario's `approval` step says,
    and return the run as it then ends (with the decided request)."""
    step = scenario.approval
    if step is None or desk.approvals is None or run.status is not RunStatus.SUSPENDED:
        return run, None
    pending = desk.approvals.list(run_id=run.id)
    if not pending:
        return run, None
    model = ScriptedModel(scenario.turns[-1].model)
    decided = desk.approvals.decide(
        pending[0].id, step.decision == "approve", step.approver(), step.note, model=model
    )
    if decided.run.decision is None:
        raise TetherError(
            ErrorCode.SCENARIO_INVALID,
            f"{scenario.name}: after the approval the run waits for another one",
        )
    return decided.run, decided.approval.to_dict()


def run_scenarios(
    domain: Domain,
    store: RunStore,
    scenarios: list[Scenario],
    progress: Callable[[ScenarioResult], None] | None = None,
) -> Iterator[ScenarioResult]:
    for scenario in scenarios:
        result = run_scenario(domain, store, scenario)
        if progress is not None:
            progress(result)
        yield result
