"""A release's evaluations: the result of running its evaluation again, stored with it.

An evaluation runs when drift fires or when the release in force holds knowledge or policies
that no earlier evaluation saw (compared by the digests of those parts of the bundle). Each
stored result appends an audit event in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from tether.access.audit import AuditEvent, AuditLog
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.release.bundle import Bundle, digest_of
from tether.store.release_schema import release_evaluations

EVALUATOR = "system:drift"
SCENARIOS = "scenarios"


def knowledge_digest(bundle: Bundle) -> str:
    return digest_of({"knowledge": bundle.content["knowledge"]})


def policies_digest(bundle: Bundle) -> str:
    return digest_of({"policies": bundle.content["policies"]})


@dataclass(frozen=True)
class Evaluation:
    """One stored evaluation of a release."""

    release: str
    passed: bool
    at: float
    suite: str = SCENARIOS
    triggers: tuple[str, ...] = ()
    knowledge: str = ""
    policies: str = ""
    results: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")
        return {
            "release": self.release,
            "passed": self.passed,
            "at": at.replace("+00:00", "Z"),
            "suite": self.suite,
            "triggers": list(self.triggers),
            "results": dict(self.results),
        }


def triggers(fired: Sequence[str], bundle: Bundle, last: Evaluation | None) -> list[str]:
    """Why the release `bundle` should be evaluated again: each drift monitor that fired,
    and knowledge or policies unlike those the last evaluation (of any release) saw."""
    out = [f"drift:{name}" for name in fired]
    if last is None:
        out.append("knowledge and policies not evaluated yet")
        return out
    if last.knowledge != knowledge_digest(bundle):
        out.append("knowledge changed")
    if last.policies != policies_digest(bundle):
        out.append("policies changed")
    return out


class EvaluationStore:
    """Release evaluations in the system of record."""

    def __init__(self, engine: Engine, audit: AuditLog | None = None, clock: Clock | None = None):
        self.engine = engine
        self.audit = audit
        self.clock = clock or SystemClock()

    def record(
        self,
        release: str,
        bundle: Bundle,
        passed: bool,
        results: Mapping[str, Any],
        why: Sequence[str],
        suite: str = SCENARIOS,
        actor: str = EVALUATOR,
    ) -> Evaluation:
        """Store one evaluation of `release` (whose content is `bundle`), audited."""
        found = Evaluation(
            release, passed, self.clock.now(), suite, tuple(why),
            knowledge_digest(bundle), policies_digest(bundle), dict(results),
        )  # fmt: skip
        row = {
            "release_id": found.release,
            "suite": found.suite,
            "passed": found.passed,
            "at": found.at,
            "triggers": json.dumps(list(found.triggers)),
            "knowledge": found.knowledge,
            "policies": found.policies,
            "results": json.dumps(dict(found.results), sort_keys=True),
        }
        with begin(self.engine) as conn:
            if self.audit is not None:
                self.audit.lock(conn)
            conn.execute(insert(release_evaluations).values(row))
            if self.audit is not None:
                data = {"release": release, "suite": suite, "passed": passed, "triggers": list(why)}
                self.audit.append_in(conn, [AuditEvent("release.evaluated", actor, data)])
        return found

    def latest(self, release: str | None = None, suite: str | None = None) -> Evaluation | None:
        """The newest evaluation (of `release`, or of any release; of `suite`, or of any)."""
        t = release_evaluations
        query = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(1)
        if release is not None:
            query = query.where(t.c.release_id == release)
        if suite is not None:
            query = query.where(t.c.suite == suite)
        with connect(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Evaluation(
            row["release_id"], bool(row["passed"]), float(row["at"]), row["suite"],
            tuple(json.loads(row["triggers"])), row["knowledge"], row["policies"],
            json.loads(row["results"]),
        )  # fmt: skip
