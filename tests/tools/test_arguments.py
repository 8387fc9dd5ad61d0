"""Argument checking that fits real models: per-tool strictness for undeclared keys, and no
coercion that changes a value (an int for a float stays an int; a string never becomes a
number). Every test calls a real tool and looks at what the function actually received."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pytest
from pydantic import Field
from typing_extensions import TypedDict

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.tools import DirectExecutor, EnvelopeExecutor, Tool, make_tool, tool
from tether.tools.shared_state import InProcessState


class Seen:
    """Records the keyword arguments each call of a tool received."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []


def pay_tool(seen: Seen, **settings: Any) -> Tool:
    def pay(order_id: str, amount: float) -> dict[str, Any]:
        """Pay an order."""
        seen.calls.append({"order_id": order_id, "amount": amount})
        return {"paid": amount}

    return make_tool(pay, **settings)


def envelope() -> EnvelopeExecutor:
    return EnvelopeExecutor(InProcessState(), sleep=lambda _: None)


# -- no coercion that changes values ----------------------------------------------------------


@pytest.mark.parametrize("executor", [envelope(), DirectExecutor()], ids=["envelope", "direct"])
def test_an_int_for_a_float_parameter_reaches_the_tool_as_an_int(executor: Any) -> None:
    seen = Seen()
    outcome = executor.execute(pay_tool(seen), {"order_id": "#1", "amount": 250})
    assert outcome.ok
    (call,) = seen.calls
    assert call["amount"] == 250 and type(call["amount"]) is int
    # the output keeps it too: {"paid": 250}, not 250.0
    assert type(outcome.output["paid"]) is int
    assert json.dumps(outcome.observation()) == '{"ok": true, "output": {"paid": 250}}'


def test_a_float_stays_the_same_float() -> None:
    seen = Seen()
    assert envelope().execute(pay_tool(seen), {"order_id": "#1", "amount": 2.5}).ok
    assert seen.calls == [{"order_id": "#1", "amount": 2.5}]


@pytest.mark.parametrize(
    "amount",
    ["250", "2.5", True, False, None, math.nan, math.inf, -math.inf, 10**400, [250], {"v": 2}],
    ids=repr,
)
def test_near_misses_for_a_float_are_invalid_and_never_reach_the_tool(amount: Any) -> None:
    seen = Seen()
    outcome = envelope().execute(pay_tool(seen), {"order_id": "#1", "amount": amount})
    assert outcome.code is ErrorCode.INVALID_ARGUMENTS
    assert "amount" in outcome.message and not outcome.attempts
    assert seen.calls == []


@pytest.mark.parametrize("quantity", ["5", 5.0, 5.5, True, math.nan], ids=repr)
def test_near_misses_for_an_int_are_invalid(quantity: Any) -> None:
    got: list[int] = []

    def restock(sku: str, quantity: int) -> None:
        got.append(quantity)

    with pytest.raises(TetherError) as info:
        make_tool(restock).validate({"sku": "A", "quantity": quantity})
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS
    assert info.value.details["problems"][0]["field"] == "quantity"


def test_constraints_on_a_float_also_check_ints() -> None:
    def refund(amount: Annotated[float, Field(gt=0, le=500)]) -> float:
        return amount

    refund_tool = make_tool(refund)
    for bad in (-5, 0, 501, -0.5, 500.5):
        with pytest.raises(TetherError) as info:
            refund_tool.validate({"amount": bad})
        assert info.value.code is ErrorCode.INVALID_ARGUMENTS, bad
    assert refund_tool(amount=500) == 500 and type(refund_tool(amount=500)) is int
    # the schema the model sees uses standard JSON Schema words
    amount = refund_tool.spec.input_schema["properties"]["amount"]
    assert amount["type"] == "number"
    assert amount["exclusiveMinimum"] == 0 and amount["maximum"] == 500


def test_ints_inside_containers_stay_ints() -> None:
    received: dict[str, Any] = {}

    def quote(prices: list[float], taxes: dict[str, float], discount: float | None = None) -> None:
        received.update(prices=prices, taxes=taxes, discount=discount)

    quote_tool = make_tool(quote)
    quote_tool(prices=[1, 2.5, 3], taxes={"fr": 20, "de": 19.5}, discount=5)
    assert [type(p) for p in received["prices"]] == [int, float, int]
    assert type(received["taxes"]["fr"]) is int and type(received["discount"]) is int
    with pytest.raises(TetherError):
        quote_tool.validate({"prices": [1, "2"], "taxes": {}})


class Total(TypedDict):
    amount: float
    currency: str


def test_outputs_are_checked_but_returned_exactly_as_the_tool_gave_them() -> None:
    def total(order_id: str) -> Total:
        return {"amount": 250, "currency": "EUR"}  # an int where the schema says number

    def wrong(order_id: str) -> Total:
        return {"amount": "250", "currency": "EUR"}  # type: ignore[typeddict-item]

    outcome = envelope().execute(make_tool(total), {"order_id": "#1"})
    assert outcome.ok and outcome.output == {"amount": 250, "currency": "EUR"}
    assert type(outcome.output["amount"]) is int
    bad = envelope().execute(make_tool(wrong), {"order_id": "#1"})
    assert bad.code is ErrorCode.BAD_OUTPUT and "amount" in bad.message


# -- undeclared keys: forbid or ignore, per tool ----------------------------------------------


def test_defaults_ignore_on_read_tools_and_forbid_on_tools_with_side_effects() -> None:
    seen = Seen()
    assert pay_tool(seen).spec.extra == "ignore"
    assert pay_tool(seen, risk=RiskClass.WRITE).spec.extra == "forbid"
    assert pay_tool(seen, risk=RiskClass.IRREVERSIBLE).spec.extra == "forbid"


def test_an_ignored_key_is_dropped_and_never_passed_to_the_function() -> None:
    seen = Seen()
    read = pay_tool(seen)  # a read tool: the default is "ignore"
    arguments = {"order_id": "#1", "amount": 3, "note": "from the model"}
    # `pay` takes no `note`: passing it would raise TypeError (TOOL_ERROR), not succeed
    outcome = envelope().execute(read, arguments)
    assert outcome.ok, outcome.message
    assert seen.calls == [{"order_id": "#1", "amount": 3}]
    assert read.validate(arguments) == {"order_id": "#1", "amount": 3}
    assert "additionalProperties" not in read.spec.input_schema


def test_a_forbidden_key_fails_the_call_before_the_tool_runs() -> None:
    seen = Seen()
    write = pay_tool(seen, risk=RiskClass.WRITE)
    outcome = envelope().execute(write, {"order_id": "#1", "amount": 3, "note": "x"})
    assert outcome.code is ErrorCode.INVALID_ARGUMENTS
    assert "note" in outcome.message and not outcome.attempts
    assert seen.calls == []
    assert write.spec.input_schema["additionalProperties"] is False


def test_the_setting_can_be_chosen_either_way_and_through_the_decorator() -> None:
    seen = Seen()
    strict_read = pay_tool(seen, extra="forbid")
    lenient_write = pay_tool(seen, risk=RiskClass.WRITE, extra="ignore")
    assert (strict_read.spec.extra, lenient_write.spec.extra) == ("forbid", "ignore")
    with pytest.raises(TetherError):
        strict_read.validate({"order_id": "#1", "amount": 1, "x": 1})
    assert lenient_write.validate({"order_id": "#1", "amount": 1, "x": 1}) == {
        "order_id": "#1",
        "amount": 1,
    }

    @tool(risk=RiskClass.WRITE, extra="ignore")
    def note(text: str) -> str:
        return text

    assert isinstance(note, Tool) and note.spec.extra == "ignore"
    assert note(text="hi", mood="cheerful") == "hi"


@pytest.mark.parametrize("extra", ["allow", "FORBID", "", 1, True])
def test_an_invalid_setting_fails_registration_naming_it(extra: Any) -> None:
    with pytest.raises(TetherError) as info:
        pay_tool(Seen(), extra=extra)
    assert info.value.code is ErrorCode.CONFIG_INVALID
    assert "extra" in info.value.message and "pay" in info.value.message


class Line(TypedDict):
    sku: str
    quantity: int


def test_nested_undeclared_keys_follow_the_tools_setting() -> None:
    received: list[list[Line]] = []

    def order(lines: list[Line]) -> None:
        received.append(lines)

    arguments = {"lines": [{"sku": "A", "quantity": 2, "gift": True}]}
    forbid = make_tool(order, risk=RiskClass.WRITE)
    with pytest.raises(TetherError) as info:
        forbid.validate(arguments)
    assert info.value.details["problems"][0]["field"] == "lines.0.gift"
    schema = forbid.spec.input_schema
    assert schema["$defs"]["Line"]["additionalProperties"] is False

    ignore = make_tool(order, risk=RiskClass.WRITE, extra="ignore")
    ignore(**arguments)
    assert received == [[{"sku": "A", "quantity": 2}]]


def test_validated_arguments_are_plain_json_and_validate_again_to_the_same() -> None:
    seen = Seen()
    read = pay_tool(seen)
    plain = read.validate({"order_id": "#1", "amount": 250, "junk": [1]})
    assert json.loads(json.dumps(plain)) == plain == {"order_id": "#1", "amount": 250}
    assert read.validate(plain) == plain


def test_parameters_left_out_stay_out_and_the_functions_defaults_apply() -> None:
    def search(query: str, limit: int = 10) -> dict[str, Any]:
        return {"query": query, "limit": limit}

    search_tool = make_tool(search)
    assert search_tool.validate({"query": "shoes"}) == {"query": "shoes"}
    assert search_tool(query="shoes") == {"query": "shoes", "limit": 10}


@pytest.mark.parametrize("arguments", [["#1"], "order_id=#1", None, 7])
def test_arguments_that_are_not_an_object_are_invalid(arguments: Any) -> None:
    seen = Seen()
    outcome = envelope().execute(pay_tool(seen), arguments)
    assert outcome.code is ErrorCode.INVALID_ARGUMENTS and seen.calls == []
