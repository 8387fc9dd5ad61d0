"""A tool that returns exactly the type it declares (a Pydantic model, a dataclass, an Enum),
and that registration accepted and published an output schema for, answers the model with
that output; it is not BAD_OUTPUT, which hands the run to a person. (A return type that
cannot be answered with fails registration with CONFIG_INVALID instead.)"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

import pytest
from pydantic import BaseModel

from tests.envelope.conftest import ask as play
from tests.envelope.conftest import make_runtime as build
from tether.core.types import DecisionKind, StepKind
from tether.store import RunStore
from tether.tools import make_tool


class StockModel(BaseModel):
    sku: str
    on_hand: int


@dataclasses.dataclass
class StockRecord:
    sku: str
    on_hand: int


class Availability(enum.Enum):
    IN_STOCK = "in stock"
    SOLD_OUT = "sold out"


def stock_model(sku: str) -> StockModel:
    """Stock of one SKU."""
    return StockModel(sku=sku, on_hand=3)


def stock_record(sku: str) -> StockRecord:
    """Stock of one SKU."""
    return StockRecord(sku=sku, on_hand=3)


def availability(sku: str) -> Availability:
    """Whether one SKU is in stock."""
    return Availability.IN_STOCK


CASES: dict[str, tuple[Any, Any]] = {
    "pydantic-model": (stock_model, {"sku": "A1", "on_hand": 3}),
    "dataclass": (stock_record, {"sku": "A1", "on_hand": 3}),
    "enum": (availability, "in stock"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_declared_return_type_reaches_the_model(either_store: RunStore, kind: str) -> None:
    fn, shown = CASES[kind]
    tool = make_tool(fn)  # each of these return types is supported
    assert tool.spec.output_schema  # registration took the return type and published it

    store = either_store
    runtime = build(store, [tool])
    run = play(runtime, [{"tool": tool.name, "args": {"sku": "A1"}}, {"answer": "In stock."}])

    assert run.decision is not None
    assert run.decision.kind is DecisionKind.ANSWER, run.decision.reason
    step = next(s for s in store.get_run(run.id).steps if s.kind is StepKind.TOOL)
    seen = json.loads(step.data["messages"][0]["content"])
    assert seen["ok"] is True and seen["output"] == shown


def test_output_outside_the_declared_type_is_still_bad_output(either_store: RunStore) -> None:
    def guess(sku: str) -> Availability:
        """Whether one SKU is in stock."""
        return "maybe"  # type: ignore[return-value]

    runtime = build(either_store, [make_tool(guess)])
    run = play(runtime, [{"tool": "guess", "args": {"sku": "A1"}}, {"answer": "Maybe."}])
    assert run.decision is not None and run.decision.reason is not None
    assert run.decision.reason.code.value == "BAD_OUTPUT"
