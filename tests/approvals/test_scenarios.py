"""Demo scenarios with an `approval` step: the runner decides the request the run waits for,
as the named operator, and the final Decision is checked."""

from __future__ import annotations

from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, RunStatus, StepKind
from tether.domains.retail.pack import RETAIL
from tether.sdk.scenarios import load_scenarios, parse_scenario, run_scenario
from tether.store.runs import RunStore


def _scenario(name: str) -> Any:
    return next(s for s in load_scenarios(None, RETAIL) if s.name == name)


def test_an_approved_large_return_ends_in_an_action(store: RunStore) -> None:
    result = run_scenario(RETAIL, store, _scenario("large-return-approved"))
    assert result.ok, result.to_dict()
    assert result.actual is DecisionKind.ACTION
    approval = result.approval
    assert approval is not None and approval["status"] == "approved"
    assert approval["decided_by"] == "operator:sam-supervisor"
    assert approval["note"] == "receipt and photos checked"
    stored = store.get_run(result.run.id)
    assert stored.status is RunStatus.COMPLETED
    kinds = [(s.kind, s.name) for s in stored.steps]
    assert (StepKind.APPROVAL, "requested") in kinds and (StepKind.APPROVAL, "approved") in kinds
    assert (StepKind.TOOL, "return_delivered_order_items") in kinds


def test_a_rejected_large_return_ends_in_a_refusal(store: RunStore) -> None:
    result = run_scenario(RETAIL, store, _scenario("large-return-rejected"))
    assert result.ok, result.to_dict()
    assert result.actual is DecisionKind.REFUSAL
    assert result.actual_code is ErrorCode.APPROVAL_REJECTED
    assert result.approval is not None and result.approval["status"] == "rejected"
    tools = [s.name for s in store.get_run(result.run.id).steps if s.kind is StepKind.TOOL]
    assert "return_delivered_order_items" not in tools


def test_the_escalation_scenario_without_an_approval_step_still_ends_in_an_escalation(
    store: RunStore,
) -> None:
    result = run_scenario(RETAIL, store, _scenario("large-return-escalated"))
    assert result.ok and result.approval is None
    assert result.actual_code is ErrorCode.POLICY_ESCALATED


def test_an_approval_step_on_a_run_that_never_waits_fails_the_scenario(store: RunStore) -> None:
    data = _scenario("order-status").model_dump(exclude_none=True)
    data["approval"] = {"decision": "approve", "by": "sam"}
    result = run_scenario(RETAIL, store, parse_scenario(data, "test"))
    assert result.approval is None and not result.ok


@pytest.mark.parametrize(
    "approval",
    [
        {"decision": "maybe", "by": "sam"},
        {"decision": "approve"},
        {"decision": "approve", "by": ""},
        {"decision": "approve", "by": "sam", "when": "now"},
    ],
)
def test_a_bad_approval_step_is_a_scenario_error(approval: dict[str, Any]) -> None:
    data = _scenario("large-return-approved").model_dump(exclude_none=True)
    data["approval"] = approval
    with pytest.raises(TetherError) as caught:
        parse_scenario(data, "bad.yaml")
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert "approval" in caught.value.message
