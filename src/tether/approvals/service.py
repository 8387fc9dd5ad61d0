"""The approvals service: list and read requests, approve or reject one (exactly once), and
resume its run right away, in whichever process decides.

Deciding commits the decision as a step of the run and sets it running; the service then
resumes it with the run's own model: the script a scripted run was started with (kept in the
run's metadata), else the model configured for this process. An approved call runs first
(with a single-use token bound to the approved arguments), then the model continues; a
rejected or expired request ends the run in a refusal. If the deciding process stops before
the run ends, `resume` (or `Runtime.resume`) in any process finishes it, exactly once. A run
of an agent this desk does not host (another pack on the same store) is decided here but left
for its own desk's recovery sweep to continue.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from tether.access.audit import AuditLog
from tether.access.tokens import CapabilityTokens
from tether.approvals.background import Background, Every
from tether.approvals.gate import DurableApprovals
from tether.approvals.notices import NoticeDispatcher, NoticeOutbox
from tether.approvals.requests import Approval, ApprovalStatus, Approver
from tether.approvals.routing import EscalationConfig, escalations_from_env
from tether.approvals.store import ApprovalStore
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.observers import notify_steps
from tether.core.types import ModelTurn, Run, RunStatus, StepKind
from tether.models.base import ModelAdapter, ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.loop import Runtime
from tether.runtime.pinned import RuntimeOf, pinned_runtime

log = logging.getLogger("tether.approvals")

ModelFactory = Callable[[], ModelAdapter]
DecidedHook = Callable[[float, str], None]  # (seconds waited, outcome), e.g. for a histogram


@dataclass(frozen=True)
class Decided:
    """A decided request and its run as the decision left it (usually ended)."""

    approval: Approval
    run: Run

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        return {"approval": self.approval.to_dict(now), "run": self.run.to_dict()}


class UnavailableModel:
    """Stands in when no model can continue a run: its first proposal fails with the reason,
    so the run still ends (in an escalation) after the approved call ran."""

    def __init__(self, error: TetherError) -> None:
        self.error = error

    @property
    def name(self) -> str:
        return "unavailable"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise self.error


def script_of(run: Run) -> builtins.list[dict[str, Any]] | None:
    """The scripted turns a run was started with, when it was kept in its metadata."""
    metadata = run.input.get("metadata") or {}
    script = metadata.get("script") if isinstance(metadata, Mapping) else None
    return script if isinstance(script, list) else None


def model_for(run: Run, configured: ModelFactory | None) -> ModelAdapter:
    """The model that continues `run`: its own script, else the configured model."""
    script = script_of(run)
    try:
        if script is not None:
            return ScriptedModel(parse_script(script, f"the script of run {run.id}"))
        if configured is None:
            raise TetherError(ErrorCode.MODEL_NOT_CONFIGURED, "no model is configured")
        return configured()
    except TetherError as exc:
        return UnavailableModel(exc)


class ApprovalService:
    """Approval requests for operators (API, CLI, dashboard): list, get, approve, reject."""

    def __init__(
        self,
        store: ApprovalStore,
        gate: DurableApprovals,
        runtime: Callable[[], Runtime],
        models: ModelFactory | None = None,
        dispatcher: NoticeDispatcher | None = None,
        on_decided: DecidedHook | None = None,
    ) -> None:
        self.store = store
        self.gate = gate
        self._runtime = runtime
        self.models = models
        self.dispatcher = dispatcher
        self.on_decided = on_decided
        # where a decided run goes to continue: a worker's queue (the server), else here
        self.enqueue: Callable[[str], None] | None = None
        # the runtime of a release, so that a decided run continues under the release it
        # recorded (see `tether.runtime.pinned`); None: `runtime()` continues every run
        self.runtime_of: RuntimeOf | None = None
        self._background: Background | None = None

    @classmethod
    def open(
        cls,
        engine: Engine,
        audit: AuditLog,
        tokens: CapabilityTokens,
        runtime: Callable[[], Runtime],
        config: EscalationConfig | None = None,
        models: ModelFactory | None = None,
        clock: Clock | None = None,
        on_decided: DecidedHook | None = None,
    ) -> ApprovalService:
        """Wire the service over a store; `runtime()` is the runtime that resumes runs (its
        `approvals` must be this service's `gate`). `config` defaults to the environment."""
        config = config if config is not None else escalations_from_env()
        clock = clock or SystemClock()
        outbox = NoticeOutbox(engine, config, clock)
        store = ApprovalStore(engine, audit, outbox, config, clock)

        def risk_of(tool: str) -> str:
            found = runtime().tools.get(tool)
            return found.spec.risk.value if found is not None else ""

        gate = DurableApprovals(store, tokens, risk_of, clock)
        has_webhooks = any(q.webhook for q in config.queues.values())
        dispatcher = NoticeDispatcher(outbox) if has_webhooks else None
        return cls(store, gate, runtime, models, dispatcher, on_decided)

    def run_now(self, run_id: str) -> Run:
        """A decided request's run as the store holds it now (a worker may be continuing it)."""
        return self._runtime().store.get_run(run_id, with_steps=False)

    @property
    def clock(self) -> Clock:
        return self.store.clock

    # -- reads --------------------------------------------------------------------------

    def list(
        self,
        status: ApprovalStatus | None = ApprovalStatus.PENDING,
        queue: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Approval]:
        """Requests with `status` (None: all), after ending those past their expiry."""
        self.expire_due()
        return self.store.list(status, queue, run_id, limit, offset)

    def count(
        self,
        status: ApprovalStatus | None = ApprovalStatus.PENDING,
        queue: str | None = None,
        run_id: str | None = None,
    ) -> int:
        return self.store.count(status, queue, run_id)

    def get(self, approval_id: str) -> Approval:
        """One request; APPROVAL_NOT_FOUND if there is none."""
        approval = self.store.get(approval_id)
        if approval.status is ApprovalStatus.PENDING and not approval.is_open(self.clock.now()):
            self._expire(approval_id)
            approval = self.store.get(approval_id)
        return approval

    # -- decisions ----------------------------------------------------------------------

    def approve(
        self,
        approval_id: str,
        approver: Approver,
        note: str = "",
        argument_hash: str | None = None,
        model: ModelAdapter | None = None,
    ) -> Decided:
        """Approve, then run the approved call and let the model continue."""
        return self.decide(approval_id, True, approver, note, argument_hash, model)

    def reject(
        self,
        approval_id: str,
        approver: Approver,
        note: str = "",
        model: ModelAdapter | None = None,
    ) -> Decided:
        """Reject; the run ends in a refusal."""
        return self.decide(approval_id, False, approver, note, None, model)

    def refused(self, approval_id: str, approver: Approver, error: TetherError) -> None:
        """Audit an attempt to decide that the caller refused before it got here (a key whose
        role may decide nothing), as a refusal by the store is audited."""
        self.store.audit_refusal(approval_id, approver, error)

    def decide(
        self,
        approval_id: str,
        approve: bool,
        approver: Approver,
        note: str = "",
        argument_hash: str | None = None,
        model: ModelAdapter | None = None,
    ) -> Decided:
        """Decide a request exactly once and resume its run (see `ApprovalStore.decide` for the
        codes); `model` overrides the model that continues the run."""
        try:
            approval = self.store.decide(approval_id, approve, approver, note, argument_hash)
        except TetherError as exc:
            if exc.code is ErrorCode.APPROVAL_EXPIRED:
                self._expire(approval_id)  # it ends now, in a refusal, whoever notices first
            raise
        self._decided(approval)
        return Decided(approval, self._continue(approval, model))

    def expire_due(self) -> builtins.list[Decided]:
        """End every request past its expiry: each run ends in a refusal."""
        ended = []
        for approval_id in self.store.overdue():
            decided = self._expire(approval_id)
            if decided is not None:
                ended.append(decided)
        return ended

    def resume(self, approval_id: str, model: ModelAdapter | None = None) -> Run:
        """Finish the run of a decided request that a stopped process left running."""
        approval = self.store.get(approval_id)
        if approval.status is ApprovalStatus.PENDING:
            raise TetherError(
                ErrorCode.BAD_REQUEST, f"approval {approval_id} is still waiting for a decision"
            )
        return self._continue(approval, model)

    def wait_for_notices(self) -> int:
        """Make one delivery attempt at each due notice now (for short-lived processes)."""
        return self.dispatcher.deliver_due() if self.dispatcher is not None else 0

    # -- internals ----------------------------------------------------------------------

    def _expire(self, approval_id: str) -> Decided | None:
        approval = self.store.expire(approval_id)
        if approval is None:
            return None
        self._decided(approval)
        return Decided(approval, self._continue(approval, None))

    def _decided(self, approval: Approval) -> None:
        if self.on_decided is not None and approval.decided_at is not None:
            self.on_decided(approval.decided_at - approval.created_at, approval.status.value)
        self._observe_decision(approval)

    def _observe_decision(self, approval: Approval) -> None:
        """The decision step the store wrote goes to the runtime's observers (metrics, traces,
        KPIs), like every step the runtime writes itself."""
        runtime = self._runtime()
        if not runtime.observers:
            return
        run = runtime.store.get_run(approval.run_id)
        decided = [s for s in run.steps if s.kind is StepKind.APPROVAL and s.name != "requested"]
        if decided:
            notify_steps(runtime.observers, dataclasses.replace(run, steps=()), decided[-1:])

    def _continue(self, approval: Approval, model: ModelAdapter | None) -> Run:
        runtime = self._runtime()
        stored = runtime.store.get_run(approval.run_id, with_steps=False)
        if stored.status is not RunStatus.RUNNING:
            return runtime.store.get_run(approval.run_id)
        if stored.agent not in runtime.agents:  # another pack's run: its desk's sweep resumes it
            log.info("run %s: agent %s is another desk's to resume", stored.id, stored.agent)
            return runtime.store.get_run(approval.run_id)
        if self.enqueue is not None and model is None:
            try:  # a worker continues it; the decision is durable already
                self.enqueue(approval.run_id)
            except TetherError as exc:  # the recovery sweep continues it instead
                log.warning("run %s: not queued (%s)", approval.run_id, exc.message)
            self.wake()
            return runtime.store.get_run(approval.run_id)
        pinned, refusal = pinned_runtime(runtime, self.runtime_of, stored.release)
        if refusal is not None:
            return pinned.conclude(approval.run_id, refusal)
        adapter = model or model_for(stored, self.models)
        run = pinned.resume(approval.run_id, adapter)
        self.wake()  # the decision (and a routed escalation) may have queued notices
        return run

    # -- background work ----------------------------------------------------------------

    def start(self, poll_s: float = 1.0, sweep_s: float = 30.0) -> None:
        """Work off the request path, on one daemon thread: deliver due notices every
        `poll_s` seconds (when a queue has a webhook), end expired requests every `sweep_s`
        seconds, and sign the audit chain's head when events arrived since its last
        checkpoint, every checkpoint interval."""
        if self._background is not None:
            return
        jobs: list[Callable[[], object]] = [Every(sweep_s, self.expire_due)]
        audit = self.store.audit  # the unsigned tail of the audit chain closes on a timer too
        jobs.append(Every(audit.checkpoint_interval_s, audit.checkpoint_if_behind))
        if self.dispatcher is not None:
            jobs.insert(0, self.dispatcher.deliver_all)
        self._background = Background("tether-approvals", jobs, poll_s)
        self._background.start()

    def wake(self) -> None:
        """Deliver new notices now rather than at the next poll."""
        if self._background is not None:
            self._background.wake()

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop()
            self._background = None
