"""Step 1 of the run loop, scope: the state a run starts from, for `Runtime`.

A new run's state is made from its request and recorded in its scope step (who it acts for,
with which rights and tools, under which grant); a stopped run's is rebuilt from the steps it
recorded, and what it had not recorded yet is caught up before it goes on. Kept apart from the
loop that drives a run (`tether.runtime.loop`), which only asks for the state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Message, Run, RunStatus, StepKind
from tether.runtime.history import held_history, seed_history, unanswered_turn
from tether.runtime.inputs import check_messages
from tether.runtime.recording import StepRecorderMixin
from tether.runtime.seams import Reply
from tether.runtime.state import RunState, rebuild, suspended_seconds, work_started
from tether.store.run_rows import NewRun

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tether.core.clock import IdSource
    from tether.core.types import Agent, Principal, Step
    from tether.models.base import ModelAdapter
    from tether.runtime.inputs import InputLimits
    from tether.runtime.seams import PrincipalDirectory, RunRequest, TurnContext
    from tether.store.leases import Lease
    from tether.tools.registry import ToolRegistry


class RunScopeMixin(StepRecorderMixin):
    """A run's scope and a stopped run's rebuilt state, for `Runtime` (which provides what is
    declared)."""

    if TYPE_CHECKING:
        agents: Mapping[str, Agent]
        tools: ToolRegistry
        principals: PrincipalDirectory
        ids: IdSource
        input_limits: InputLimits
        default_agent: str
        domain: Mapping[str, str]
        release: Callable[[], str] | None

        def _ground(self, state: RunState) -> None: ...

    def _scope(
        self,
        request: RunRequest,
        model_name: str,
        lease: Lease | None,
        status: RunStatus = RunStatus.RUNNING,
        insert: bool = True,
    ) -> RunState:
        """The state of a new run. Its row is inserted now, or (`insert=False`) in the
        transaction that commits its scope step, the first one recorded; under the request's
        quota, if it has one (QUOTA_EXCEEDED, with nothing stored, when over it)."""
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
            self.store.create_run(run, state.checkpoint(), lease, request.quota)
        else:
            state.unsaved = NewRun(run, lease, request.quota)
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
        # the time limit carries over, except the time spent on the queue before a worker
        # began it and the time spent waiting for people's decisions
        began = work_started(stored.steps)
        waited = suspended_seconds(stored.steps)
        elapsed = 0.0 if began is None else max(0.0, stored.updated_at - began - waited)
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
