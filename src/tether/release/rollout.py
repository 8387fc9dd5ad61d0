"""Staged rollouts: a candidate release takes a growing share of traffic from the release
labelled production, step by step, and is promoted or rolled back by its guards' tests.

Assignment is sticky: each conversation keeps its arm as the share grows (see
`tether.release.rollout_plan`, which holds the plan, its checks and the `Rollout` value).

Each step collects concluded conversations in both arms. Once both hold `min_runs`, then
2·`min_runs`, ... (at most `looks` looks), every guard's one-sided non-inferiority test runs at
level alpha / looks (Bonferroni over the looks, so a step's error rate in either direction stays
at most alpha however often it looks). A guard passes when its p-value is at most that level,
and fails when the opposite one-sided p-value is (the data show the bound broken). When every
guard passes the rollout moves to the next step; the step before 100 % promotes it and moves the
`production` label. When one fails, or when a guard is still undecided at the last look
(non-inferiority not shown), it rolls back; so does a rollout whose candidate's gate suite has
failed since it started, when its guards or an operator would move it on. Every transition is
an audit event with its reason and the guards' p-values, written in the same transaction as the
new state.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tether.access.audit import AuditEvent, AuditLog
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.release.rollout_guards import Conversation, Guard, parse_guards
from tether.release.rollout_looks import take_look
from tether.release.rollout_plan import (
    DEFAULT_ALPHA,
    DEFAULT_LOOKS,
    DEFAULT_STEPS,
    PROMOTED,
    ROLLED_BACK,
    RUNNING,
    Rollout,
    check_plan,
)
from tether.release.store import PRODUCTION, Release, ReleaseStore, failed_gate
from tether.store.release_schema import rollouts

log = logging.getLogger("tether.release")

# why production may refuse a candidate its guards passed: a rollout then rolls back, rather
# than wait at its last step for a move that cannot happen
_PROMOTION_REFUSED = (
    ErrorCode.RELEASE_GATE_FAILED,
    ErrorCode.CONFLICT,
    ErrorCode.RELEASE_NOT_FOUND,
    ErrorCode.RELEASE_TAMPERED,
)
# why an operator's promotion rolls the rollout back (the candidate can never take the label)
_CANDIDATE_REFUSED = (ErrorCode.RELEASE_GATE_FAILED, ErrorCode.RELEASE_TAMPERED)
SYSTEM_ACTOR = "system:rollout"

Notify = Callable[[str, Mapping[str, Any]], None]  # (event kind, status) after a transition


def check_same_pack(candidate: Release, baseline: Release) -> None:
    """ROLLOUT_INVALID unless `candidate` is of the domain pack and version `baseline` is: a
    desk runs one pack's code, and builds no release of another (every conversation the
    rollout sent to it would be refused at its first turn)."""
    have = candidate.bundle.content.get("domain") or {}
    want = baseline.bundle.content.get("domain") or {}
    if (have.get("name"), have.get("version")) != (want.get("name"), want.get("version")):
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"release {candidate.id} is of {have.get('name')} {have.get('version')} and "
            f"production ({baseline.id}) of {want.get('name')} {want.get('version')}: a desk "
            "running one pack's code cannot build the other, so no traffic can go to it",
        )


def check_same_tools(candidate: Release, baseline: Release) -> None:
    """ROLLOUT_INVALID unless `candidate` holds the tool specs `baseline` does: a desk runs the
    pack's tools and envelopes whatever a release records, so a rollout of changed ones would
    judge (and promote) envelopes nobody ran."""
    have = {t.get("name"): t for t in candidate.bundle.content.get("tools") or ()}
    want = {t.get("name"): t for t in baseline.bundle.content.get("tools") or ()}
    differ = sorted(str(n) for n in have.keys() | want.keys() if have.get(n) != want.get(n))
    if differ:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"release {candidate.id} changes the specs of {', '.join(differ)} from production "
            f"({baseline.id}): tools and their envelopes are the pack's code, which every desk "
            "runs whatever a release records; change them in the pack (a new version)",
        )


class Rollouts:
    """Rollouts in the system of record: started, looked at, promoted and rolled back, each
    transition audited; `notify` hears of every transition (a webhook, say)."""

    def __init__(
        self,
        releases: ReleaseStore,
        audit: AuditLog,
        clock: Clock | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.releases = releases
        self.engine: Engine = releases.engine
        self.audit = audit
        self.clock = clock or SystemClock()
        self.notify = notify

    def start(
        self,
        candidate: str,
        guards: Sequence[str],
        actor: str,
        steps: Sequence[int] = DEFAULT_STEPS,
        min_runs: int = 200,
        looks: int = DEFAULT_LOOKS,
        alpha: float = DEFAULT_ALPHA,
        live: bool = True,
    ) -> Rollout:
        """Start rolling `candidate` (an id or a label) out against production (audited);
        `live`: decided by live traffic's looks (else a simulation feeds it, unbounded)."""
        plan = check_plan(steps, min_runs, looks, alpha, live)
        parsed = parse_guards(guards)
        chosen = self.releases.get(candidate)
        cand = chosen.id
        base = self.releases.target(PRODUCTION)
        if base is None:
            raise TetherError(
                ErrorCode.ROLLOUT_INVALID,
                "no release is labelled production: label the baseline first "
                "(tether release label production RELEASE)",
            )
        if base == cand:
            raise TetherError(ErrorCode.ROLLOUT_INVALID, f"{cand} is already in production")
        baseline = self.releases.get(base)
        check_same_pack(chosen, baseline)
        check_same_tools(chosen, baseline)
        now = self.clock.now()
        row = {
            "id": "ro_" + secrets.token_hex(8),
            "candidate": cand,
            "baseline": base,
            "state": RUNNING,
            "steps": json.dumps(list(plan)),
            "step": 1,
            "min_runs": min_runs,
            "looks": looks,
            "look": 0,
            "alpha": alpha,
            "guards": json.dumps([g.expr for g in parsed]),
            "started_at": now,
            "started_by": actor,
            "updated_at": now,
            "step_started_at": now,
            "reason": f"started at {plan[0]} % of traffic",
            "evaluation": "{}",
        }
        with begin(self.engine) as conn:
            self.audit.lock(conn)  # one running rollout: starts take turns
            if self._running(conn) is not None:
                raise TetherError(
                    ErrorCode.CONFLICT,
                    "a rollout is already running: promote or roll it back first",
                )
            failed = failed_gate(conn, cand)  # it could never take the production label
            if failed is not None:
                raise TetherError(
                    ErrorCode.RELEASE_GATE_FAILED,
                    f"release {cand} failed its evaluation suite ({failed}): evaluate it again "
                    "(tether eval suite) before rolling it out",
                )
            conn.execute(insert(rollouts).values(row))
            data = {"rollout": row["id"], "candidate": cand, "baseline": base,
                    "steps": list(plan), "guards": [g.expr for g in parsed], "min_runs": min_runs}  # fmt: skip
            self.audit.append_in(conn, [AuditEvent("rollout.started", actor, data)])
        started = self._rollout(row)
        self._tell("rollout.started", started)
        return started

    def current(self) -> Rollout:
        """The running rollout, else the latest one; ROLLOUT_NOT_FOUND when there is none."""
        with connect(self.engine) as conn:
            row = self._running(conn)
            if row is None:
                query = select(rollouts).order_by(rollouts.c.started_at.desc()).limit(1)
                row = conn.execute(query).mappings().first()
        if row is None:
            raise TetherError(
                ErrorCode.ROLLOUT_NOT_FOUND, "no rollout yet (see `tether rollout start`)"
            )
        return self._rollout(row)

    def recent(self, limit: int = 10) -> list[Rollout]:
        """Rollouts, newest first."""
        query = select(rollouts).order_by(rollouts.c.started_at.desc()).limit(limit)
        with connect(self.engine) as conn:
            return [self._rollout(row) for row in conn.execute(query).mappings().all()]

    def promoted_to(self, release: str) -> Rollout | None:
        """The latest rollout that promoted `release`, or None (it never took production so)."""
        t = rollouts
        query = (
            select(t)
            .where(t.c.state == PROMOTED, t.c.candidate == release)
            .order_by(t.c.updated_at.desc())
            .limit(1)
        )
        with connect(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else self._rollout(row)

    def running(self) -> Rollout:
        found = self.current()
        if found.state != RUNNING:
            raise TetherError(
                ErrorCode.ROLLOUT_NOT_FOUND,
                f"no rollout is running (the last one, {found.id}, was {found.state})",
            )
        return found

    def observe(
        self,
        rollout: Rollout,
        baseline: Sequence[Conversation],
        candidate: Sequence[Conversation],
    ) -> Rollout:
        """Look at the current step's conversations when both arms hold enough concluded ones
        for the next look; promote or roll back when the guards decide."""
        if rollout.state != RUNNING:
            return rollout
        counts = [sum(1 for c in arm if c.concluded) for arm in (baseline, candidate)]
        due = min(min(counts) // rollout.min_runs, rollout.looks)
        if due <= rollout.look:
            return rollout
        guards = [Guard.parse(g) for g in rollout.guards]
        last = due >= rollout.looks
        look = take_look(guards, baseline, candidate, rollout.alpha / rollout.looks, last)
        reason = look.reason(due, rollout.looks)
        evaluation = look.public()
        if look.verdict == "rollback":
            return self._transition(rollout, ROLLED_BACK, rollout.step, due, reason, evaluation,
                                    SYSTEM_ACTOR)  # fmt: skip
        if look.verdict == "advance":
            try:
                return self._advance(rollout, reason, evaluation, SYSTEM_ACTOR)
            except TetherError as exc:  # it may not move on (its gate failed since, ...)
                if exc.code not in _PROMOTION_REFUSED:
                    raise
                why = f"{reason}; but the promotion was refused: {exc.code.value}: {exc.message}"
                return self._transition(rollout, ROLLED_BACK, rollout.step, due, why,
                                        evaluation, SYSTEM_ACTOR)  # fmt: skip
        changed = replace(rollout, look=due, reason=reason, evaluation=evaluation)
        with begin(self.engine) as conn:
            kept = conn.execute(
                update(rollouts)
                .where(*self._unchanged(rollout), rollouts.c.look == rollout.look)
                .values(look=due, reason=reason, evaluation=json.dumps(evaluation),
                        updated_at=self.clock.now())
            )  # fmt: skip
            if kept.rowcount != 1:  # rolled back, moved on or looked at meanwhile
                raise _changed_meanwhile(rollout)
        return changed

    def promote(self, actor: str, reason: str = "") -> Rollout:
        """Move the running rollout to its next step by hand (audited with `actor`). A candidate
        whose gate suite has failed, or whose stored content was changed, is not moved: the
        rollout rolls back, and RELEASE_GATE_FAILED or RELEASE_TAMPERED says why."""
        found = self.running()
        try:
            return self._advance(
                found, reason or "promoted by an operator", found.evaluation, actor
            )
        except TetherError as exc:
            if exc.code not in _CANDIDATE_REFUSED:
                raise
            why = f"the promotion was refused: {exc.code.value}: {exc.message}"
            self._transition(found, ROLLED_BACK, found.step, found.look, why,
                             found.evaluation, actor)  # fmt: skip
            raise TetherError(
                exc.code,
                f"{exc.message}; rollout {found.id} is rolled back: {found.candidate} gets no "
                "more traffic",
            ) from None

    def rollback(self, actor: str, reason: str = "") -> Rollout:
        """Roll the running rollout back by hand (audited with `actor`)."""
        found = self.running()
        why = reason or "rolled back by an operator"
        return self._transition(found, ROLLED_BACK, found.step, found.look, why,
                                found.evaluation, actor)  # fmt: skip

    def _advance(
        self, rollout: Rollout, reason: str, evaluation: Mapping[str, Any], actor: str
    ) -> Rollout:
        nxt = rollout.step + 1
        if rollout.steps[nxt - 1] < 100:
            return self._transition(rollout, RUNNING, nxt, 0, reason, evaluation, actor)
        return self._transition(rollout, PROMOTED, nxt, rollout.look, reason, evaluation, actor)

    def _transition(
        self,
        rollout: Rollout,
        state: str,
        step: int,
        look: int,
        reason: str,
        evaluation: Mapping[str, Any],
        actor: str,
    ) -> Rollout:
        now = self.clock.now()
        began = now if step != rollout.step else rollout.step_started_at
        changed = replace(rollout, state=state, step=step, look=look, reason=reason,
                          evaluation=evaluation, updated_at=now, step_started_at=began)  # fmt: skip
        kind = {RUNNING: "rollout.advanced", PROMOTED: "rollout.promoted",
                ROLLED_BACK: "rollout.rolled_back"}[state]  # fmt: skip
        data = {
            "rollout": rollout.id,
            "candidate": rollout.candidate,
            "baseline": rollout.baseline,
            "from_step": rollout.step,
            "step": step,
            "traffic_pct": changed.traffic_pct,
            "reason": reason,
            "p_values": {g["expr"]: g["p_value"] for g in evaluation.get("guards", ())},
        }
        values = {"state": state, "step": step, "look": look, "reason": reason,
                  "evaluation": json.dumps(evaluation), "updated_at": changed.updated_at,
                  "step_started_at": began}  # fmt: skip
        with begin(self.engine) as conn:
            self.audit.lock(conn)
            # a suite still running when the rollout started may have failed since
            failed = failed_gate(conn, rollout.candidate) if step > rollout.step else None
            if failed is not None:
                raise TetherError(
                    ErrorCode.RELEASE_GATE_FAILED,
                    f"release {rollout.candidate} failed its evaluation suite ({failed}): it "
                    "takes no larger share of traffic",
                )
            if step > rollout.step:  # nor does a candidate edited in the store since it started
                self.releases.verify_in(conn, rollout.candidate)
            moved = conn.execute(update(rollouts).where(*self._unchanged(rollout)).values(values))
            if moved.rowcount != 1:  # another operator or look got there first
                raise _changed_meanwhile(rollout)
            if state == PROMOTED:  # production moves with the promotion, or neither does
                self.releases.move_label_in(
                    conn, PRODUCTION, rollout.candidate, actor, only_from=rollout.baseline
                )
            self.audit.append_in(conn, [AuditEvent(kind, actor, data)])
        self._tell(kind, changed)
        return changed

    def _tell(self, kind: str, rollout: Rollout) -> None:
        if self.notify is not None:
            self.notify(kind, {"rollout": rollout.id, **rollout.status()})

    @staticmethod
    def _unchanged(rollout: Rollout) -> tuple[Any, ...]:
        """The row still stands where this copy of it does: running, at the same step."""
        t = rollouts
        return t.c.id == rollout.id, t.c.state == RUNNING, t.c.step == rollout.step

    @staticmethod
    def _running(conn: Any) -> Any:
        query = select(rollouts).where(rollouts.c.state == RUNNING).limit(1)
        return conn.execute(query).mappings().first()

    @staticmethod
    def _rollout(row: Any) -> Rollout:
        return Rollout(
            id=row["id"],
            candidate=row["candidate"],
            baseline=row["baseline"],
            state=row["state"],
            steps=tuple(json.loads(row["steps"])),
            step=row["step"],
            min_runs=row["min_runs"],
            looks=row["looks"],
            look=row["look"],
            alpha=row["alpha"],
            guards=tuple(json.loads(row["guards"])),
            started_at=row["started_at"],
            started_by=row["started_by"],
            updated_at=row["updated_at"],
            step_started_at=row["step_started_at"],
            reason=row["reason"],
            evaluation=_last_evaluation(row),
        )


def _last_evaluation(row: Any) -> Mapping[str, Any]:
    """The evaluation the rollout's last look stored; none (as before its first look) when it
    no longer reads as one: it only reports that look, and the next look writes it anew, so a
    damaged copy must not keep the rollout from being rolled back or its arms from serving."""
    try:
        evaluation = json.loads(row["evaluation"])
    except ValueError:
        evaluation = None
    if not isinstance(evaluation, dict):
        log.warning("rollout %s: its last evaluation is unreadable; shown as none", row["id"])
        return {}
    return evaluation


def _changed_meanwhile(rollout: Rollout) -> TetherError:
    return TetherError(ErrorCode.CONFLICT, f"rollout {rollout.id} changed meanwhile: look again")
