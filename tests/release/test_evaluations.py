"""A release's evaluations in the system of record (SQLite and PostgreSQL): stored with the
release and audited, the newest read back; new knowledge or policies, or drift, call for one."""

from __future__ import annotations

import json

from tether.access.control import AccessControl
from tether.core.clock import ManualClock
from tether.release.evaluations import EvaluationStore, triggers
from tether.store.runs import RunStore

from .helpers import POLICY, bundle


def test_evaluations_are_stored_audited_and_read_back(store_url: str) -> None:
    store = RunStore.open(store_url)
    access = AccessControl.open(store.engine)
    clock = ManualClock(1_800_000_000.0)
    evaluations = EvaluationStore(store.engine, access.audit, clock)
    assert evaluations.latest() is None
    first, second = bundle(), bundle(instructions="Be brief.")
    results = {"scenarios": 3, "passed": 2, "failed": ["late-return"]}
    evaluations.record(first.id, first, False, results, ["drift:refusal_rate"])
    clock.advance(60)
    evaluations.record(second.id, second, True, {"scenarios": 3, "passed": 3, "failed": []}, ["x"])

    newest = evaluations.latest()
    assert newest is not None and (newest.release, newest.passed) == (second.id, True)
    older = evaluations.latest(first.id)
    assert older is not None and older.passed is False and older.results == results
    assert older.to_dict() == {
        "release": first.id,
        "passed": False,
        "at": "2027-01-15T08:00:00Z",
        "suite": "scenarios",
        "triggers": ["drift:refusal_rate"],
        "results": results,
    }
    events = [e for e in access.audit.events(limit=100) if e.kind == "release.evaluated"]
    assert [json.loads(e.data)["release"] for e in events] == [first.id, second.id]
    assert {e.actor for e in events} == {"system:drift"}
    store.close()


def test_drift_and_new_knowledge_or_policies_call_for_an_evaluation(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    evaluations = EvaluationStore(store.engine)
    seen = bundle(knowledge={"faq": "v1"})
    assert triggers([], seen, None) == ["knowledge and policies not evaluated yet"]
    last = evaluations.record(seen.id, seen, True, {}, ["first"])
    assert triggers([], seen, last) == []
    assert triggers([], bundle(knowledge={"faq": "v1"}, instructions="Be brief."), last) == []
    assert triggers(["tool_call_mix"], seen, last) == ["drift:tool_call_mix"]
    assert triggers([], bundle(knowledge={"faq": "v2"}), last) == ["knowledge changed"]
    stricter = bundle(knowledge={"faq": "v1"}, policy=POLICY.replace("permit", "forbid"))
    assert triggers([], stricter, last) == ["policies changed"]
    store.close()
