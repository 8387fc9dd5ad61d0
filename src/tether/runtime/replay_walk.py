"""The walk through a recorded run's steps, for `Replayer`: each step applied to the rebuilt
state, the capability re-made at the scope step and at each resume, the conversation's earlier
turns seeded, and at each guard step the check chain run again on the recorded proposal, its
verdicts compared with the record's and the Decision the steps so far end the run in derived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode
from tether.core.guard import (
    GuardContext,
    GuardResult,
    as_received,
    run_answer_checks,
    run_tool_checks,
)
from tether.core.types import Decision, ModelTurn, Step, StepKind, ToolCall, TurnKind
from tether.runtime.confirm import ASK_USER, question_turn, read_reply
from tether.runtime.control import cancelled
from tether.runtime.endings import blocked, model_failed
from tether.runtime.history import held_history, seed_history
from tether.runtime.loop import Runtime
from tether.runtime.pending import PendingAction
from tether.runtime.replay_record import _held, _replaying, _token_state, refused_by_person
from tether.runtime.replay_report import ReplayReport, _diff, comparable, first_difference
from tether.runtime.seams import Reply
from tether.runtime.state import (
    RunState,
    rebuild,
    recorded_guard,
    recorded_outcome,
    turn_from_dict,
)

# what a record made before runs kept their grant whole lacks: the ids of the tokens they held
_UNKEPT_TOKEN_KEYS = frozenset({"token_id"})
APPROVED_TOKEN_CHECK = "approval"
# the events of a pending action's answer (requested and expired are not answers)
_ANSWERED = frozenset({"confirmed", "not_confirmed", "declined"})


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
    # a conversation's turn as its scope step recorded it: the reply, the pending action's nonce
    conversation: Mapping[str, Any] = field(default_factory=dict)


class ReplayWalkMixin:
    """The walk, for `Replayer` (which provides what is declared)."""

    if TYPE_CHECKING:
        runtime: Runtime

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
        if step.kind is StepKind.SCOPE:
            held = data.get("conversation")
            walk.conversation = held if isinstance(held, Mapping) else {}
        elif step.kind is StepKind.MODEL_TURN:
            self._model_turn(walk, step)
        elif step.kind is StepKind.CONFIRMATION:
            walk.derived = None  # the user's answer to a pending action steers the run
            self._confirmation(walk, step)
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

    def _confirmation(self, walk: _Walk, step: Step) -> None:
        """The answer to a pending action, made again from the turn's reply as the scope step
        recorded it: a button's confirm or decline, or the user's message read again by the
        runtime's consent reader (its reading compared with the one recorded). A requested or
        expired action is not an answer (the clock that expired it is not re-read)."""
        data = step.data
        event = data.get("event")
        if event not in _ANSWERED:
            return
        held = walk.conversation
        if "pending" in held and data.get("nonce") != held.get("pending"):
            walk.report.diffs.append(_diff(step, "nonce", data.get("nonce"), held.get("pending")))
        reply = held.get("reply")
        if reply is None and data.get("by") == "text":  # a record without the turn's reply
            reply = Reply.TEXT.value
        by: str | None = None
        answer: str | None = None
        if reply == Reply.TEXT.value:
            tool = str(data.get("tool", ""))
            reading = read_reply(walk.state.messages, tool, self.runtime.tools)
            if "reading" in data:
                found = first_difference(data["reading"], reading.to_dict(), "reading")
                if found is not None:
                    walk.report.diffs.append(_diff(step, *found))
            by, answer = "text", "confirmed" if reading.confirmed else "not_confirmed"
        elif reply == Reply.CONFIRM.value:
            by, answer = "button", "confirmed"
        elif reply == Reply.DECLINE.value:
            by, answer = "button", "declined"
        if by is not None and data.get("by") != by:
            walk.report.diffs.append(_diff(step, "by", data.get("by"), by))
        if answer is not None and event != answer:
            walk.report.diffs.append(_diff(step, "event", event, answer))
        if event == "confirmed":
            walk.turn = ModelTurn(TurnKind.TOOL_CALLS, "", self._confirmed(walk, step))

    @staticmethod
    def _confirmed(walk: _Walk, step: Step) -> tuple[ToolCall, ...]:
        """The call a confirmation runs: the pending action's own, exactly as stored (the
        runtime runs nothing else), which the step's message must hold and the guard that
        follows must check. A record without the action runs the call its message holds."""
        data = step.data
        calls = [
            ToolCall(c["id"], c["name"], dict(c.get("arguments") or {}))
            for m in data.get("messages", ())
            for c in m.get("tool_calls", ())
        ]
        held = data.get("pending_action")
        if not isinstance(held, Mapping):
            return tuple(calls)
        pending = PendingAction.from_dict(held)
        for key, named in (("nonce", pending.nonce), ("tool", pending.tool)):
            if data.get(key) != named:
                walk.report.diffs.append(_diff(step, key, data.get(key), named))
        call = pending.call()
        found = first_difference(
            [c.to_dict() for c in calls], [call.to_dict()], "messages.tool_calls"
        )
        if found is not None:
            walk.report.diffs.append(_diff(step, *found))
        return (call,)

    def _guard(self, walk: _Walk, step: Step) -> None:
        data = step.data
        runtime, state = self.runtime, walk.state
        call_data = data.get("call")
        recorded = data.get("reads", {})
        if isinstance(call_data, Mapping):
            call = ToolCall(
                str(call_data["id"]), str(call_data["name"]), dict(call_data.get("arguments") or {})
            )
            self._proposed(walk, step, call, runtime)
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

    @staticmethod
    def _proposed(walk: _Walk, step: Step, call: ToolCall, runtime: Runtime) -> None:
        """A guard checks a call of the latest model turn (or the call the user confirmed),
        exactly as proposed, with the arguments its tool receives (`as_received`): its id, tool
        and arguments. The loop checks nothing else, so a record whose guard (and the tool step
        it lets act) holds another call, or whose turn was made to propose another, does not
        hold what happened."""
        turn = walk.turn
        calls = turn.tool_calls if turn is not None and turn.kind is TurnKind.TOOL_CALLS else ()
        proposed = next((c for c in calls if c.id == call.id), None)
        if proposed is None:
            walk.report.diffs.append(_diff(step, "call.id", call.id, [c.id for c in calls]))
            return
        received = as_received(runtime.tools, proposed)
        found = first_difference(call.to_dict(), received.to_dict(), "call")
        if found is not None:
            walk.report.diffs.append(_diff(step, *found))

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
        if _cancelled(recorded):  # the caller's, from outside the proposals: held to the steps'
            walk.report.decision = "recorded"  # writes, which it must list
            made = cancelled("", walk.state.writes).to_dict().get("results", [])
            found = first_difference(
                comparable(recorded.get("results", [])), comparable(made), "decision.results"
            )
            if found is not None:
                walk.report.diffs.append(_diff(step, *found))
            return
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


def _cancelled(decision: Mapping[str, Any]) -> bool:
    reason = decision.get("reason")
    return isinstance(reason, Mapping) and reason.get("code") == ErrorCode.RUN_CANCELLED.value


def _context(runtime: Runtime, walk: _Walk, step: Step) -> GuardContext:
    """What the step's checks read, at the instant they decided (the step's recorded start);
    a record that keeps no grant is checked now, under the fresh token it gets."""
    return runtime._context(walk.state, step.started_at if walk.exact else None)
