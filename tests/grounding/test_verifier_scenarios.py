"""The retail scenarios in which the answer verifier stops a wrong answer: a negated order
status (the order record says pending) and a gift card refund given the credit card timeline
(the refunds passage says immediately). Each is also played on a desk without the claim check,
to show that its expectations fail when a wrong answer goes out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.core.types import DecisionKind, Run, Step, StepKind
from tether.domains.retail.pack import RETAIL
from tether.sdk.scenarios import ScenarioResult, load_scenarios, run_scenario, scenario_desk
from tether.store.runs import RunStore

SCENARIOS = {s.name: s for s in load_scenarios(None, RETAIL)}
NEGATED = "negated-order-status"
GIFT_CARD = "wrong-gift-card-refund-timeline"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    opened = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    yield opened
    opened.close()


def _play(store: RunStore, name: str, *, claims: bool = True) -> tuple[ScenarioResult, Run]:
    """The scenario's result and its last run, with steps; `claims=False` plays it on a desk
    whose answer checks leave out the claim check (a verifier that lets everything through)."""
    scenario = SCENARIOS[name]
    options: dict[str, Any] = {}
    if not claims:
        options["answer_checks"] = lambda checks: [c for c in checks if c.name != "claims"]
    desk = scenario_desk(RETAIL, store, scenario, **options)
    result = run_scenario(RETAIL, store, scenario, desk=desk)
    return result, store.get_run(result.run.id)


def _answer_guards(run: Run, count: int) -> list[Step]:
    guards = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == "answer"]
    assert len(guards) == count, [g.data.get("effect") for g in guards]
    return guards


def _failing(guard: Step) -> list[dict[str, Any]]:
    verdict = next(v for v in guard.data["verdicts"] if v["check"] == "claims")
    failing: list[dict[str, Any]] = verdict["facts"]["failing"]
    return failing


def _assert_status_caught(run: Run) -> None:
    """Both answers were stopped for contradicting the order record's `pending` status."""
    first, second = _answer_guards(run, 2)
    assert first.data["revised"] is True and first.data["decided_by"] == "claims"
    assert "revised" not in second.data and second.data["effect"] == "deny"
    for guard, said in ((first, "not pending"), (second, "delivered")):
        [claim] = _failing(guard)
        assert claim["status"] == "contradicted" and said in claim["claim"]
        assert claim["reasons"] == ["tool:2:status is 'pending'"]
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None
    assert run.decision.reason.code.value == "CLAIM_CONTRADICTED"


def _assert_timeline_revised(run: Run) -> None:
    """The 5-to-7-days claim was sent back against the refunds passage; the revision went out."""
    first, second = _answer_guards(run, 2)
    assert first.data["revised"] is True and first.data["decided_by"] == "claims"
    [claim] = _failing(first)
    assert claim["status"] == "contradicted" and "5 to 7 business days" in claim["claim"]
    assert {e.get("source") or e.get("field") for e in claim["evidence"]} == {"kb:refunds#1"}
    assert "'immediately', not '5 to 7 business days'" in claim["reasons"][0]
    note = first.data["messages"][1]
    assert note["role"] == "system" and "5 to 7 business days" in note["content"]
    assert second.data["effect"] == "allow"
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    assert "immediately" in run.decision.text and "business days" not in run.decision.text
    assert len([s for s in run.steps if s.kind is StepKind.MODEL_TURN]) == 2


def test_a_negated_order_status_is_sent_back_then_refused(store: RunStore) -> None:
    result, run = _play(store, NEGATED)
    assert result.ok, result.to_dict()
    _assert_status_caught(run)
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == [
        "find_user_id_by_email",
        "get_order_details",
    ]
    [order] = [s for s in run.steps if s.kind is StepKind.TOOL and s.name == "get_order_details"]
    assert order.data["output"]["status"] == "pending"


def test_a_gift_card_refund_with_the_card_timeline_is_revised_to_immediately(
    store: RunStore,
) -> None:
    result, run = _play(store, GIFT_CARD)
    assert result.ok, result.to_dict()
    _assert_timeline_revised(run)


def test_without_the_claim_check_the_negated_status_goes_out_and_the_scenario_fails(
    store: RunStore,
) -> None:
    result, run = _play(store, NEGATED, claims=False)
    assert not result.ok and result.actual is DecisionKind.ANSWER
    assert run.decision is not None and "not pending" in run.decision.text
    with pytest.raises(AssertionError):
        _assert_status_caught(run)


def test_without_the_claim_check_the_wrong_timeline_goes_out_unrevised(store: RunStore) -> None:
    _, run = _play(store, GIFT_CARD, claims=False)
    assert run.decision is not None and "5 to 7 business days" in run.decision.text
    with pytest.raises(AssertionError):
        _assert_timeline_revised(run)
