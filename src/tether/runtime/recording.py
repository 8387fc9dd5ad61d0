"""Recording steps: each is appended to the run's state, and committed with the steps that wait
for it, the run's checkpoint and their audit events in one transaction.

A step that nothing outside the run acts on (a retrieval, a model turn, a read and its
verdict) waits to commit with a later one; a step that comes before an effect (a write's
verdict), ends the run or suspends it commits at once, with everything waiting. The steps of
finished model turns go no later than the next turn once `batch_window_s` has passed since the
last commit: a run that goes fast (a scripted or cached model) commits its read-only turns in
one transaction, a slow one (a real model) each turn as it comes. A process that dies loses at
most the waiting steps; they acted on nothing, so a resume simply does them again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.core.observers import RunObserver, notify_steps
from tether.core.types import Decision, RunStatus, Step, StepKind
from tether.runtime.inputs import check_recordable
from tether.runtime.seams import CommitHook, chained
from tether.store.leases import CANCEL_POLL_S, cancels_asked
from tether.store.run_rows import step_name

if TYPE_CHECKING:
    from tether.access.governor import RunGovernor
    from tether.core.clock import Clock
    from tether.runtime.state import RunState
    from tether.store.runs import RunStore

# how long steps that acted on nothing may wait for a later commit, by default
BATCH_WINDOW_S = 0.5


class StepRecorderMixin:
    """Appending and committing steps, for `Runtime` (which provides what is declared)."""

    if TYPE_CHECKING:
        store: RunStore
        clock: Clock
        access: RunGovernor | None
        observers: Sequence[RunObserver]
        batch_window_s: float

    def _record(
        self,
        state: RunState,
        kind: StepKind,
        name: str,
        data: Mapping[str, Any],
        started: float | None = None,
        decision: Decision | None = None,
        defer: bool = False,
        status: RunStatus | None = None,
        also: CommitHook | None = None,
    ) -> None:
        """Append a step. A deferred step (one with no side effect after it) is committed with
        a later one; every step is durable before anything outside the run acts on it."""
        ended = self.clock.now()
        payload = dict(data)
        if state.renewed is not None:  # the first step under a grant re-minted on resume
            payload["capability"] = state.renewed
        if decision is not None:
            payload["decision"] = decision.to_dict()
        text = check_recordable(name, payload)  # raises before anything about it is kept
        state.renewed = None
        step = Step(
            state.run_id, state.seq + 1, kind, step_name(name), started or ended, ended, payload
        )
        state.apply(step)
        state.steps.append(step)
        state.unwritten.append(step)
        state.texts[step.seq] = text  # serialised once: the check's text is what is stored
        if self.access is not None:
            state.audit.extend(self.access.observe(step, state.principal, state.grant))
        if not defer:
            self._commit(state, decision, status, also)

    def _commit_due(self, state: RunState) -> None:
        """Before the next model turn: commit the waiting steps of finished turns if the last
        commit is older than the batch window (on the process's clock: when to commit is not
        part of the record); else read what that commit would have told, whether someone asked
        to cancel the run, so a cancellation still ends it before its next turn. The read is
        skipped while nobody in this process has asked to cancel a run since the last one and
        it is less than CANCEL_POLL_S old: a cancellation asked in another process then ends
        the run at its first turn after that."""
        if not state.unwritten:
            return  # the last commit read it
        if time.monotonic() - state.committed_at >= self.batch_window_s:
            self._commit(state)
            return
        self._look_for_cancel(state)

    def _look_for_cancel(self, state: RunState) -> None:
        """Read whether someone asked to cancel the run, unless nobody in this process has
        asked to cancel a run since the last look and it is less than CANCEL_POLL_S old."""
        asked, now = cancels_asked(), time.monotonic()
        if asked != state.cancels_seen or now - state.cancel_looked_at >= CANCEL_POLL_S:
            state.cancels_seen, state.cancel_looked_at = asked, now
            state.cancel = self.store.leases.cancel_requested(state.run_id)

    def _commit(
        self,
        state: RunState,
        decision: Decision | None = None,
        status: RunStatus | None = None,
        also: CommitHook | None = None,
    ) -> None:
        """Commit the waiting steps, the checkpoint after them and their audit events."""
        hook = None
        if self.access is not None:  # audit events commit in the steps' transaction
            # a run that ends or waits for a person holds no live capability
            closing = decision is not None or status is RunStatus.SUSPENDED
            hook = self.access.commit_hook(state.audit, state.grant if closing else None)
        state.cancels_seen, state.cancel_looked_at = cancels_asked(), time.monotonic()
        state.cancel = self.store.append_steps(
            state.unwritten,
            state.checkpoint(),
            decision=decision,
            status=status,
            # the audit chain's head is locked last: held for its own rows and the commit
            hook=chained(also, hook),
            lease=state.lease,
            texts=state.texts,
            create=state.unsaved,
        )
        state.unsaved = None
        state.committed_at = time.monotonic()
        state.audit.clear()
        state.texts.clear()
        if self.observers and state.header is not None:
            notify_steps(self.observers, state.header, state.unwritten)
        state.unwritten.clear()
