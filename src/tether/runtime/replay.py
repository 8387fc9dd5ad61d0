"""Deterministic replay: a recorded run's decisions re-made from what it recorded.

Replay never calls the model, never calls a tool and never reads live state. It walks the run's
steps in order and rebuilds the loop's state from them (as a resume does); at each guard step it
runs the runtime's check chain again on the proposal the step recorded, in the context the run
had at that point (its messages, its evidence, the user's confirmation), with every read a check
makes served from the reads the step recorded (`tether.core.reads`); a check that reads anything
else fails with REPLAY_READ_MISSING. What the checks took from the clock and the access layer is
the record's too: they decide at the step's recorded instant (`GuardContext.now`), under the
recorded capability token (its id, issue time and expiry, re-signed; its revocation state a
recorded read), for the principal the scope step recorded (attributes and rights included,
never looked up again). At the end it derives the run's Decision again from the re-made
verdicts and the recorded model turns and tool outcomes, with the loop's own functions.

The run is identical when every verdict (check, effect, reason codes, facts other than timings)
and the Decision (kind, reason code, text) come out as recorded. A difference names the first
step where it appears.

What replay cannot re-make, it says so (`not_replayed`): the single-use token of an approved
call (spent when the call ran), and Decisions that come from outside the recorded proposals (a
limit reached, a cancellation, a failure, a confirmation asked of the user); those Decisions
are compared with the record's own account of them. A person's rejection is re-made from the
approval step, and an approval must be followed by its call's check. A run recorded
before the scope step kept the principal's rights is checked now, under a fresh token and the
rights configured now, with token ids set aside (and a token refused at execution for its state
then is not re-made).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tether.access.tokens import TOKEN_STATUS
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext, GuardResult, run_answer_checks, run_tool_checks
from tether.core.reads import reading
from tether.core.types import (
    Decision,
    DecisionKind,
    ModelTurn,
    Principal,
    Reason,
    Run,
    RunStatus,
    Step,
    StepKind,
    ToolCall,
    TurnKind,
)
from tether.runtime.confirm import ASK_USER, question_turn
from tether.runtime.endings import blocked, model_failed
from tether.runtime.history import held_history, seed_history
from tether.runtime.loop import Runtime
from tether.runtime.state import (
    RunState,
    rebuild,
    recorded_guard,
    recorded_outcome,
    turn_from_dict,
)

# a record whose headers disagree with it (`_headers`): a step taken out, a row or name forged
_HEADER_PATHS = (
    "seq",
    "run.step_count",
    "run.principal",
    "run.release",
    "run.status",
    "name",
    "run.decision_kind",
)
# facts no evaluation reproduces: how long something took (`ms`, `policy_ms`, `latency_ms`)
_TIMING = "ms"
# and, in a record made before runs kept their grant whole, the ids of the tokens they held
_UNKEPT_TOKEN_KEYS = frozenset({"token_id"})
APPROVED_TOKEN_CHECK = "approval"


@dataclass(frozen=True)
class Divergence:
    """Where a replay first differs from the record within one step."""

    step: int
    kind: str
    name: str
    path: str  # where in the step: "verdicts[2].effect", "decision.kind", ...
    recorded: Any
    replayed: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "recorded": self.recorded,
            "replayed": self.replayed,
        }


@dataclass
class ReplayReport:
    """`{"run", "identical", "diffs", ...}`: the diffs in step order, the first one first."""

    run: str
    release: str
    steps: int = 0
    checked: int = 0  # guard steps whose checks ran again
    decision: str = "derived"  # derived | recorded (see the module's docstring) | none
    diffs: list[Divergence] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)
    # the re-made verdicts, by step (a counterfactual replay reads these)
    verdicts: dict[int, GuardResult] = field(default_factory=dict)
    derived: Decision | None = None

    @property
    def identical(self) -> bool:
        return not self.diffs

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "identical": self.identical,
            "diffs": [d.to_dict() for d in self.diffs],
            "release": self.release,
            "steps": self.steps,
            "checked": self.checked,
            "decision": self.decision,
            "not_replayed": sorted(set(self.not_replayed)),
        }


def comparable(value: Any, unkept: Collection[str] = ()) -> Any:
    """A recorded value without what no evaluation reproduces (timings), nor the keys in
    `unkept` (what the record did not keep)."""
    if isinstance(value, Mapping):
        return {
            str(k): comparable(v, unkept)
            for k, v in value.items()
            if k not in unkept and str(k).rpartition("_")[2] != _TIMING
        }
    if isinstance(value, (list, tuple)):
        return [comparable(v, unkept) for v in value]
    return value


def first_difference(recorded: Any, replayed: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place two JSON values differ: (path, recorded part, replayed part)."""
    if isinstance(recorded, Mapping) and isinstance(replayed, Mapping):
        for key in sorted(set(recorded) | set(replayed)):
            where = f"{path}.{key}" if path else str(key)
            if key not in recorded or key not in replayed:
                return where, recorded.get(key), replayed.get(key)
            found = first_difference(recorded[key], replayed[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(replayed, list):
        for index, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(replayed):
            return f"{path}.length", len(recorded), len(replayed)
        return None
    return None if recorded == replayed else (path, recorded, replayed)


@dataclass
class _Walk:
    """What the walk through a run's steps carries from one step to the next."""

    state: RunState
    report: ReplayReport
    # the principal's rights as the scope step recorded them (None: a record made before
    # they were kept)
    rights: list[str] | None = None
    # the checks decide at their recorded instants under the recorded token; False for a
    # record that keeps no rights, checked now under a fresh token, token ids aside
    exact: bool = True
    turn: ModelTurn | None = None  # the latest model turn (or the call a user confirmed)
    approvals: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # call id -> decision
    allowed: dict[str, ToolCall] = field(default_factory=dict)  # calls the guards let act
    derived: Decision | None = None  # what the steps so far end the run in, if anything
    # a call a person approved, whose check must come next (the loop runs it at once)
    approved_call: str | None = None


class Replayer:
    """Replays recorded runs through `runtime`'s checks: a candidate's for a counterfactual
    replay; for a deterministic one, each run's own release's, which `runtime_of` gives by
    release id when runs may have executed under several."""

    def __init__(
        self, runtime: Runtime, runtime_of: Callable[[str], Runtime] | None = None
    ) -> None:
        self.runtime = runtime
        self._runtime_of = runtime_of

    def replay(self, run: Run) -> ReplayReport:
        """The report of one run; RUN_NOT_REPLAYABLE for a run still running or one without
        a scope step or with a status this version does not know (and whatever `runtime_of`
        raises for a release it cannot build)."""
        if run.status is RunStatus.UNKNOWN:  # nothing says how far it got, or how it ended
            raise TetherError(
                ErrorCode.RUN_NOT_REPLAYABLE,
                f"run {run.id} is stored with a status this version does not know",
            )
        if self._runtime_of is not None:
            return Replayer(self._runtime_of(run.release)).replay(run)
        if run.status is RunStatus.RUNNING:
            raise TetherError(ErrorCode.RUN_NOT_REPLAYABLE, f"run {run.id} has not ended yet")
        scope = next((s for s in run.steps if s.kind is StepKind.SCOPE), None)
        if scope is None:
            raise TetherError(ErrorCode.RUN_NOT_REPLAYABLE, f"run {run.id} recorded no scope step")
        report = ReplayReport(run.id, run.release, steps=len(run.steps))
        _headers(run, scope, report)
        agent = self.runtime.agents.get(run.agent)
        if agent is None:
            report.diffs.append(_diff(scope, "agent", run.agent, None))
            return report
        state = RunState(
            run.id, run.trace_id, _principal(scope), agent, str(scope.data.get("model")), 0.0
        )
        rights = _recorded_rights(scope)
        walk = _Walk(state, report, rights, exact=rights is not None)
        self._grant(walk, scope)
        for step in run.steps:
            try:
                if step is scope:
                    self._history(state, scope)
                elif "capability" in step.data:  # the grant re-minted when the run resumed
                    self._grant(walk, step)
                self._step(walk, step)
                state.apply(step)
            except Exception as exc:  # a record that does not read back: never identical
                problem = exc.message if isinstance(exc, TetherError) else str(exc)
                report.diffs.append(_diff(step, "record", None, f"{type(exc).__name__}: {problem}"))
                break
            state.steps.append(step)
        self._ending(run, report)
        self._listed(run, scope, report)
        report.derived = walk.derived
        return report

    def _listed(self, run: Run, scope: Step, report: ReplayReport) -> None:
        """The row's decision columns (what listings, rollout arms and KPIs count) are its
        Decision's."""
        decision = run.decision
        held = None
        if decision is not None:
            code = decision.reason.code.value if decision.reason else None
            held = " ".join(v for v in (decision.kind.value, code) if v)
        listed = self.runtime.store.listed_decision(run.id)
        if listed != held:
            where = run.steps[-1] if run.steps else scope
            report.diffs.append(_diff(where, "run.decision_kind", listed, held))

    @staticmethod
    def _ending(run: Run, report: ReplayReport) -> None:
        """A run that ended holds its Decision twice, in its last step and in its row: both
        there, and the same."""
        last = run.steps[-1] if run.steps else None
        stepped = last.data.get("decision") if last and last.kind is StepKind.DECISION else None
        if run.decision is None and stepped is None:
            report.decision = "none"
            if run.status is RunStatus.COMPLETED:
                where = last or Step(run.id, 0, StepKind.DECISION, "", 0.0, 0.0, {})
                report.diffs.append(_diff(where, "decision", "a decision step", None))
            return
        row = run.decision.to_dict() if run.decision is not None else None
        found = first_difference(comparable(stepped), comparable(row), "run.decision")
        if found is not None and last is not None:
            report.diffs.append(_diff(last, *found))

    # -- the walk ------------------------------------------------------------------------

    def _grant(self, walk: _Walk, step: Step) -> None:
        """The capability the run held from `step` on, re-made (tokens themselves are never
        kept): the recorded token's id, issue time and expiry, granting the agent's grants ∩
        the principal's recorded rights. A record that keeps no rights gets a fresh token from
        the rights configured now."""
        access = self.runtime.access
        if access is None:
            return
        state = walk.state
        specs = self.runtime.tools.specs(state.agent.tools)
        held = step.data.get("capability")
        if walk.rights is not None and held is not None:
            state.grant = access.regrant(
                state.run_id, state.principal, state.agent, specs, walk.rights, _held(step)
            )
        else:
            state.grant = access.open_run(state.run_id, state.principal, state.agent, specs)
            walk.exact = False
        recorded = held.get("tools") if isinstance(held, Mapping) else step.data.get("tools")
        if recorded is not None and list(recorded) != list(state.grant.tools):
            walk.report.diffs.append(_diff(step, "tools", recorded, list(state.grant.tools)))

    def _history(self, state: RunState, scope: Step) -> None:
        """A conversation's turn starts from the conversation's earlier messages and evidence.
        Its scope step holds the messages by reference (the conversation keeps them append-only,
        so the first `history` are the ones the turn saw); the evidence is what the earlier
        turns' runs recorded (the conversation's own holds later turns' too)."""
        held = scope.data.get("conversation")
        if not isinstance(held, Mapping) or "history" not in held:
            return
        from tether.conversations import ConversationStore

        conversations = ConversationStore(self.runtime.store.engine)
        history, _ = held_history(conversations, held)
        earlier = RunState(state.run_id, "", state.principal, state.agent, "", 0.0)
        for turn in conversations.turns(str(held.get("id"))):
            if turn.turn < int(held.get("turn", 0)):
                rebuild(earlier, self.runtime.store.get_run(turn.run_id).steps)
        seed_history(state, history, earlier.evidence)

    def _step(self, walk: _Walk, step: Step) -> None:
        data = step.data
        if walk.approved_call is not None and step.kind is not StepKind.APPROVAL:
            call = data.get("call") if step.kind is StepKind.GUARD else None
            if not (isinstance(call, Mapping) and call.get("id") == walk.approved_call):
                # the loop checks and runs an approved call next: a record that goes on
                # otherwise does not hold what happened
                walk.report.diffs.append(_diff(step, "approval", "approved", step.kind.value))
            walk.approved_call = None
        if step.kind is StepKind.MODEL_TURN:
            self._model_turn(walk, step)
        elif step.kind is StepKind.CONFIRMATION:
            walk.derived = None  # the user's answer to a pending action steers the run
            if data.get("event") == "confirmed":
                calls = [
                    ToolCall(c["id"], c["name"], dict(c.get("arguments") or {}))
                    for m in data.get("messages", ())
                    for c in m.get("tool_calls", ())
                ]
                walk.turn = ModelTurn(TurnKind.TOOL_CALLS, "", tuple(calls))
        elif step.kind is StepKind.APPROVAL:
            call_id = str(data.get("call", {}).get("id", ""))
            walk.approvals.pop(call_id, None)
            walk.derived = None  # a person's decision steers the run from here
            status = data.get("status")
            if status == "approved":  # only a person's yes waives the escalation
                walk.approvals[call_id] = data
                walk.approved_call = call_id
            elif status not in (None, "pending"):  # a no (or no one in time) ends it so
                walk.derived = refused_by_person(data)
        elif step.kind is StepKind.GUARD:
            self._guard(walk, step)
        elif step.kind is StepKind.TOOL:
            self._tool(walk, step)
        elif step.kind is StepKind.DECISION:
            self._decision(walk, step)

    def _model_turn(self, walk: _Walk, step: Step) -> None:
        output, error = step.data.get("output"), step.data.get("error")
        walk.derived = None
        if output is not None:
            walk.turn = turn_from_dict(output)
            if walk.turn.kind is TurnKind.REFUSAL:
                walk.derived = self.runtime._handle(walk.state, walk.turn)
        elif isinstance(error, Mapping):
            code = ErrorCode(error.get("code", ErrorCode.INTERNAL.value))
            walk.derived = model_failed(code, str(error.get("message", "")))

    def _guard(self, walk: _Walk, step: Step) -> None:
        data = step.data
        runtime, state = self.runtime, walk.state
        call_data = data.get("call")
        recorded = data.get("reads", {})
        if isinstance(call_data, Mapping):
            call = ToolCall(
                str(call_data["id"]), str(call_data["name"]), dict(call_data.get("arguments") or {})
            )
            if data.get("stage") == "execute":  # the token verified again at execution
                walk.allowed.pop(call.id, None)  # it did not act
                if runtime.access is None:
                    return
                if not walk.exact and _token_state(step):  # a fresh token cannot re-make it
                    walk.report.not_replayed.append("token state at execution")
                    result = recorded_guard(step) or GuardResult(())
                else:
                    with _replaying(recorded, state):
                        result = runtime.access.recheck(_context(runtime, walk, step), call)
            else:
                checks = list(runtime.tool_checks)
                approval = walk.approvals.get(call.id) if "approval_id" in data else None
                if approval is not None and runtime.approvals is not None:
                    # the approved escalation is waived as it was; the single-use token was
                    # spent when the call ran, so its verdict is taken as recorded
                    checks = list(runtime.approvals.checks(checks, approval))[:-1]
                    walk.report.not_replayed.append("approved call tokens")
                with _replaying(recorded, state):
                    result = run_tool_checks(checks, _context(runtime, walk, step), call)
            self._compare(
                walk, step, result, skip=APPROVED_TOKEN_CHECK if "approval_id" in data else None
            )
            walk.derived = None
            suspends = data.get("stage") != "execute" and runtime._suspends(result)
            needs_yes = runtime._needs_yes(state, call, result)  # the turn asks the user
            if not result.allowed and not suspends and not needs_yes:
                walk.derived = blocked(result)
            elif result.allowed and not needs_yes and data.get("stage") != "execute":
                walk.allowed[call.id] = call
            return
        turn = self._answered(walk)
        if turn is None:
            walk.report.diffs.append(_diff(step, "turn", "an answer", None))
            return
        with _replaying(recorded, state):
            ctx = _context(runtime, walk, step)
            result = run_answer_checks(runtime.answer_checks, ctx, turn)
        self._compare(walk, step, result)
        note = result.final.facts.get("revise") if not result.allowed else None
        revise = isinstance(note, str) and state.revisions == 0
        if bool(data.get("revised")) != revise:
            walk.report.diffs.append(_diff(step, "revised", bool(data.get("revised")), revise))
        asks = walk.turn is not None and walk.turn.kind is TurnKind.TOOL_CALLS
        walk.derived = None if revise else runtime._answer(state, turn, result, asks=asks)

    def _answered(self, walk: _Walk) -> ModelTurn | None:
        """The reply an answer guard checked: the model's answer, or its question to the user."""
        turn = walk.turn
        if turn is None:
            return None
        if turn.kind is TurnKind.TOOL_CALLS:
            asked = next((c for c in turn.tool_calls if c.name == ASK_USER.name), None)
            return question_turn(asked, turn) if asked is not None else None
        return turn

    def _tool(self, walk: _Walk, step: Step) -> None:
        tool = self.runtime.tools.get(str(step.data.get("tool")))
        call = ToolCall(
            str(step.data.get("call_id")),
            str(step.data.get("tool")),
            dict(step.data.get("arguments") or {}),
        )
        allowed = walk.allowed.pop(call.id, None)  # a call acts once, as its guard let it
        if allowed is None:
            walk.report.diffs.append(_diff(step, "guard", None, f"no guard let {call.id} act"))
        elif (allowed.name, comparable(allowed.arguments)) != (
            call.name,
            comparable(call.arguments),
        ):
            walk.report.diffs.append(_diff(step, "arguments", call.arguments, allowed.arguments))
        walk.derived = (
            Runtime._consequence(tool, call, recorded_outcome(step.data))
            if tool is not None
            else None
        )

    def _decision(self, walk: _Walk, step: Step) -> None:
        recorded = step.data.get("decision") or {}
        derived = walk.derived
        if derived is None:
            walk.report.decision = "recorded"
            return
        # all of it: kind, text, reason, citations and the writes it reports
        found = first_difference(comparable(recorded), comparable(derived.to_dict()), "decision")
        if found is not None:
            walk.report.diffs.append(_diff(step, *found))

    def _compare(
        self, walk: _Walk, step: Step, result: GuardResult, skip: str | None = None
    ) -> None:
        walk.report.checked += 1
        walk.report.verdicts[step.seq] = result
        effect = step.data.get("effect")
        if result.verdicts and effect != result.final.effect.value:
            walk.report.diffs.append(_diff(step, "effect", effect, result.final.effect.value))
        decided = step.data.get("decided_by")
        if result.verdicts and skip is None and decided != result.final.check:
            walk.report.diffs.append(_diff(step, "decided_by", decided, result.final.check))
        recorded = [v for v in step.data.get("verdicts", ()) if v.get("check") != skip]
        replayed = [v.to_dict() for v in result.verdicts if v.check != skip]
        unkept = () if walk.exact else _UNKEPT_TOKEN_KEYS
        found = first_difference(
            comparable(recorded, unkept), comparable(replayed, unkept), "verdicts"
        )
        if found is not None:
            walk.report.diffs.append(_diff(step, *found))


_TOKEN_STATE = frozenset(
    {ErrorCode.TOKEN_EXPIRED.value, ErrorCode.TOKEN_REVOKED.value, ErrorCode.TOKEN_REPLAYED.value}
)


def _token_state(step: Step) -> bool:
    """A block at execution that came from the token's state then (revoked, expired, used),
    which a replay with a token of its own cannot re-make."""
    verdicts = step.data.get("verdicts") or ()
    return any(r.get("code") in _TOKEN_STATE for v in verdicts for r in v.get("reasons") or ())


@contextmanager
def _replaying(recorded: Any, state: RunState) -> Iterator[None]:
    """The checks' reads served from the step's record. A record made before token states
    were kept holds none for the run's token: it is taken as neither revoked nor used, the
    only state in which a token check can have allowed (a recorded refusal then diverges)."""
    reads = dict(recorded) if isinstance(recorded, Mapping) else {}
    if state.grant is not None:
        reads.setdefault(f"{TOKEN_STATUS}:{state.grant.claims.id}", None)
    with reading(reads):
        yield


def _context(runtime: Runtime, walk: _Walk, step: Step) -> GuardContext:
    """What the step's checks read, at the instant they decided (the step's recorded start);
    a record that keeps no grant is checked now, under the fresh token it gets."""
    return runtime._context(walk.state, step.started_at if walk.exact else None)


def _held(step: Step) -> tuple[str, float, float]:
    """The recorded token's id, issue time and expiry; RUN_NOT_REPLAYABLE when the step does
    not hold them."""
    held = step.data.get("capability")
    try:
        if isinstance(held, Mapping):
            return str(held["id"]), float(held["issued_at"]), float(held["expires_at"])
    except (KeyError, TypeError, ValueError):
        pass
    raise TetherError(
        ErrorCode.RUN_NOT_REPLAYABLE,
        f"step {step.seq} records a capability without its token's id, issue time and expiry",
    )


def _recorded_rights(scope: Step) -> list[str] | None:
    """The principal's rights the scope step recorded (the scopes its roles conferred); a run
    without capability tokens needs none, and gets an empty list."""
    facts = scope.data.get("principal") or {}
    rights = facts.get("rights")
    if isinstance(rights, list):
        return [str(r) for r in rights]
    return [] if "capability" not in scope.data else None


def _headers(run: Run, scope: Step, report: ReplayReport) -> None:
    """What the run's row and the steps' headers say agrees with the record: the steps are
    numbered 1..n with none taken out, the row's principal is the scope's, and a guard or tool
    step is named after the call it holds (listings and KPIs read these, not the data)."""
    numbered = next((s for i, s in enumerate(run.steps, start=1) if s.seq != i), None)
    if numbered is not None:
        report.diffs.append(_diff(numbered, "seq", numbered.seq, run.steps.index(numbered) + 1))
    elif run.step_count != len(run.steps):
        last = run.steps[-1]
        report.diffs.append(_diff(last, "run.step_count", run.step_count, len(run.steps)))
    principal = _principal(scope).id
    if run.principal_id != principal:
        report.diffs.append(_diff(scope, "run.principal", run.principal_id, principal))
    release = scope.data.get("release")  # recorded since releases are: older runs have none
    if release is not None and run.release != release:
        report.diffs.append(_diff(scope, "run.release", run.release or None, release))
    status = _status_of(run.steps)
    if status is not None and run.status is not status:
        report.diffs.append(_diff(run.steps[-1], "run.status", run.status.value, status.value))
    for step in run.steps:
        call = step.data.get("call") if step.kind is StepKind.GUARD else None
        named = call.get("name") if isinstance(call, Mapping) else None
        if step.kind is StepKind.TOOL:
            named = step.data.get("tool")
        if named is not None and step.name != named:
            report.diffs.append(_diff(step, "name", step.name, named))


def refused_by_person(approval: Mapping[str, Any]) -> Decision | None:
    """The refusal a person's no (or an approval that expired) ends the run in, as the loop
    makes it; None for a record whose code tether does not know."""
    try:
        code = ErrorCode(str(approval.get("code")))
    except ValueError:
        return None
    reason = Reason(code, str(approval.get("message", "")))
    return Decision(DecisionKind.REFUSAL, str(approval.get("reply", "")), reason=reason)


def _status_of(steps: Sequence[Step]) -> RunStatus | None:
    """The status the steps leave a run in, where they settle it: ended by its Decision, or
    waiting for a person's decision (None while it may still be going)."""
    last = steps[-1]
    if last.kind is StepKind.DECISION:
        return RunStatus.COMPLETED
    if last.kind is StepKind.APPROVAL and last.name == "requested":
        return RunStatus.SUSPENDED
    return None


def _principal(scope: Step) -> Principal:
    """Who the run acted for, as the scope step recorded it (never looked up again)."""
    facts = scope.data.get("principal") or {}
    attributes = facts.get("attributes")
    return Principal(
        str(facts.get("id", "")),
        str(facts.get("tenant", "default")),
        tuple(str(r) for r in facts.get("roles", ())),
        dict(attributes) if isinstance(attributes, Mapping) else {},
    )


def _diff(step: Step, path: str, recorded: Any, replayed: Any) -> Divergence:
    return Divergence(step.seq, step.kind.value, step.name, path, recorded, replayed)


def replay_runs(replayer: Replayer, runs: Sequence[Run], examples: int = 5) -> dict[str, Any]:
    """`{"runs", "identical", "diverged", "examples"}` over `runs` (the first diverging ones as
    examples, each with its first difference); a run that cannot be replayed counts as
    diverged with its error."""
    identical, diverged = 0, 0
    shown: list[dict[str, Any]] = []
    for run in runs:
        try:
            report = replayer.replay(run)
        except TetherError as exc:
            diverged += 1
            if len(shown) < examples:
                shown.append({"run": run.id, "identical": False, "error": exc.to_dict()})
            continue
        if report.identical:
            identical += 1
            continue
        diverged += 1
        if len(shown) < examples:
            shown.append({**report.to_dict(), "diffs": [report.diffs[0].to_dict()]})
    return {"runs": len(runs), "identical": identical, "diverged": diverged, "examples": shown}


def deciding_rules(verdict: Mapping[str, Any]) -> list[str]:
    """The rules that decided a verdict: the policy rules that determined it, else the check
    and its reason codes (`premises:PREMISE_FAILED`)."""
    facts = verdict.get("facts") or {}
    determining = facts.get("determining") if isinstance(facts, Mapping) else None
    if isinstance(determining, list) and determining:
        return sorted({str(d.get("id")) for d in determining if isinstance(d, Mapping)})
    codes = sorted({str(r.get("code")) for r in verdict.get("reasons") or ()})
    return [f"{verdict.get('check')}:{code}" for code in codes] or [str(verdict.get("check"))]


_UNREPLAYABLE_PATHS = ("agent", "record", "tools", "turn", "approval", *_HEADER_PATHS)
# a tool step its guard did not let act: what follows a verdict that changed, else a forgery
_UNGUARDED_PATHS = ("guard", "arguments")


def unreplayable(report: ReplayReport) -> str | None:
    """Why a report cannot say what a run would have done (a record that does not read back,
    an agent the configuration lacks, a read the record does not hold); None when it can."""
    for diff in report.diffs:
        if diff.path in _UNREPLAYABLE_PATHS:
            return f"step {diff.step} {diff.kind}: {diff.path} {diff.replayed!r}"
    for seq, remade in sorted(report.verdicts.items()):
        if ErrorCode.REPLAY_READ_MISSING.value in json.dumps(remade.to_dict(), default=str):
            return f"step {seq}: a check read what the record does not hold (REPLAY_READ_MISSING)"
    return None


def first_change(run: Run, report: ReplayReport) -> dict[str, Any] | None:
    """Where a run re-checked under another configuration first ends differently: the first
    guard whose final effect changes (what follows it is no longer what would have happened),
    else a Decision derived differently; None when neither."""
    for step in run.steps:
        remade = report.verdicts.get(step.seq)
        if remade is None:
            continue
        before, after = str(step.data.get("effect")), remade.final.effect.value
        if before == after:
            continue
        decided = str(step.data.get("decided_by"))
        verdicts = step.data.get("verdicts") or ()
        held: Mapping[str, Any] = next((v for v in verdicts if v.get("check") == decided), {})
        deciding: Mapping[str, Any]
        if after == "allow":  # a block lifted: the rule that blocked it is what changed
            deciding, rules = held, deciding_rules(held)
        else:
            deciding, rules = remade.final.to_dict(), deciding_rules(remade.final.to_dict())
            if before != "allow":  # stricter: the rules that decided it before did not change it
                kept = set(deciding_rules(held))
                rules = [r for r in rules if r not in kept] or rules
        reasons = deciding.get("reasons") or ()
        return {
            "run": run.id,
            "step": step.seq,
            "proposal": step.name,
            "change": f"{before}->{after}",
            "rules": rules,
            "reason": str(reasons[0].get("message", "")) if reasons else "",
            "decision": run.decision.kind.value if run.decision else None,
        }
    moved = next((d for d in report.diffs if d.path.startswith("decision.")), None)
    if moved is None:
        return None
    return {
        "run": run.id,
        "step": moved.step,
        "proposal": "decision",
        "change": f"decision:{moved.recorded}->{moved.replayed}",
        "rules": [moved.path],
        "reason": "",
        "decision": run.decision.kind.value if run.decision else None,
    }


def counterfactual(replayer: Replayer, runs: Sequence[Run], examples: int = 5) -> dict[str, Any]:
    """`{"runs", "changed", "by_change", "by_rule", "examples", "errors"}`: each run's recorded
    proposals re-checked by the replayer's runtime (a candidate's), model outputs and tool
    results held as recorded; a run changed where `first_change` finds one, counted by
    `"recorded->re-made"` effect and by the rules that decided. A run that cannot be re-checked
    (`unreplayable`) counts as an error, with its reason among the examples, never as
    unchanged nor as a rule's change."""
    by_change: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    changed, errors = 0, 0
    shown: list[dict[str, Any]] = []
    for run in runs:
        try:
            report = replayer.replay(run)
            why = unreplayable(report)
        except TetherError as exc:
            why = f"{exc.code.value}: {exc.message}"
        if why is not None:
            errors += 1
            if len(shown) < examples:
                shown.append({"run": run.id, "error": why})
            continue
        change = first_change(run, report)
        if change is None and any(d.path in _UNGUARDED_PATHS for d in report.diffs):
            errors += 1  # no verdict changed, yet a call acted unguarded: the record is wrong
            if len(shown) < examples:
                shown.append({"run": run.id, "error": "a tool step no guard let act"})
            continue
        if change is None:
            continue
        changed += 1
        by_change[change["change"]] += 1
        by_rule.update(change["rules"])
        if len(shown) < examples:
            shown.append(change)
    return {
        "runs": len(runs),
        "changed": changed,
        "by_change": dict(by_change.most_common()),
        "by_rule": dict(by_rule.most_common()),
        "examples": shown,
        "errors": errors,
    }
