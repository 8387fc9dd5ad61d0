"""Recovery: resume the runs no live process holds.

A process that dies mid-run (killed, out of memory, its machine gone) leaves its runs RUNNING
with a lease nobody renews. Every worker, and the embedded server, sweeps for such runs and
resumes each from its recorded steps with the run's own model (its script, else the
configured model; a model that cannot be built ends the run in an escalation naming why).
A conversation's turn so resumed is then recorded in its conversation, as its own process
would have; so is a turn whose run had ended (or come to wait for a person) when its process
died, before it recorded the turn: it still holds its conversation, which is how it is found.
Writes happen at most once across the two processes (see `tether.runtime.once`), and the lease
fences the stalled process out of the run's record. A run this process failed to recover (its
row unreadable, a fault while resuming) is held back for `HOLD_BACK_S` before it is tried
again, so runs that never recover cannot keep younger ones from the front of the sweep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tether.approvals.background import Background
from tether.approvals.service import ModelFactory, model_for
from tether.conversations import ConversationStore
from tether.conversations.turns import fold_turn
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.runtime.loop import Runtime
from tether.runtime.pinned import RuntimeOf, pinned_runtime
from tether.workers.queue import RunQueue

log = logging.getLogger("tether.workers")

HOLD_BACK_S = 600.0  # how long a run that failed to recover waits before it is tried again


class Recovery:
    """Sweeps for runs whose lease lapsed and resumes them, and for turns whose run ended
    unrecorded and folds them in, `batch` at a time; `on_run` is told of each run it resumed,
    as the resume left it. It takes only runs of the agents its runtime hosts: another pack
    sharing the store recovers its own. With `runtime_of`, a run resumes on the runtime of
    the release it recorded (one that cannot be had ends it in a refusal naming why)."""

    def __init__(
        self,
        runtime: Runtime,
        models: ModelFactory | None,
        queue: RunQueue | None = None,
        batch: int = 20,
        on_run: Callable[[Run], object] | None = None,
        runtime_of: RuntimeOf | None = None,
    ) -> None:
        self.runtime = runtime
        self.models = models
        self.queue = queue
        self.batch = batch
        self.on_run = on_run
        self.runtime_of = runtime_of
        self.conversations = ConversationStore(runtime.store.engine)
        self._background: Background | None = None
        self._held_back: dict[str, float] = {}  # run id -> when it may be tried again

    def sweep(self) -> list[Run]:
        """Resume every run found recoverable now; the runs as each resume left them."""
        keeper, leases = self.runtime.keeper, self.runtime.store.leases
        # another pack's runs on the same store are its desk's to recover, not ours to end
        hosted = tuple(self.runtime.agents)
        if self.queue is not None:  # queued runs a dead process's queue held go back on it
            for run_id in leases.stale_queued(time.time(), keeper.ttl_s, self.batch, hosted):
                try:
                    self.queue.enqueue(run_id)  # a run still waiting is not queued twice
                except TetherError as exc:
                    log.warning("could not queue run %s again: %s", run_id, exc.message)
                    break
        now = time.time()
        self._held_back = {r: at for r, at in self._held_back.items() if at > now}
        found = leases.recoverable(
            now, keeper.ttl_s, self.batch, skip=tuple(self._held_back), agents=hosted
        )
        resumed = []
        for run_id in found:
            try:
                run = self._recover(run_id)
            except Exception:  # one run that cannot be recovered keeps none of the others waiting
                log.exception("could not recover run %s", run_id)
                self._held_back[run_id] = time.time() + HOLD_BACK_S
                continue
            if run is not None:
                resumed.append(run)
                if self.on_run is not None:
                    self.on_run(run)
        self.fold_ended_turns()
        return resumed

    def _recover(self, run_id: str) -> Run | None:
        """Resume `run_id` if it is still RUNNING and nobody live holds it; the run as the
        resume left it, None when it was not ours to resume."""
        stored = self.runtime.store.get_run(run_id, with_steps=False)
        if stored.status is RunStatus.UNKNOWN:  # stored RUNNING, but its row cannot be read
            raise TetherError(ErrorCode.RUN_UNREADABLE, f"run {run_id} cannot be read to resume")
        if stored.status is not RunStatus.RUNNING:
            return None
        runtime, refusal = pinned_runtime(self.runtime, self.runtime_of, stored.release)
        if refusal is None:
            run = runtime.resume(run_id, model_for(stored, self.models), recovering=True)
        else:
            run = runtime.conclude(run_id, refusal, recovering=True)
        if run.status is RunStatus.RUNNING:  # another worker claimed it first
            return None
        log.info("recovered run %s: %s", run_id, run.status.value)
        try:
            fold_turn(self.conversations, self.runtime.store.get_run(run_id), time.time())
        except TetherError as exc:  # a step it cannot read: the turn waits, the run has ended
            log.warning("could not fold the turn of run %s: %s", run_id, exc.message)
        return run

    def fold_ended_turns(self) -> list[str]:
        """Fold into its conversation each turn whose run has ended but that still holds it,
        `batch` at a time; the runs this call folded in (a turn another party folds in
        meanwhile is not among them: the claim makes the fold happen once)."""
        folded = []
        for run_id in self.conversations.ended_turns(self.batch):
            try:
                run = self.runtime.store.get_run(run_id)
                if fold_turn(self.conversations, run, time.time()):
                    log.info("recovered turn of run %s into its conversation", run_id)
                    folded.append(run_id)
            except TetherError as exc:  # one turn that cannot be folded keeps none waiting
                log.warning("could not fold the turn of run %s: %s", run_id, exc.message)
        return folded

    def start(self, period_s: float | None = None) -> None:
        """Sweep now and then every `period_s` (default: half a lease's lifetime), on a daemon
        thread; a sweep that fails (the store is down) is logged and tried next time."""
        if self._background is None:
            period = period_s or self.runtime.keeper.ttl_s / 2
            self._background = Background("tether-recovery", [self.sweep], period)
            self._background.start()

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop()
            self._background = None
