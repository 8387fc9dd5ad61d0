"""A parameter type that registers publishes an input schema; a call whose arguments fit that
schema (JSON, all a model can send) reaches the tool. Tuples, sets, enums, dates, UUIDs and
decimals are published as JSON arrays and strings, so they must be taken as such."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any

import pytest

from tests.envelope.conftest import ask as play
from tests.envelope.conftest import make_runtime as build
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, StepKind
from tether.store import RunStore
from tether.tools import make_tool


class Reason(enum.Enum):
    NO_LONGER_NEEDED = "no longer needed"
    ORDERED_BY_MISTAKE = "ordered by mistake"


# hint, a JSON value that fits the schema the hint publishes
CASES: dict[str, tuple[Any, Any]] = {
    "tuple": (tuple[str, ...], ["A1", "B2"]),
    "set": (set[str], ["A1", "B2"]),
    "frozenset": (frozenset[str], ["A1", "B2"]),
    "enum": (Reason, "ordered by mistake"),
    "datetime": (datetime.datetime, "2026-03-01T09:30:00Z"),
    "date": (datetime.date, "2026-03-01"),
    "uuid": (uuid.UUID, "12345678-1234-5678-1234-567812345678"),
    "decimal": (decimal.Decimal, "12.50"),
}


UNORDERED = {"set", "frozenset"}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_json_value_that_fits_the_schema_reaches_the_tool(
    either_store: RunStore, kind: str
) -> None:
    hint, value = CASES[kind]
    calls: list[Any] = []

    def note(value: Any) -> dict[str, str]:
        calls.append(value)
        return {"noted": str(value)}

    note.__annotations__["value"] = hint
    if kind in UNORDERED:  # no stable JSON order: refused at registration, naming the parameter
        with pytest.raises(TetherError) as info:
            make_tool(note)
        assert info.value.code is ErrorCode.CONFIG_INVALID and "'value'" in info.value.message
        return
    tool = make_tool(note)
    assert tool.spec.input_schema["properties"]["value"]  # registration published its schema

    store = either_store
    runtime = build(store, [tool])
    run = play(runtime, [{"tool": "note", "args": {"value": value}}, {"answer": "Noted."}])

    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    assert len(calls) == 1, "the call that fits the published schema never reached the tool"
    assert isinstance(calls[0], getattr(hint, "__origin__", hint))  # as the declared type
    steps = store.get_run(run.id).steps
    assert any(s.kind is StepKind.TOOL and s.data["ok"] for s in steps)
