"""What a replay takes from the record instead of from live state.

Who the run acted for and with which rights, the token it held, the reads its checks made, a
person's refusal, and whether the run's row and the steps' headers agree with the steps: each
read from what the run recorded, never looked up again. Kept apart from the walk through the
steps (`tether.runtime.replay`), which uses them step by step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tether.access.tokens import TOKEN_STATUS
from tether.core.errors import ErrorCode, TetherError
from tether.core.reads import reading
from tether.core.types import (
    Decision,
    DecisionKind,
    Principal,
    Reason,
    Run,
    RunStatus,
    Step,
    StepKind,
)
from tether.runtime.replay_report import ReplayReport, _diff
from tether.runtime.state import RunState
from tether.store.run_rows import step_name

# a record whose headers disagree with it (`_headers`): a step taken out, a row or name forged
_HEADER_PATHS = (
    "seq",
    "run.step_count",
    "run.principal",
    "run.release",
    "run.status",
    "name",
    "run.decision_kind",
    "kind",
)


_TOKEN_STATE = frozenset(
    {ErrorCode.TOKEN_EXPIRED.value, ErrorCode.TOKEN_REVOKED.value, ErrorCode.TOKEN_REPLAYED.value}
)


def _token_state(step: Step) -> bool:
    """A block at execution that came from the token's state then (revoked, expired, used),
    which a replay with a token of its own cannot re-make."""
    verdicts = step.data.get("verdicts") or ()
    return any(r.get("code") in _TOKEN_STATE for v in verdicts for r in v.get("reasons") or ())


@contextmanager
def _replaying(recorded: Any, state: RunState) -> Iterator[None]:
    """The checks' reads served from the step's record. A record made before token states
    were kept holds none for the run's token: it is taken as neither revoked nor used, the
    only state in which a token check can have allowed (a recorded refusal then diverges)."""
    reads = dict(recorded) if isinstance(recorded, Mapping) else {}
    if state.grant is not None:
        reads.setdefault(f"{TOKEN_STATUS}:{state.grant.claims.id}", None)
    with reading(reads):
        yield


def _held(step: Step) -> tuple[str, float, float]:
    """The recorded token's id, issue time and expiry; RUN_NOT_REPLAYABLE when the step does
    not hold them."""
    held = step.data.get("capability")
    try:
        if isinstance(held, Mapping):
            return str(held["id"]), float(held["issued_at"]), float(held["expires_at"])
    except (KeyError, TypeError, ValueError):
        pass
    raise TetherError(
        ErrorCode.RUN_NOT_REPLAYABLE,
        f"step {step.seq} records a capability without its token's id, issue time and expiry",
    )


def _recorded_rights(scope: Step) -> list[str] | None:
    """The principal's rights the scope step recorded (the scopes its roles conferred); a run
    without capability tokens needs none, and gets an empty list."""
    facts = scope.data.get("principal") or {}
    rights = facts.get("rights")
    if isinstance(rights, list):
        return [str(r) for r in rights]
    return [] if "capability" not in scope.data else None


def _headers(run: Run, scope: Step, report: ReplayReport) -> None:
    """What the run's row and the steps' headers say agrees with the record: the steps are
    numbered 1..n with none taken out, open with the scope and retrieval steps (`_order`), the
    row's principal is the scope's, and a guard or tool
    step is named after the call it holds (listings and KPIs read these, not the data)."""
    numbered = next((s for i, s in enumerate(run.steps, start=1) if s.seq != i), None)
    if numbered is not None:
        report.diffs.append(_diff(numbered, "seq", numbered.seq, run.steps.index(numbered) + 1))
    elif run.step_count != len(run.steps):
        last = run.steps[-1]
        report.diffs.append(_diff(last, "run.step_count", run.step_count, len(run.steps)))
    _order(run.steps, report)
    principal = _principal(scope).id
    if run.principal_id != principal:
        report.diffs.append(_diff(scope, "run.principal", run.principal_id, principal))
    release = scope.data.get("release")  # recorded since releases are: older runs have none
    if release is not None and run.release != release:
        report.diffs.append(_diff(scope, "run.release", run.release or None, release))
    status = _status_of(run.steps)
    if status is not None and run.status is not status:
        report.diffs.append(_diff(run.steps[-1], "run.status", run.status.value, status.value))
    for step in run.steps:
        call = step.data.get("call") if step.kind is StepKind.GUARD else None
        named = call.get("name") if isinstance(call, Mapping) else None
        if step.kind is StepKind.TOOL:
            named = step.data.get("tool")
        if named is not None and step.name != step_name(str(named)):
            report.diffs.append(_diff(step, "name", step.name, named))


def _order(steps: Sequence[Step], report: ReplayReport) -> None:
    """The steps open as the runtime always writes them: the scope step first, then the
    retrieval step (a run ends in its Decision right after the scope only when it failed
    before it grounded), each of them once. Numbering alone does not show a step taken out
    once the steps after it are numbered down."""
    first = [StepKind.SCOPE, StepKind.RETRIEVAL]
    if len(steps) > 1 and steps[1].kind is StepKind.DECISION:
        first = [StepKind.SCOPE, StepKind.DECISION]
    for step, kind in zip(steps, first, strict=False):
        if step.kind is not kind:
            report.diffs.append(_diff(step, "kind", step.kind.value, kind.value))
            return
    if len(steps) < len(first):  # a scope step and nothing after it
        report.diffs.append(_diff(steps[-1], "kind", None, first[len(steps)].value))
        return
    for step in steps[len(first) :]:
        if step.kind in (StepKind.SCOPE, StepKind.RETRIEVAL):
            report.diffs.append(_diff(step, "kind", step.kind.value, None))
            return


def refused_by_person(approval: Mapping[str, Any]) -> Decision | None:
    """The refusal a person's no (or an approval that expired) ends the run in, as the loop
    makes it; None for a record whose code tether does not know."""
    try:
        code = ErrorCode(str(approval.get("code")))
    except ValueError:
        return None
    reason = Reason(code, str(approval.get("message", "")))
    return Decision(DecisionKind.REFUSAL, str(approval.get("reply", "")), reason=reason)


def _status_of(steps: Sequence[Step]) -> RunStatus | None:
    """The status the steps leave a run in, where they settle it: ended by its Decision, or
    waiting for a person's decision (None while it may still be going)."""
    last = steps[-1]
    if last.kind is StepKind.DECISION:
        return RunStatus.COMPLETED
    if last.kind is StepKind.APPROVAL and last.name == "requested":
        return RunStatus.SUSPENDED
    return None


def _principal(scope: Step) -> Principal:
    """Who the run acted for, as the scope step recorded it (never looked up again)."""
    facts = scope.data.get("principal") or {}
    attributes = facts.get("attributes")
    return Principal(
        str(facts.get("id", "")),
        str(facts.get("tenant", "default")),
        tuple(str(r) for r in facts.get("roles", ())),
        dict(attributes) if isinstance(attributes, Mapping) else {},
    )
