"""What a worker does with a run it is handed: execute it with its own model, and fold a
conversation's turn into its conversation once its run has ended."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from tether.approvals.service import ModelFactory, model_for
from tether.conversations.store import ConversationStore
from tether.conversations.turns import fold_turn, still_held, turn_of
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.runtime.loop import Runtime
from tether.runtime.pinned import RuntimeOf, pinned_runtime

WAITING = (RunStatus.QUEUED, RunStatus.RUNNING)
MOVED_ON = "the server (the turn's conversation moved on before it started)"


class RunExecutor:
    """A queue's handler: executes the run `run_id` to its Decision, with the script it was
    started with, else the configured model. A run that already ended, waits for a person, or
    is held by another live worker is left as it is (a duplicate delivery does nothing).

    A conversation's turn is executed only while its claim still holds the conversation (else
    it is cancelled before it starts), and is folded into the conversation once it ends or
    waits for a person. `on_run` is told of each run it executed, as the execution left it.

    With `runtime_of`, a run executes on the runtime of the release it recorded (a release
    that cannot be had ends it in a refusal naming why); without, on `runtime`."""

    def __init__(
        self,
        runtime: Runtime,
        models: ModelFactory | None,
        on_run: Callable[[Run], object] | None = None,
        runtime_of: RuntimeOf | None = None,
    ) -> None:
        self.runtime = runtime
        self.models = models
        self.conversations = ConversationStore(runtime.store.engine)
        self.on_run = on_run
        self.runtime_of = runtime_of

    def __call__(self, run_id: str) -> None:
        store = self.runtime.store
        try:
            stored = store.get_run(run_id, with_steps=False)
        except TetherError as exc:
            if exc.code is ErrorCode.RUN_NOT_FOUND:  # withdrawn when its hand-over failed
                return
            raise
        turn = turn_of(stored)
        queued = stored.status is RunStatus.QUEUED
        if turn is not None and queued and not still_held(self.conversations, turn):
            with contextlib.suppress(TetherError):  # ended meanwhile: nothing to stop
                self.runtime.cancel(run_id, MOVED_ON)
            return
        if stored.status in WAITING:
            runtime, refusal = pinned_runtime(self.runtime, self.runtime_of, stored.release)
            if refusal is None:
                run = runtime.execute(run_id, model_for(stored, self.models))
            else:
                run = runtime.conclude(run_id, refusal)
            if self.on_run is not None:
                self.on_run(run)
        if turn is not None:
            fold_turn(self.conversations, store.get_run(run_id), self.runtime.clock.now())
