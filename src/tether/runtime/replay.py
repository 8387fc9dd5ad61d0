"""Deterministic replay: a recorded run's decisions re-made from what it recorded.

Replay never calls the model, never calls a tool and never reads live state. It walks the run's
steps in order and rebuilds the loop's state from them (as a resume does); at each guard step it
runs the runtime's check chain again on the proposal the step recorded, in the context the run
had at that point (its messages, its evidence, the user's confirmation), with every read a check
makes served from the reads the step recorded (`tether.core.reads`); a check that reads anything
else fails with REPLAY_READ_MISSING. What the checks took from the clock and the access layer is
the record's too: they decide at the step's recorded instant (`GuardContext.now`), under the
recorded capability token (its id, issue time and expiry, re-signed; its revocation state a
recorded read), for the principal the scope step recorded (attributes and rights included,
never looked up again). At the end it derives the run's Decision again from the re-made
verdicts and the recorded model turns and tool outcomes, with the loop's own functions.

Each guard step must check a call the model turn before it proposed (or the call the user
confirmed), exactly as proposed; a confirmation's answer is made again from the turn's reply
(the customer's message read again by the runtime's consent reader), and a confirmed action
runs exactly its pending action's call.

The run is identical when every verdict (check, effect, reason codes, facts other than timings)
and the Decision (kind, reason code, text) come out as recorded. A difference names the first
step where it appears.

What replay cannot re-make, it says so (`not_replayed`): the single-use token of an approved
call (spent when the call ran), and Decisions that come from outside the recorded proposals (a
limit reached, a cancellation, a failure, a confirmation asked of the user); those Decisions
are compared with the record's own account of them. A person's rejection is re-made from the
approval step, and an approval must be followed by its call's check. A run recorded
before the scope step kept the principal's rights is checked now, under a fresh token and the
rights configured now, with token ids set aside (and a token refused at execution for its state
then is not re-made).

What replay takes from the record is read in `tether.runtime.replay_record`, the walk through
the steps is `tether.runtime.replay_walk`, what it reports is built in
`tether.runtime.replay_report`, and `tether.runtime.counterfactual` re-checks runs under
another configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus, Step, StepKind
from tether.runtime.counterfactual import counterfactual, first_change, unreplayable
from tether.runtime.loop import Runtime
from tether.runtime.replay_record import _headers, _principal, _recorded_rights
from tether.runtime.replay_report import (
    ReplayReport,
    _diff,
    comparable,
    first_difference,
    replay_runs,
)
from tether.runtime.replay_walk import APPROVED_TOKEN_CHECK, ReplayWalkMixin, _Walk
from tether.runtime.state import RunState

# the names replay's users import from here; the walk, report and counterfactual live apart
__all__ = [
    "APPROVED_TOKEN_CHECK",
    "ReplayReport",
    "Replayer",
    "comparable",
    "counterfactual",
    "first_change",
    "first_difference",
    "replay_runs",
    "unreplayable",
]


class Replayer(ReplayWalkMixin):
    """Replays recorded runs through `runtime`'s checks: a candidate's for a counterfactual
    replay; for a deterministic one, each run's own release's, which `runtime_of` gives by
    release id when runs may have executed under several."""

    def __init__(
        self, runtime: Runtime, runtime_of: Callable[[str], Runtime] | None = None
    ) -> None:
        self.runtime = runtime
        self._runtime_of = runtime_of

    def replay(self, run: Run) -> ReplayReport:
        """The report of one run; RUN_NOT_REPLAYABLE for a run still running or one without
        a scope step or with a status this version does not know (and whatever `runtime_of`
        raises for a release it cannot build)."""
        if run.status is RunStatus.UNKNOWN:  # nothing says how far it got, or how it ended
            raise TetherError(
                ErrorCode.RUN_NOT_REPLAYABLE,
                f"run {run.id} is stored with a status this version does not know",
            )
        if self._runtime_of is not None:
            return Replayer(self._runtime_of(run.release)).replay(run)
        if run.status is RunStatus.RUNNING:
            raise TetherError(ErrorCode.RUN_NOT_REPLAYABLE, f"run {run.id} has not ended yet")
        scope = next((s for s in run.steps if s.kind is StepKind.SCOPE), None)
        if scope is None:
            raise TetherError(ErrorCode.RUN_NOT_REPLAYABLE, f"run {run.id} recorded no scope step")
        report = ReplayReport(run.id, run.release, steps=len(run.steps))
        _headers(run, scope, report)
        agent = self.runtime.agents.get(run.agent)
        if agent is None:
            report.diffs.append(_diff(scope, "agent", run.agent, None))
            return report
        state = RunState(
            run.id, run.trace_id, _principal(scope), agent, str(scope.data.get("model")), 0.0
        )
        rights = _recorded_rights(scope)
        walk = _Walk(state, report, rights, exact=rights is not None)
        self._grant(walk, scope)
        for step in run.steps:
            try:
                if step is scope:
                    self._history(state, scope)
                elif "capability" in step.data:  # the grant re-minted when the run resumed
                    self._grant(walk, step)
                self._step(walk, step)
                state.apply(step)
            except Exception as exc:  # a record that does not read back: never identical
                problem = exc.message if isinstance(exc, TetherError) else str(exc)
                report.diffs.append(_diff(step, "record", None, f"{type(exc).__name__}: {problem}"))
                break
            state.steps.append(step)
        self._ending(run, report)
        self._listed(run, scope, report)
        report.derived = walk.derived
        return report

    def _listed(self, run: Run, scope: Step, report: ReplayReport) -> None:
        """The row's decision columns (what listings, rollout arms and KPIs count) are its
        Decision's."""
        decision = run.decision
        held = None
        if decision is not None:
            code = decision.reason.code.value if decision.reason else None
            held = " ".join(v for v in (decision.kind.value, code) if v)
        listed = self.runtime.store.listed_decision(run.id)
        if listed != held:
            where = run.steps[-1] if run.steps else scope
            report.diffs.append(_diff(where, "run.decision_kind", listed, held))

    @staticmethod
    def _ending(run: Run, report: ReplayReport) -> None:
        """A run that ended holds its Decision twice, in its last step and in its row: both
        there, and the same."""
        last = run.steps[-1] if run.steps else None
        stepped = last.data.get("decision") if last and last.kind is StepKind.DECISION else None
        if run.decision is None and stepped is None:
            report.decision = "none"
            if run.status is RunStatus.COMPLETED:
                where = last or Step(run.id, 0, StepKind.DECISION, "", 0.0, 0.0, {})
                report.diffs.append(_diff(where, "decision", "a decision step", None))
            return
        row = run.decision.to_dict() if run.decision is not None else None
        found = first_difference(comparable(stepped), comparable(row), "run.decision")
        if found is not None and last is not None:
            report.diffs.append(_diff(last, *found))
