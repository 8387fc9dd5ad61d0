"""What a new run must pass before and as it is stored, and its hand-over to the run queue:
shared by `POST /v1/runs` and a conversation's turn, since both put a run on the same queue."""

from __future__ import annotations

from collections.abc import Callable

from tether.core.errors import ErrorCode, TetherError
from tether.server.quotas import RunQuotas
from tether.store.runs import RunStore
from tether.workers.queue import RunQueue


class Admission:
    """Room on the queue, checked before a run is stored; the quotas (per principal, per
    operator key), which the store holds as it stores the run (`RunRequest.quota`); then the
    stored run onto the queue, which holds its bound as it takes the run."""

    def __init__(self, store: RunStore, queue: RunQueue, quotas: RunQuotas) -> None:
        self.store = store
        self.queue = queue
        self.quotas = quotas

    def check(self) -> None:
        """QUEUE_FULL when the queue is full: a run refused before anything is written. The
        queue decides again as it takes the run (`enqueue`), since others may fill it
        meanwhile."""
        if self.queue.depth() >= self.queue.max_depth:
            raise TetherError(ErrorCode.QUEUE_FULL, "the run queue is full; retry shortly")

    def enqueue(self, run_id: str, withdraw: Callable[[str], object]) -> None:
        """Put the stored run on the queue; if the queue refuses it (it filled up meanwhile, or
        is down), `withdraw(actor)` ends the run so it does not stay queued, and the error is
        raised."""
        try:
            self.queue.enqueue(run_id)
        except TetherError:
            withdraw(f"the server ({self.queue.kind} queue refused it)")
            raise
