"""Runs off the caller's thread: accept a run now, execute it on a worker, cancel it.

`submit` records a QUEUED run (its input validated, nothing else done) for a worker to
`execute`; executing claims the run's lease, which turns it RUNNING, and continues it exactly
as a resume does, from nothing recorded yet. `cancel` ends a QUEUED run at once; a RUNNING one
is marked, and its holder ends it before its next model turn, starting no write it has not
started yet (an approved call waiting for a worker included); the holder learns of it with
its next commit (a write's verdict commits before the write), or by one read before a turn
whose earlier steps still wait to commit. A run waiting for a person's decision is left to
the approval, whose reject ends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, ModelTurn, Reason, Run, RunStatus
from tether.models.base import ModelRequest
from tether.runtime.failsafe import orphan_state

if TYPE_CHECKING:
    from tether.models.base import ModelAdapter
    from tether.runtime.leases import LeaseKeeper
    from tether.runtime.seams import RunRequest
    from tether.runtime.state import RunState
    from tether.store.leases import Lease
    from tether.store.runs import RunStore

CANCELLED_TEXT = "This request was cancelled before it was finished."
CANCELLED_AFTER_WRITES_TEXT = (
    "This request was cancelled after it had made the changes listed; nothing more was done."
)


def cancelled(actor: str, writes: Sequence[Mapping[str, Any]] = ()) -> Decision:
    """The refusal coded RUN_CANCELLED that ends a cancelled run, listing the writes it had
    already made in `results` (never hidden, and never counted as a resolution)."""
    reason = Reason(ErrorCode.RUN_CANCELLED, f"cancelled by {actor}"[:500])
    text = CANCELLED_AFTER_WRITES_TEXT if writes else CANCELLED_TEXT
    return Decision(DecisionKind.REFUSAL, text, reason=reason, results=tuple(writes))


class RunControlMixin:
    """Queued runs and cancellation, for `Runtime` (which provides what is declared)."""

    if TYPE_CHECKING:
        store: RunStore

        @property
        def keeper(self) -> LeaseKeeper: ...

        def _scope(
            self,
            request: RunRequest,
            model_name: str,
            lease: Lease | None,
            status: RunStatus = RunStatus.RUNNING,
        ) -> RunState: ...

        def resume(self, run_id: str, model: ModelAdapter, recovering: bool = False) -> Run: ...

        def _end(self, state: RunState, decision: Decision, route: bool = True) -> Run: ...

    def submit(self, request: RunRequest) -> Run:
        """Accept a run to execute later: its agent, principal and messages are checked, and
        it is stored QUEUED, holding no lease, for a worker's `execute`. A conversation's turn
        is submitted by its conversation (`Conversations.submit_claimed`), whose claim keeps
        what the turn continues from unchanged until the worker reads it from the store."""
        if request.conversation is not None and "claim" not in request.metadata:
            raise TetherError(
                ErrorCode.BAD_REQUEST, "a conversation's turn runs through its conversation"
            )
        state = self._scope(request, "", None, RunStatus.QUEUED)
        assert state.header is not None
        return state.header

    def execute(self, run_id: str, model: ModelAdapter) -> Run:
        """Execute a QUEUED run to its Decision (or its wait for a person). A run another live
        worker holds, or one that already ended, is returned as stored."""
        return self.resume(run_id, model)

    def cancel(self, run_id: str, actor: str) -> Run:
        """Cancel a run: a QUEUED one (or one whose worker died) ends now in a refusal coded
        RUN_CANCELLED; a RUNNING one ends so before its next model turn. RUN_ENDED if it has
        already ended; APPROVAL_PENDING if it waits for a person (reject the approval);
        RUN_STATUS_UNKNOWN if it is stored with a status this version does not know."""
        stored = self.store.get_run(run_id, with_steps=False)
        if stored.status is RunStatus.UNKNOWN:  # how far it got is not known: left as it is
            raise TetherError(
                ErrorCode.RUN_STATUS_UNKNOWN,
                f"run {run_id} has a status this version does not know",
            )
        if stored.status is RunStatus.COMPLETED:
            raise TetherError(ErrorCode.RUN_ENDED, f"run {run_id} has already ended")
        if stored.status is RunStatus.SUSPENDED:
            raise TetherError(
                ErrorCode.APPROVAL_PENDING,
                f"run {run_id} waits for a person's decision; reject its approval to end it",
            )
        if not self.store.leases.request_cancel(run_id, actor):
            raise TetherError(ErrorCode.RUN_ENDED, f"run {run_id} has already ended")
        if stored.status is RunStatus.RUNNING:
            # a live holder ends it before its next turn; if its worker died, this resume
            # (which records the open turn as a resume does) ends it now
            return self.resume(run_id, _NoModel(), recovering=True)
        # QUEUED: it becomes ours; if a worker started it just now, it ends it before its
        # next turn
        return self.conclude(run_id, cancelled(actor))

    def conclude(self, run_id: str, decision: Decision, recovering: bool = False) -> Run:
        """End a run now in `decision`, executing nothing more of it (its release cannot be
        had, say): a QUEUED run, or a RUNNING one nobody live holds (`recovering`: a sweep's,
        as for `resume`). A run another live process holds, one that waits for a person, or
        one that already ended, is returned as stored."""
        lease = self.keeper.claim(run_id, recovering)
        if lease is None:
            return self.store.get_run(run_id)
        with self.keeper.holding(run_id, lease):
            state = orphan_state(self.store.get_run(run_id), "")
            state.lease = lease.owner
            return self._end(state, decision, False)


class _NoModel:
    """The model of a resume that only ends a cancelled run (it is never asked)."""

    name = "none"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise TetherError(ErrorCode.RUN_CANCELLED, "the run was cancelled")
