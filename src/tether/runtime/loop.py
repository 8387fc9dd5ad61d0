"""The run loop: scope → ground → propose → guard → act → decide, observed at every step."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.access.governor import RunGovernor
from tether.core.clock import Clock, IdSource, RandomIds, SystemClock
from tether.core.errors import ErrorCode, Handler, TetherError
from tether.core.guard import (
    AnswerCheck,
    GuardContext,
    GuardResult,
    ToolCheck,
    run_answer_checks,
    run_tool_checks,
)
from tether.core.observers import RunObserver, ending_hook, notify_run_end
from tether.core.reads import kept_reads, reading
from tether.core.types import (
    Agent,
    Decision,
    DecisionKind,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    Reason,
    RiskClass,
    Run,
    RunStatus,
    Step,
    StepKind,
    ToolCall,
    TurnKind,
)
from tether.grounding.graph import principal_labels
from tether.models.base import ModelAdapter, ModelRequest
from tether.policy.consent import assertive_sentences
from tether.runtime.confirm import ASK_USER, ConfirmationMixin, compact_json, question_turn
from tether.runtime.control import RunControlMixin, cancelled
from tether.runtime.endings import answer_blocked, blocked, limit_reached, model_failed
from tether.runtime.failsafe import fail_closed, failed_decision, orphan_state
from tether.runtime.history import held_history, seed_history, unanswered_turn
from tether.runtime.inputs import InputLimits, check_messages, check_turn
from tether.runtime.leases import LeaseKeeper
from tether.runtime.once import action_scope, execute_once
from tether.runtime.prompt import grounding_messages, marked_observation
from tether.runtime.recording import BATCH_WINDOW_S, StepRecorderMixin
from tether.runtime.seams import (
    ApprovalGate,
    PrincipalDirectory,
    Reply,
    Retriever,
    RunRequest,
    TurnContext,
    chained,
)
from tether.runtime.state import (
    RunState,
    open_turn,
    rebuild,
    recorded_guard,
    recorded_outcome,
    suspended_seconds,
    take_approval,
    take_step,
)
from tether.store.leases import Lease
from tether.store.runs import NewRun, RunStore
from tether.store.tool_results import ToolResultLedger
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, ToolExecutor, ToolOutcome
from tether.tools.registry import Tool, ToolRegistry

if TYPE_CHECKING:
    from tether.conversations import Conversation


@dataclass
class Runtime(StepRecorderMixin, ConfirmationMixin, RunControlMixin):
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
        lease = self._keeper.new()
        state = self._scope(request, model.name, lease, insert=False)
        with self._keeper.holding(state.run_id, lease):
            return fail_closed(
                self.store, state, lambda: self._begin(state, request, model), self._end
            )

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
        with self._keeper.holding(run_id, lease):
            stored = self.store.get_run(run_id)
            try:
                state = self._restore(stored, model)
            except TetherError as exc:  # its agent or principal is gone: it cannot go on
                orphan = orphan_state(stored, model.name)
                orphan.lease = lease.owner
                return self._end(orphan, failed_decision(exc), False)
            state.lease = lease.owner
            state.cancel = self.store.leases.cancel_requested(run_id)

            def finish() -> Run:
                turn = self._unanswered_turn(stored)
                self._held_history(state, stored.steps)
                self._catch_up(state, stored, turn)
                decision = self._finish_turn(state, stored.steps)
                if turn is not None and turn.pending is not None:  # no model turn was open
                    decision = self._answer_pending(state, turn)
                return self._drive(state, model, decision)

            return fail_closed(self.store, state, finish, self._end)

    def _drive(self, state: RunState, model: ModelAdapter, decision: Decision | None = None) -> Run:
        while decision is None and not state.suspended:
            self._commit_due(state)
            decision = limit_reached(state, self.clock.monotonic() - state.started)
            if decision is None and state.cancel is not None:
                decision = cancelled(state.cancel)
            if decision is None:
                turn = self._propose(state, model)
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

    # -- 1. scope -------------------------------------------------------------------------

    def _scope(
        self,
        request: RunRequest,
        model_name: str,
        lease: Lease | None,
        status: RunStatus = RunStatus.RUNNING,
        insert: bool = True,
    ) -> RunState:
        """The state of a new run. Its row is inserted now, or (`insert=False`) in the
        transaction that commits its scope step, the first one recorded."""
        agent_name = request.agent or self.default_agent
        agent = self.agents.get(agent_name)
        if agent is None:
            raise TetherError(ErrorCode.UNKNOWN_AGENT, f"no agent named {agent_name!r}")
        turn = request.conversation
        button = turn is not None and turn.reply is not Reply.TEXT
        messages = check_messages(request.messages, self.input_limits, allow_empty=button)
        principal = self.principals.resolve(request.principal_id)
        now = self.clock.now()
        run_id = request.run_id or (
            turn.run_id if turn is not None and turn.run_id else self.ids.new_id("run")
        )
        trace_id = self.ids.new_trace_id()
        state = RunState(run_id, trace_id, principal, agent, model_name, self.clock.monotonic())
        run = Run(
            id=run_id,
            agent=agent.name,
            principal_id=principal.id,
            status=status,
            created_at=now,
            updated_at=now,
            input={
                "tenant": principal.tenant,
                "messages": [m.to_dict() for m in messages],
                "metadata": dict(request.metadata),
                **({"domain": dict(self.domain)} if self.domain else {}),
            },
            trace_id=trace_id,
            release=self.release() if self.release is not None else "",
        )
        if insert:
            self.store.create_run(run, state.checkpoint(), lease)
        else:
            state.unsaved = NewRun(run, lease)
        state.header, state.lease = run, lease.owner if lease else None
        return state

    def _record_scope(
        self,
        state: RunState,
        messages: Sequence[Message],
        started: float,
        turn: TurnContext | None = None,
    ) -> None:
        principal, agent = state.principal, state.agent
        granted = sorted(set(agent.tools) & set(self.tools.names()))
        facts: dict[str, Any] = {
            "principal": self._principal_facts(principal),
            "agent": agent.name,
            "model": state.model_name,
            "tools": granted,
            "limits": {
                "max_steps": agent.limits.max_steps,
                "max_seconds": agent.limits.max_seconds,
            },
            "messages": [m.to_dict() for m in messages],
        }
        if turn is not None:  # a conversation's turn continues from what the server holds
            # by reference: the conversation keeps its messages append-only, so the first
            # `history` of them are what this turn saw; the step copies only the new ones
            facts["conversation"] = {
                "id": turn.conversation_id,
                "turn": turn.turn,
                "reply": turn.reply.value,
                "pending": turn.pending.nonce if turn.pending else None,
                "history": len(turn.history),
            }
            facts["prior_tool_results"] = turn.tool_results
            seed_history(state, turn.history, turn.evidence)
        if self.domain:
            facts["domain"] = dict(self.domain)
        if state.header is not None and state.header.release:  # the row's copy is checked by it
            facts["release"] = state.header.release
        operator = state.header.input.get("metadata", {}).get("operator") if state.header else None
        if operator:
            facts["requested_by"] = operator
        if self.access is not None:
            specs = self.tools.specs(granted)
            state.grant = self.access.open_run(state.run_id, principal, agent, specs)
            facts["tools"] = list(state.grant.tools)
            facts["capability"] = state.grant.facts()
        # a capability minted for the run is on record before anything uses it (a resume
        # revokes it), and a new run's row with it; else the scope commits with later steps
        at_once = self.access is not None or state.unsaved is not None
        self._record(state, StepKind.SCOPE, "scope", facts, started=started, defer=not at_once)

    def _principal_facts(self, principal: Principal) -> dict[str, Any]:
        """Who the run acts for, as a replay takes it: never looked up again."""
        facts: dict[str, Any] = {
            "id": principal.id,
            "tenant": principal.tenant,
            "roles": principal.roles,
            "attributes": dict(principal.attributes),
        }
        if self.access is not None:  # the scopes its roles conferred when the run started
            facts["rights"] = self.access.principal_rights(principal)
        return facts

    def _restore(self, stored: Run, model: ModelAdapter) -> RunState:
        """The loop state of a stored run, rebuilt from its steps."""
        agent = self.agents.get(stored.agent)
        if agent is None:
            raise TetherError(ErrorCode.UNKNOWN_AGENT, f"no agent named {stored.agent!r}")
        principal = self.principals.resolve(stored.principal_id)
        # the time limit carries over, except the time spent waiting for people's decisions
        waited = suspended_seconds(stored.steps)
        elapsed = max(0.0, stored.updated_at - stored.created_at - waited)
        started = self.clock.monotonic() - elapsed
        state = RunState(stored.id, stored.trace_id, principal, agent, model.name, started)
        rebuild(state, stored.steps)
        state.steps = list(stored.steps)
        state.header = dataclasses.replace(stored, steps=())
        return state

    def _catch_up(self, state: RunState, stored: Run, turn: TurnContext | None) -> None:
        """Record what a stopped run had not yet: its scope (a conversation's turn's with
        what the turn continues from), a new grant, its retrieval."""
        kinds = {s.kind for s in stored.steps}
        if StepKind.SCOPE not in kinds:
            messages = [Message.from_dict(m) for m in stored.input.get("messages", ())]
            self._record_scope(state, messages, self.clock.now(), turn)
        if self.access is not None and state.grant is None:
            specs = self.tools.specs(state.agent.tools)
            state.grant, events = self.access.resume_run(
                stored.id, state.principal, state.agent, specs, stored.steps
            )
            state.audit.extend(events)
            state.renewed = state.grant.facts()  # a replay re-makes the checks under it
        if StepKind.RETRIEVAL not in kinds:
            self._ground(state)

    def _unanswered_turn(self, stored: Run) -> TurnContext | None:
        """A conversation's turn that stopped before it answered its pending action."""
        from tether.conversations import ConversationStore

        return unanswered_turn(ConversationStore(self.store.engine), stored)

    def _held_history(self, state: RunState, steps: Sequence[Step]) -> None:
        """Put back, in a rebuilt turn's state, the history its scope step refers to: after
        the instructions and passages the run was given, before its own messages."""
        scope = next((s for s in steps if s.kind is StepKind.SCOPE), None)
        held = scope.data.get("conversation") if scope is not None else None
        if not isinstance(held, Mapping) or "history" not in held:
            return  # not a turn, or a turn recorded with its history copied in
        from tether.conversations import ConversationStore

        history, evidence = held_history(ConversationStore(self.store.engine), held)
        given = sum(len(s.data.get("prepend", ())) for s in steps)
        state.messages[given:given] = history
        state.evidence = {**evidence, **state.evidence}

    # -- 2. ground ------------------------------------------------------------------------

    def _ground(self, state: RunState) -> None:
        started = self.clock.now()
        user_text = [m.content for m in state.messages if m.role == "user"][-3:]
        query = " ".join(user_text)
        labels = set(self.labels(state.principal))
        found: list[Evidence] = []
        if self.retriever is not None and state.agent.grounding_sources:
            with self.shared_reads():  # the graph's expansion reads each entity once
                found = self.retriever.search(query, state.agent.retrieval_k, labels)
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
        if found.turn is None:
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

    def _answer(
        self,
        state: RunState,
        turn: ModelTurn,
        recorded: GuardResult | None = None,
        asks: bool = False,
    ) -> Decision | None:
        result = recorded
        if result is None:
            started = self.clock.now()
            with self.shared_reads(), reading() as book:
                result = run_answer_checks(self.answer_checks, self._context(state, started), turn)
            data = {**result.to_dict(), **kept_reads(book)}
            note = result.final.facts.get("revise") if not result.allowed else None
            revise = isinstance(note, str) and state.revisions == 0  # at most once per run
            if revise:
                data["revised"] = True
                data["messages"] = [
                    Message("assistant", turn.text).to_dict(),
                    Message("system", str(note)).to_dict(),
                ]
            self._record(state, StepKind.GUARD, "answer", data, started, defer=True)
            if revise:
                return None  # the model sees its failing claims and proposes again
        if not result.allowed:
            return answer_blocked(result)
        if asks or not self.assertive(turn.text):  # a greeting or a question asserts nothing
            return Decision(DecisionKind.CLARIFICATION, turn.text, turn.citations)
        kind = DecisionKind.ACTION if state.writes else DecisionKind.ANSWER
        return Decision(kind, turn.text, turn.citations, tuple(state.writes))

    def _tool_call(
        self,
        state: RunState,
        call: ToolCall,
        recorded: GuardResult | None = None,
        approval: Mapping[str, Any] | None = None,
    ) -> Decision | None:
        result = recorded
        if result is None:
            started = self.clock.now()
            checks = self.tool_checks
            if approval is not None and self.approvals is not None:
                checks = self.approvals.checks(checks, approval)
            with self.shared_reads(), reading() as book:
                result = run_tool_checks(checks, self._context(state, started), call)
            suspends = self._suspends(result)
            data: dict[str, Any] = {"call": call.to_dict(), **result.to_dict(), **kept_reads(book)}
            if approval is not None:
                data["approval_id"] = approval.get("approval_id")
            if self._needs_yes(state, call, result):
                self._record(state, StepKind.GUARD, call.name, data, started, defer=True)
                return self._await_confirmation(state, call, result)
            if not result.allowed and not suspends:
                observation = self._verdict_observation(result)
                data["messages"] = [Message("tool", observation, tool_call_id=call.id).to_dict()]
            # a verdict that suspends the run commits with the suspension step; one that lets
            # a read-only call go commits with the call's result (a read acts on nothing)
            reads = result.allowed and self._reads_only(call)
            self._record(state, StepKind.GUARD, call.name, data, started, defer=suspends or reads)
        if self._suspends(result):
            self._suspend(state, call, result)
            return None
        if self._needs_yes(state, call, result):
            return self._await_confirmation(state, call, result)
        if not result.allowed:
            return self._on_blocked(result)
        if state.confirmed is not None and state.confirmed.matches(call):
            state.confirmed = None  # a yes is good for one call
        return self._act(state, call, approval)

    def _reads_only(self, call: ToolCall) -> bool:
        tool = self.tools.get(call.name)
        return tool is not None and tool.spec.risk is RiskClass.READ

    # -- approvals ------------------------------------------------------------------------

    def _suspends(self, result: GuardResult) -> bool:
        return (
            self.approvals is not None
            and not result.allowed
            and self.approvals.suspends(result.final)
        )

    def _suspend(self, state: RunState, call: ToolCall, result: GuardResult) -> None:
        """Wait for a person: the request opens in the transaction that suspends the run."""
        assert self.approvals is not None and state.header is not None
        data, hook = self.approvals.open(state.header, call, result.final, state.seq + 1)
        self._record(
            state, StepKind.APPROVAL, "requested", data, status=RunStatus.SUSPENDED, also=hook
        )
        state.suspended = True

    def _decided(
        self, state: RunState, call: ToolCall, approval: Mapping[str, Any], later: list[Step]
    ) -> Decision | None:
        """Act on a person's decision about an escalated call: run it, or refuse."""
        status = approval.get("status")
        if status == "pending":
            state.suspended = True
            return None
        if status != "approved":  # rejected, or nobody decided in time
            reason = Reason(ErrorCode(approval["code"]), str(approval.get("message", "")))
            return Decision(DecisionKind.REFUSAL, str(approval.get("reply", "")), reason=reason)
        recheck = recorded_guard(take_step(later, StepKind.GUARD, call.id))
        return self._tool_call(state, call, recheck, approval)

    def _act(
        self, state: RunState, call: ToolCall, approval: Mapping[str, Any] | None = None
    ) -> Decision | None:
        tool = self.tools.get(call.name)
        assert tool is not None  # the schema check allowed it
        started = self.clock.now()
        if self.access is not None:  # the token is verified again at the moment of execution
            with self.shared_reads(), reading() as book:
                recheck = self.access.recheck(self._context(state, started), call)
            if not recheck.allowed:
                blocked = {
                    "call": call.to_dict(),
                    "stage": "execute",
                    **recheck.to_dict(),
                    **kept_reads(book),
                }
                self._record(state, StepKind.GUARD, call.name, blocked, started)
                return self._on_blocked(recheck)
        context = CallContext(
            state.run_id,
            state.turn_seq,
            state.principal.id,
            action=action_scope(state.run_id, call.id),  # the key follows the action, not the turn
            resolve=self._granted(state),
        )
        spend = None  # an approved call spends its single-use token as it starts
        if approval is not None and self.approvals is not None:
            spend = self.approvals.spend(self._context(state, started), call, approval)
        outcome = execute_once(self.executor, self._ledger, tool, call.arguments, context, spend)
        observation = outcome.observation()
        data: dict[str, Any] = {
            "call_id": call.id,
            "tool": call.name,
            "risk": tool.spec.risk.value,
            "arguments": dict(call.arguments),
            "ok": outcome.ok,
            "latency_ms": round(outcome.latency_ms, 3),
            "attempts": [dict(a) for a in outcome.attempts],
            **outcome.facts(),
        }
        if outcome.ok:
            data["evidence_id"] = observation["evidence_id"] = f"tool:{state.tool_results + 1}"
            data["output"] = outcome.output
        else:
            data["error"] = observation["error"]
        content = self.observation(marked_observation(tool.spec, observation))
        data["messages"] = [Message("tool", content, tool_call_id=call.id).to_dict()]
        # a read acted on nothing: its result commits with later steps (a resume reads again);
        # an approved call's single-use token was spent, so its result commits now
        reads = approval is None and tool.spec.risk is RiskClass.READ
        self._record(state, StepKind.TOOL, call.name, data, started, defer=reads)
        return self._consequence(tool, call, outcome)

    def _granted(self, state: RunState) -> Callable[[str], Tool | None]:
        """Fallback alternates are looked up among the tools this run's agent is granted."""
        granted = state.grant.tools if state.grant else state.agent.tools
        return lambda name: self.tools.get(name) if name in granted else None

    @staticmethod
    def _consequence(tool: Tool, call: ToolCall, outcome: ToolOutcome) -> Decision | None:
        """What a tool outcome means for the run: hand-off, escalation, or carry on."""
        if outcome.ok and tool.spec.handoff:
            summary = str(call.arguments.get("summary", ""))
            reason = Reason(ErrorCode.HANDOFF_REQUESTED, summary or "transferred to a human")
            text = "I've transferred you to a human agent who will pick this up."
            return Decision(DecisionKind.ESCALATION, text, reason=reason)
        human = outcome.code is not None and outcome.code.handler is Handler.HUMAN
        if not outcome.ok and outcome.code and (outcome.escalate or human):
            reason = Reason(outcome.code, outcome.message)
            return Decision(
                DecisionKind.ESCALATION, "I'm handing this to a colleague.", reason=reason
            )
        return None

    def _verdict_observation(self, result: GuardResult) -> str:
        reason = result.final.reasons[0]
        error = {"code": reason.code.value, "message": reason.message, "retryable": False}
        return self.observation({"ok": False, "error": error})

    _on_blocked = staticmethod(blocked)

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
