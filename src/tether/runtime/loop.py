"""The run loop: scope → ground → propose → guard → act → decide, observed at every step.

`Runtime` drives a run (or resumes one) from step to step; the steps too long to read inline
are its mixins: the scope (`tether.runtime.scope`), a tool call's guard and act
(`tether.runtime.calls`) and an answer's (`tether.runtime.answers`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.access.governor import RunGovernor
from tether.core.clock import Clock, IdSource, RandomIds, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import AnswerCheck, GuardContext, ToolCheck
from tether.core.observers import RunObserver, ending_hook, notify_run_end
from tether.core.types import (
    Agent,
    Decision,
    DecisionKind,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    Reason,
    Run,
    RunStatus,
    Step,
    StepKind,
    TurnKind,
)
from tether.grounding.graph import principal_labels
from tether.models.base import ModelAdapter, ModelRequest
from tether.policy.sentences import assertive_sentences
from tether.runtime.answers import AnswerMixin
from tether.runtime.calls import ToolCallMixin
from tether.runtime.confirm import ASK_USER, ConfirmationMixin, compact_json, question_turn
from tether.runtime.control import RunControlMixin, cancelled
from tether.runtime.endings import limit_reached, model_failed, overran
from tether.runtime.failsafe import fail_closed, failed_decision, orphan_state
from tether.runtime.inputs import InputLimits, check_turn
from tether.runtime.leases import LeaseKeeper
from tether.runtime.prompt import grounding_messages
from tether.runtime.recording import BATCH_WINDOW_S, StepRecorderMixin
from tether.runtime.scope import RunScopeMixin
from tether.runtime.seams import (
    ApprovalGate,
    PrincipalDirectory,
    Retriever,
    RunRequest,
    chained,
)
from tether.runtime.state import (
    RunState,
    open_turn,
    recorded_guard,
    recorded_outcome,
    take_approval,
    take_step,
)
from tether.store.leases import Lease
from tether.store.runs import RunStore
from tether.store.tool_results import ToolResultLedger
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import ToolExecutor
from tether.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from tether.conversations import Conversation

log = logging.getLogger("tether.runtime")


@dataclass
class Runtime(
    RunScopeMixin,
    ToolCallMixin,
    AnswerMixin,
    StepRecorderMixin,
    ConfirmationMixin,
    RunControlMixin,
):
    """Executes governed runs. Every dependency is injected; nothing here does I/O itself."""

    store: RunStore
    agents: Mapping[str, Agent]
    tools: ToolRegistry
    principals: PrincipalDirectory
    retriever: Retriever | None = None
    tool_checks: Sequence[ToolCheck] = ()
    answer_checks: Sequence[AnswerCheck] = ()
    executor: ToolExecutor = field(default_factory=EnvelopeExecutor)
    clock: Clock = field(default_factory=SystemClock)
    ids: IdSource = field(default_factory=RandomIds)
    input_limits: InputLimits = field(default_factory=InputLimits)
    observers: Sequence[RunObserver] = ()
    default_agent: str = ""
    access: RunGovernor | None = None  # run tokens, re-check at execution, audit events
    approvals: ApprovalGate | None = None  # escalated calls wait for a person's decision
    # the ACL labels a principal reads with (default: public, its roles, its own label)
    labels: Callable[[Principal], Collection[str]] = principal_labels
    # the domain pack and its version, recorded with every run
    domain: Mapping[str, str] = field(default_factory=dict)
    # the id of the release a new run executes under (see tether.release), recorded with it
    release: Callable[[], str] | None = None
    # the model that release names, when it is not the process's: its runs use no other
    release_model: Callable[[], ModelAdapter] | None = None
    # which sentences of a reply assert facts (the rest are questions and greetings)
    assertive: Callable[[str], Sequence[str]] = assertive_sentences
    # how a tool's outcome reads to the model: `{"ok", "output" | "error", "evidence_id"}`
    # as compact JSON by default; a domain may render it for its model (e.g. YAML, text)
    observation: Callable[[Mapping[str, Any]], str] = compact_json
    # a block in which the domain's lookups share what they read; held while one proposal is
    # checked and while retrieval expands through the graph (see `DomainParts.shared_reads`)
    shared_reads: Callable[[], AbstractContextManager[object]] = nullcontext
    # the leases of the runs this process executes (default: TETHER_RUN_LEASE_SECONDS)
    leases: LeaseKeeper | None = None
    # how long steps that acted on nothing may wait to commit with later ones (see
    # `tether.runtime.recording`); 0 commits each finished model turn before the next
    batch_window_s: float = BATCH_WINDOW_S
    _ledger: ToolResultLedger = field(init=False, repr=False)
    _keeper: LeaseKeeper = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ledger = ToolResultLedger(self.store.engine)
        self._keeper = self.leases or LeaseKeeper(self.store.leases)

    @property
    def keeper(self) -> LeaseKeeper:
        """The leases of the runs this process executes."""
        return self._keeper

    def converse(self, principal_id: str, agent: str | None = None) -> Conversation:
        """A new conversation for `principal_id` with `agent` (default: the default agent),
        held in this runtime's store; `conversation.send(text, model)` runs a turn."""
        from tether.conversations import Conversations, ConversationStore

        conversations = Conversations(self, ConversationStore(self.store.engine))
        return conversations.start(principal_id, agent)

    def run(self, request: RunRequest, model: ModelAdapter) -> Run:
        """Handle one request end to end; the returned run carries a Decision, unless it is
        suspended (status SUSPENDED) until a person decides an escalated call. Once the run
        exists, whatever fails ends it in an escalation (see `tether.runtime.failsafe`)."""
        model = self.release_model() if self.release_model is not None else model
        lease = self._keeper.new()
        state = self._scope(request, model.name, lease, insert=False)

        def begin() -> Run:
            self._bound(state, lease)  # reads the agent's limits, which may be broken too
            return self._begin(state, request, model)

        with self._keeper.holding(state.run_id, lease):
            return fail_closed(self.store, state, begin, self._end)

    def _begin(self, state: RunState, request: RunRequest, model: ModelAdapter) -> Run:
        assert state.header is not None  # set by _scope
        turn = request.conversation
        self._record_scope(state, request.messages, state.header.created_at, turn)
        self._ground(state)
        decision = None
        if turn is not None and turn.pending is not None:
            decision = self._answer_pending(state, turn)
        return self._drive(state, model, decision)

    def resume(self, run_id: str, model: ModelAdapter, recovering: bool = False) -> Run:
        """Continue a run left RUNNING by a process that stopped, from its recorded steps.

        The open model turn is finished first: its tool calls without a recorded result run
        now, and calls with side effects run at most once (see `tether.runtime.once`); a
        call a person decided on runs, or is refused, as decided. A run that already ended, or
        is suspended waiting for a decision, is returned as stored; so is a run another live
        process holds the lease of (see `tether.runtime.leases`). `recovering`: a sweep's
        resume, which leaves alone a run without a lease until it has not moved for a lease's
        lifetime (an approval's decision may be about to resume it).
        """
        lease = self._keeper.claim(run_id, recovering)
        if lease is None:
            return self.store.get_run(run_id)
        model = self.release_model() if self.release_model is not None else model
        with self._keeper.holding(run_id, lease):
            read: Run | None = None
            try:  # a step it cannot read (RUN_UNREADABLE) ends it as a broken agent does
                stored = read = self.store.get_run(run_id)
                state = self._restore(stored, model)
            except Exception as exc:  # its agent or principal is gone or broken: it cannot go on
                if not isinstance(exc, TetherError):
                    log.exception("run %s cannot be restored; ending it", run_id)
                # the run without its steps, when those are what could not be read
                stored = read if read is not None else self.store.get_run(run_id, with_steps=False)
                orphan = orphan_state(stored, model.name)
                orphan.lease = lease.owner
                return self._end(orphan, failed_decision(exc), False)
            state.lease = lease.owner
            state.cancel = self.store.leases.cancel_requested(run_id)

            def finish() -> Run:
                self._bound(state, lease)  # reads the agent's limits, which may be broken too
                if recovering and state.cancel is None and stored.status is RunStatus.RUNNING:
                    late = overran(stored, state.agent.limits.max_seconds, self.clock.now())
                    if late is not None:  # its worker stalled past the limit: finishing may too
                        return self._end(state, late)
                turn = self._unanswered_turn(stored)
                self._held_history(state, stored.steps)
                self._catch_up(state, stored, turn)
                decision = self._finish_turn(state, stored.steps)
                if turn is not None and turn.pending is not None:  # no model turn was open
                    decision = self._answer_pending(state, turn)
                return self._drive(state, model, decision)

            return fail_closed(self.store, state, finish, self._end)

    def _bound(self, state: RunState, lease: Lease) -> None:
        """Renew the run's lease only until its time limit, plus a lease's lifetime for the
        step under way to end and the Decision to be written (see `tether.runtime.leases`)."""
        left = state.agent.limits.max_seconds - (self.clock.monotonic() - state.started)
        self._keeper.bound(lease, time.time() + max(0.0, left) + self._keeper.ttl_s)

    def _drive(self, state: RunState, model: ModelAdapter, decision: Decision | None = None) -> Run:
        while decision is None and not state.suspended:
            self._commit_due(state)
            decision = limit_reached(state, self.clock.monotonic() - state.started)
            if decision is None and state.cancel is not None:
                decision = cancelled(state.cancel, state.writes)
            if decision is None:
                turn = self._propose(state, model)
                if self._ends_cancelled(state, turn):
                    decision = cancelled(state.cancel or "", state.writes)
                else:
                    decision = turn if isinstance(turn, Decision) else self._handle(state, turn)
        assert state.header is not None  # set by _scope
        if decision is None:  # suspended: durably waiting for a person's decision
            return dataclasses.replace(
                state.header,
                status=RunStatus.SUSPENDED,
                updated_at=state.steps[-1].ended_at,
                step_count=state.seq,
                steps=tuple(state.steps),
            )
        return self._end(state, decision)

    def _ends_cancelled(self, state: RunState, turn: ModelTurn | Decision) -> bool:
        """Whether a cancel accepted while the model proposed ends the run instead of the
        turn: one that would end it (an answer, a refusal, a failed model call, which would
        hand a cancelled request to a person). A turn of tool calls goes on: its reads
        finish, and a write not yet started does not start (see `_act`)."""
        if isinstance(turn, ModelTurn) and turn.kind is TurnKind.TOOL_CALLS:
            return False
        self._look_for_cancel(state)
        return state.cancel is not None

    def _end(self, state: RunState, decision: Decision, route: bool = True) -> Run:
        """Record the Decision that ends the run (an escalation also goes to its queue)."""
        assert state.header is not None
        routed = None
        if route and self.approvals is not None and decision.kind is DecisionKind.ESCALATION:
            routed = self.approvals.escalated(state.header, decision, state.steps)
        kind = decision.kind.value

        def ended() -> Run:  # the run as its Decision leaves it (the decision step included)
            assert state.header is not None
            return dataclasses.replace(
                state.header,
                status=RunStatus.COMPLETED,
                updated_at=state.steps[-1].ended_at,
                decision=decision,
                step_count=state.seq,
                steps=tuple(state.steps),
            )

        # what observers keep of the end (KPIs) commits with the Decision, or not at all
        also = chained(routed, ending_hook(self.observers, ended))
        self._record(state, StepKind.DECISION, kind, {}, decision=decision, also=also)
        result = ended()
        notify_run_end(self.observers, result)
        return result

    # -- 2. ground ------------------------------------------------------------------------

    def _ground(self, state: RunState) -> None:
        started = self.clock.now()
        user_text = [m.content for m in state.messages if m.role == "user"][-3:]
        query = " ".join(user_text)
        labels = set(self.labels(state.principal))
        found: list[Evidence] = []
        if self.retriever is not None and state.agent.grounding_sources:
            with self.shared_reads():  # the graph's expansion reads each entity once
                # an agent reads its own sources only, whatever else shares the store
                found = self.retriever.search(
                    query, state.agent.retrieval_k, labels, state.agent.grounding_sources
                )
        # the system message holds the operator's instructions only; passages follow it in a
        # delimited reference message, as data (replay and resume read these recorded ones)
        prepend = [m.to_dict() for m in grounding_messages(state.agent, found)]
        data = {
            "query": query,
            "labels": sorted(labels),
            "evidence": [e.to_dict() for e in found],
            "prepend": prepend,
        }
        # what was retrieved acts on nothing outside the run: it commits with later steps
        self._record(state, StepKind.RETRIEVAL, "retrieve", data, started=started, defer=True)

    # -- 3. propose -----------------------------------------------------------------------

    def _propose(self, state: RunState, model: ModelAdapter) -> ModelTurn | Decision:
        started = self.clock.now()
        request = ModelRequest(
            agent=state.agent,
            messages=tuple(state.messages),
            tools=(
                *self.tools.specs(state.grant.tools if state.grant else state.agent.tools),
                ASK_USER,
            ),
            turn=state.turns,
        )
        try:
            turn = check_turn(model.propose(request))
        except TetherError as exc:
            error = {"error": exc.to_dict()}
            self._record(state, StepKind.MODEL_TURN, model.name, error, started, defer=True)
            return model_failed(exc.code, exc.message)
        data: dict[str, Any] = {"turn": state.turns, "output": turn.to_dict()}
        if turn.kind is TurnKind.TOOL_CALLS:
            data["messages"] = [Message("assistant", turn.text, turn.tool_calls).to_dict()]
        self._record(state, StepKind.MODEL_TURN, model.name, data, started, defer=True)
        return turn

    # -- 4/5. guard and act ---------------------------------------------------------------

    def _handle(self, state: RunState, turn: ModelTurn) -> Decision | None:
        if turn.kind is TurnKind.REFUSAL:
            reason = Reason(ErrorCode.MODEL_REFUSED, "the model declined the request")
            return Decision(DecisionKind.REFUSAL, turn.text, reason=reason)
        if turn.kind is TurnKind.ANSWER:
            return self._answer(state, turn)
        for call in turn.tool_calls:
            if call.name == ASK_USER.name and self.tools.get(ASK_USER.name) is None:
                return self._answer(state, question_turn(call, turn), asks=True)
            decision = self._tool_call(state, call)
            if decision is not None or state.suspended:
                return decision
        return None

    def _finish_turn(self, state: RunState, steps: Sequence[Step]) -> Decision | None:
        """Finish the model turn a stopped process left open, reusing what it recorded."""
        found = open_turn(steps)
        if found is None:
            return None
        if found.turn is None:  # the model failed; a cancel accepted meanwhile wins
            if state.cancel is not None:
                return cancelled(state.cancel, state.writes)
            error = found.error or {}
            code = ErrorCode(error.get("code", ErrorCode.INTERNAL.value))
            return model_failed(code, str(error.get("message", "")))
        later = list(found.later)
        if found.turn.kind is TurnKind.ANSWER:
            guard = take_step(later, StepKind.GUARD, None)
            if guard is not None and guard.data.get("revised"):
                return None  # the answer went back to the model, which proposes again
            return self._answer(state, found.turn, recorded_guard(guard))
        if found.turn.kind is not TurnKind.TOOL_CALLS:
            return self._handle(state, found.turn)
        for call in found.turn.tool_calls:
            guard = take_step(later, StepKind.GUARD, call.id)
            approval = take_approval(later, call.id)
            done = take_step(later, StepKind.TOOL, call.id)
            tool = self.tools.get(call.name)
            if done is not None and tool is not None:
                decision = self._consequence(tool, call, recorded_outcome(done.data))
            elif approval is not None:
                decision = self._decided(state, call, approval.data, later)
            else:
                decision = self._tool_call(state, call, recorded_guard(guard))
            if decision is not None or state.suspended:
                return decision
        return None

    # -- limits, context, recording -------------------------------------------------------

    def _context(self, state: RunState, now: float | None = None) -> GuardContext:
        """What the checks of one proposal read; `now`: the instant they decide at (the guard
        step's start), which a replay takes from the record."""
        capability = state.grant.token if state.grant else None
        return GuardContext(
            state.run_id,
            state.principal,
            state.agent,
            self.tools,
            state.evidence,
            capability=capability,
            messages=tuple(state.messages),
            confirmed=state.confirmed,
            now=now,
        )
