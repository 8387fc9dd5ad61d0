"""A write's idempotency key is that of the logical action, however the model spells it.

Arguments that validate to the same values are one call: `5` and `5.0` (one JSON number), a
parameter left out and the same parameter given as its declared default share one key, so the
second proposal replays the first's outcome. Two calls that differ in any value (5 and 5.5,
"" and "x") have two keys and both run. On both stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tether.core.errors import ErrorCode
from tether.core.types import RiskClass, StepKind
from tether.runtime.once import execute_once
from tether.store import RunStore
from tether.store.tool_results import ToolResultLedger, tool_results
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, idempotency_key
from tether.tools.shared_state import InProcessState

from .conftest import ask, make_runtime


@pytest.fixture
def any_store(store_url: str) -> Iterator[RunStore]:
    s = RunStore.open(store_url)
    yield s
    s.close()


def refund_twice(
    store: RunStore, first: dict[str, Any], second: dict[str, Any]
) -> tuple[list[tuple[str, float, str]], list[dict[str, Any]]]:
    """One run proposing an irreversible refund with `first`, then with `second`: the refunds
    that ran, and the run's tool steps."""
    applied: list[tuple[str, float, str]] = []

    def refund(order: str, amount: float, note: str = "") -> dict[str, Any]:
        """Refund an order."""
        applied.append((order, amount, note))
        return {"refund": len(applied)}

    runtime = make_runtime(store, [make_tool(refund, risk=RiskClass.IRREVERSIBLE)])
    run = ask(
        runtime,
        [{"tool": "refund", "args": first}, {"tool": "refund", "args": second}, {"answer": "ok"}],
    )
    return applied, [dict(s.data) for s in run.steps if s.kind is StepKind.TOOL]


SPELLINGS = {
    "int-then-float": ({"order": "W1", "amount": 5}, {"order": "W1", "amount": 5.0}),
    "default-left-out-then-given": (
        {"order": "W1", "amount": 5.0},
        {"order": "W1", "amount": 5.0, "note": ""},
    ),
}


@pytest.mark.parametrize("case", sorted(SPELLINGS))
def test_the_same_refund_spelled_twice_in_later_turns_runs_once(
    any_store: RunStore, case: str
) -> None:
    applied, steps = refund_twice(any_store, *SPELLINGS[case])
    with any_store.engine.connect() as conn:
        ledger = conn.execute(select(tool_results.c.key, tool_results.c.status)).all()
    assert len(applied) == 1, (applied, ledger)  # one refund of 5.00, not two
    assert steps[0]["idempotency_key"] == steps[1]["idempotency_key"]
    assert steps[1].get("replayed") is True


DIFFERENT = {
    "amount-5-then-5.5": ({"order": "W1", "amount": 5}, {"order": "W1", "amount": 5.5}),
    "note-empty-then-x": (
        {"order": "W1", "amount": 5, "note": ""},
        {"order": "W1", "amount": 5, "note": "x"},
    ),
    "default-then-other": ({"order": "W1", "amount": 5}, {"order": "W1", "amount": 5, "note": "x"}),
}


@pytest.mark.parametrize("case", sorted(DIFFERENT))
def test_two_different_refunds_have_two_keys_and_both_run(any_store: RunStore, case: str) -> None:
    applied, steps = refund_twice(any_store, *DIFFERENT[case])
    assert len(applied) == 2, applied
    assert steps[0]["idempotency_key"] != steps[1]["idempotency_key"]
    assert not steps[1].get("replayed")


def test_json_equal_values_share_a_key_and_unequal_ones_never_do() -> None:
    def key(args: dict[str, Any]) -> str:
        return idempotency_key("run_1", "refund", args)

    assert key({"a": 5}) == key({"a": 5.0})
    assert key({"a": [1, {"b": 2.0}]}) == key({"a": [1.0, {"b": 2}]})
    distinct = [
        {"a": 5}, {"a": 5.5}, {"a": "5"}, {"a": True}, {"a": None}, {"a": ""}, {"a": "x"},
        {"a": [5]}, {"a": {"b": 5}}, {}, {"b": 5},
    ]  # fmt: skip
    assert len({key(a) for a in distinct}) == len(distinct)


@pytest.mark.parametrize("recorded", [False, True], ids=["started", "done"])
def test_a_write_an_earlier_version_started_keeps_its_key_on_resume(
    any_store: RunStore, recorded: bool
) -> None:
    """Versions before defaults and number spellings were folded in keyed this call without
    its default `note`: a write one of them started (or finished), resumed by this version,
    finds that row and never runs again."""
    applied: list[float] = []

    def refund(order: str, amount: float, note: str = "") -> dict[str, Any]:
        """Refund an order."""
        applied.append(amount)
        return {"refund": len(applied)}

    tool = make_tool(refund, risk=RiskClass.IRREVERSIBLE)
    run_id = ask(make_runtime(any_store, [tool]), [{"answer": "ok"}]).id
    args = {"order": "W1", "amount": 5}
    call = CallContext(run_id, 2, "alice")
    earlier = idempotency_key(run_id, "refund", tool.validate(args), folded=False)
    now = idempotency_key(run_id, "refund", tool.validate(args, defaults=True))
    assert earlier != now  # the upgrade changed this call's key
    ledger = ToolResultLedger(any_store.engine)
    assert ledger.begin(earlier, run_id, 2, "refund")  # the earlier version began it
    if recorded:
        ledger.finish(earlier, run_id, 2, "refund", {"ok": True, "output": {"refund": 1}})
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    outcome = execute_once(executor, ledger, tool, args, call)
    assert applied == []  # not a second refund
    assert outcome.idempotency_key == earlier
    if recorded:
        assert outcome.replayed and outcome.ok
    else:  # it may or may not have acted: settled as unknown, never run blind
        assert outcome.code is ErrorCode.OUTCOME_UNKNOWN
