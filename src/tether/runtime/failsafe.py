"""Fail closed: once a run exists, it ends in a recorded Decision whatever goes wrong.

A model adapter, a tool executor, an observer or the store may raise part-way through a run.
Steps not yet committed are dropped (they may hold what could not be written), the loop state
is rebuilt from the steps the store holds, and the run ends in an escalation naming the error.
If even that cannot be recorded (the store is down), the error propagates and the run stays
RUNNING with only whole transactions behind it, so `Runtime.resume` can finish it later.
A process that lost the run's lease (it stalled; another worker took the run over) records
nothing more: the run is returned as the store holds it, for its new holder to end.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Decision, DecisionKind, Principal, Reason, Run, RunStatus
from tether.runtime.state import RunState, rebuild
from tether.store.runs import RunStore

log = logging.getLogger("tether.runtime")

FAILED_TEXT = "Something went wrong on our side; I've passed this to a colleague."

# ends a run in `decision`; `route`: also hand an escalation to its approval queue
Conclude = Callable[[RunState, Decision, bool], Run]


def fail_closed(store: RunStore, state: RunState, body: Callable[[], Run], end: Conclude) -> Run:
    """`body()`, or, if it raises, the run ended in an escalation that names the error.

    The steps waiting to commit with a later one go with the Decision; if that fails too (they
    may be what the store refused, or routing the escalation, or revoking the run's capability
    may be), the Decision is recorded after the committed steps alone, unrouted, and the
    capability is left to lapse at its expiry."""
    try:
        return body()
    except Exception as exc:
        if _lost(exc):
            return _taken_over(store, state)
        if state.unsaved is not None and not _stored_now(store, state):
            raise  # its row could not be stored (its id is taken, the store is down): no run
        log.exception("run %s failed; ending it in an escalation", state.run_id)
        decision = failed_decision(exc)
        try:
            return _conclude(store, state, decision, end, keep=True)
        except Exception as again:
            if _lost(again):
                return _taken_over(store, state)
            log.exception("run %s: ending it after its committed steps alone", state.run_id)
            # nor does it revoke its capability, if that is what failed (a revocation list
            # that is down): the token lapses at its expiry, and the run still ends
            state.grant = None
            try:
                return _conclude(store, state, decision, end, keep=False)
            except TetherError as last:
                if _lost(last):
                    return _taken_over(store, state)
                raise


def _stored_now(store: RunStore, state: RunState) -> bool:
    """Insert the row of a run that failed before its first commit, as it was when the run
    began, so that it ends like any other; False if the store refuses it. A row this process
    did not insert (another run's, under the same id) is never touched."""
    assert state.unsaved is not None
    begun = RunState(
        state.run_id, state.trace_id, state.principal, state.agent, state.model_name, 0.0
    )
    try:
        store.create_run(state.unsaved.run, begun.checkpoint(), state.unsaved.lease)
    except Exception:
        log.exception("run %s: its row could not be stored", state.run_id)
        return False
    state.unsaved = None
    return True


def _lost(exc: BaseException) -> bool:
    return isinstance(exc, TetherError) and exc.code is ErrorCode.LEASE_LOST


def _taken_over(store: RunStore, state: RunState) -> Run:
    log.warning("run %s was taken over by another worker; this one stops", state.run_id)
    return store.get_run(state.run_id)


def _conclude(
    store: RunStore, state: RunState, decision: Decision, end: Conclude, keep: bool
) -> Run:
    stored = store.get_run(state.run_id)
    if stored.status is not RunStatus.RUNNING:  # it ended (or waits) before the error
        return stored
    return end(committed(state, stored, keep), decision, keep)


def failed_decision(exc: BaseException) -> Decision:
    """An escalation naming what failed: a TetherError's code and message, else INTERNAL and
    the exception's type (its message may hold internals; the log has it in full)."""
    if isinstance(exc, TetherError):
        reason = Reason(exc.code, exc.message[:500])
    else:
        reason = Reason(ErrorCode.INTERNAL, f"the run failed ({type(exc).__name__})")
    return Decision(DecisionKind.ESCALATION, FAILED_TEXT, reason=reason)


def committed(state: RunState, stored: Run, keep: bool = False) -> RunState:
    """The loop state as the store holds it, plus (`keep`) the steps that were waiting to
    commit with a later one; whatever else was applied but never committed is gone."""
    fresh = RunState(
        state.run_id,
        state.trace_id,
        state.principal,
        state.agent,
        state.model_name,
        state.started,
    )
    rebuild(fresh, stored.steps)
    fresh.steps = [s for s in state.steps if s.seq <= stored.step_count]
    fresh.header, fresh.grant, fresh.lease = state.header, state.grant, state.lease
    waiting = state.unwritten
    if keep and waiting and waiting[0].seq == stored.step_count + 1:
        for step in waiting:
            fresh.apply(step)
        fresh.steps.extend(waiting)
        fresh.unwritten = list(waiting)
        fresh.audit = list(state.audit)  # the audit events of those steps
    return fresh


def orphan_state(stored: Run, model_name: str) -> RunState:
    """The loop state of a stored run whose agent or principal no longer resolves, enough to
    record the Decision that ends it (as the principal and agent the run recorded, with no
    tools and no instructions)."""
    principal = Principal(stored.principal_id, str(stored.input.get("tenant") or "default"))
    agent = Agent(stored.agent, "", ())
    state = RunState(stored.id, stored.trace_id, principal, agent, model_name, 0.0)
    rebuild(state, stored.steps)
    state.steps = list(stored.steps)
    state.seq = max(state.seq, stored.step_count)  # its steps may be unread (one is damaged)
    state.header = dataclasses.replace(stored, steps=())
    return state
