"""What a worker does with a run it is handed: execute it with its own model."""

from __future__ import annotations

from tether.approvals.service import ModelFactory, model_for
from tether.core.types import RunStatus
from tether.runtime.loop import Runtime

WAITING = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunExecutor:
    """A queue's handler: executes the run `run_id` to its Decision, with the script it was
    started with, else the configured model. A run that already ended, waits for a person, or
    is held by another live worker is left as it is (a duplicate delivery does nothing)."""

    def __init__(self, runtime: Runtime, models: ModelFactory | None) -> None:
        self.runtime = runtime
        self.models = models

    def __call__(self, run_id: str) -> None:
        stored = self.runtime.store.get_run(run_id, with_steps=False)
        if stored.status in WAITING:
            self.runtime.execute(run_id, model_for(stored, self.models))
