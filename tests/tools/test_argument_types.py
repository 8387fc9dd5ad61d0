"""Structured parameters: TypedDicts (typing's too, on Python 3.11), dataclasses and pydantic
models register, validate strictly at every level, and reach the function as the declared
types, while what a run records stays plain JSON. Types a schema cannot be built for fail
registration with CONFIG_INVALID naming the tool and the parameter, never a raw exception."""

from __future__ import annotations

import dataclasses
import json
import threading
import typing
from typing import Any

import pytest
import typing_extensions
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, RootModel, field_validator

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.store import RunStore
from tether.tools import make_tool

from .conftest import run_script, shown, tool_steps


class Address(typing.TypedDict):  # typing's, which pydantic refuses on Python < 3.12
    street: str
    zip: str


class Options(typing_extensions.TypedDict, total=False):
    gift_wrap: bool
    note: str


@dataclasses.dataclass(frozen=True)
class Money:
    amount: float
    currency: str = "EUR"
    tags: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("amount must not be negative")


class Customer(BaseModel):
    """Who the order is for."""

    name: str
    email: str = Field(alias="mail", description="where receipts go")
    vip: bool = False

    @field_validator("name")
    @classmethod
    def _trim(cls, value: str) -> str:
        return value.strip()


class Received:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}


def shipping_tool(received: Received, **settings: Any) -> Any:
    def ship(
        to: Address, price: Money, customer: Customer, options: Options | None = None
    ) -> dict[str, str]:
        """Ship an order."""
        received.kwargs = {"to": to, "price": price, "customer": customer, "options": options}
        return {"status": "shipped"}

    return make_tool(ship, **settings)


GOOD = {
    "to": {"street": "1 Main St", "zip": "92107"},
    "price": {"amount": 250, "tags": ["sale"]},
    "customer": {"name": "  Ada ", "mail": "ada@example.com"},
    "options": {"gift_wrap": True},
}


def test_each_structured_parameter_reaches_the_function_as_its_declared_type() -> None:
    received = Received()
    ship = shipping_tool(received)
    assert ship(**GOOD) == {"status": "shipped"}
    got = received.kwargs
    assert type(got["to"]) is dict and got["to"] == {"street": "1 Main St", "zip": "92107"}
    assert got["price"] == Money(250, "EUR", ["sale"]) and type(got["price"]) is Money
    assert type(got["price"].amount) is int  # the dataclass got 250, not 250.0
    assert type(got["customer"]) is Customer
    assert got["customer"].name == "Ada"  # the model's own validator ran
    assert got["customer"].email == "ada@example.com" and got["customer"].vip is False
    assert got["options"] == {"gift_wrap": True}


def test_validate_gives_plain_json_that_validates_again() -> None:
    ship = shipping_tool(Received())
    plain = ship.validate(GOOD)
    assert json.loads(json.dumps(plain)) == plain
    # as the function receives them: the dataclass's defaults, the model's own validator
    assert plain["price"] == {"amount": 250, "currency": "EUR", "tags": ["sale"]}
    assert plain["customer"] == {"name": "Ada", "mail": "ada@example.com", "vip": False}
    assert ship.validate(plain) == plain


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": {"street": "1 Main St"}}, "to.zip"),  # missing key
        ({"to": {"street": "1 Main St", "zip": 92107}}, "to.zip"),  # int for str
        ({"to": "1 Main St, 92107"}, "to"),
        ({"price": {"amount": "250"}}, "price.amount"),  # string for number
        ({"price": {"amount": True}}, "price.amount"),
        ({"price": {"amount": 250, "tags": "sale"}}, "price.tags"),
        ({"price": {"amount": -1}}, "price"),  # the dataclass's __post_init__ refuses
        ({"customer": {"name": "Ada"}}, "customer.mail"),
        ({"customer": {"name": "Ada", "mail": "a@b.c", "vip": "yes"}}, "customer.vip"),
        ({"options": {"gift_wrap": 1}}, "options"),
    ],
)
def test_bad_nested_values_are_invalid_arguments_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    received = Received()
    ship = shipping_tool(received)
    with pytest.raises(TetherError) as info:
        ship.validate({**GOOD, **change})
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS
    assert info.value.details["problems"][0]["field"].startswith(field)
    assert received.kwargs == {}


def test_the_dataclass_check_message_reaches_the_model() -> None:
    with pytest.raises(TetherError) as info:
        shipping_tool(Received()).validate({**GOOD, "price": {"amount": -1}})
    assert "amount must not be negative" in info.value.message


@pytest.mark.parametrize(
    "where",
    [("to", "county"), ("price", "discount"), ("customer", "age"), ("options", "colour")],
)
def test_a_forbid_tool_refuses_extra_keys_inside_every_kind_of_type(
    where: tuple[str, str],
) -> None:
    param, key = where
    strict = shipping_tool(Received(), risk=RiskClass.WRITE)
    arguments = {**GOOD, param: {**GOOD[param], key: "x"}}
    with pytest.raises(TetherError) as info:
        strict.validate(arguments)
    assert info.value.details["problems"][0]["field"] == f"{param}.{key}"

    received = Received()
    lenient = shipping_tool(received, risk=RiskClass.WRITE, extra="ignore")
    lenient(**arguments)
    got = received.kwargs[param]
    assert key not in (got if isinstance(got, dict) else vars(got))


class LaxModel(BaseModel):
    """A model whose own config would coerce strings and keep unknown keys."""

    model_config = ConfigDict(strict=False, extra="allow")
    count: int


def test_a_models_own_config_does_not_loosen_the_tools_setting() -> None:
    def count(box: LaxModel) -> int:
        return box.count

    count_tool = make_tool(count, risk=RiskClass.WRITE)
    for bad in ({"count": "5"}, {"count": 5, "colour": "red"}):
        with pytest.raises(TetherError) as info:
            count_tool.validate({"box": bad})
        assert info.value.code is ErrorCode.INVALID_ARGUMENTS
    assert count_tool(box={"count": 5}) == 5


def test_the_input_schema_describes_the_nested_types() -> None:
    schema = shipping_tool(Received()).spec.input_schema
    defs = schema["$defs"]
    assert set(defs) == {"Address", "Money", "Customer", "Options"}
    assert defs["Address"]["required"] == ["street", "zip"]
    assert defs["Money"]["required"] == ["amount"]
    assert defs["Customer"]["properties"]["mail"]["description"] == "where receipts go"
    assert defs["Customer"]["description"] == "Who the order is for."
    assert "required" not in defs["Options"]


def test_a_run_records_plain_json_while_the_tool_gets_a_dataclass(store: RunStore) -> None:
    received = Received()
    ship = shipping_tool(received)
    run = run_script(store, [ship], [{"tool": "ship", "args": GOOD}, {"answer": "Shipped."}])
    (step,) = tool_steps(run)
    # what the tool received, as JSON: what the guards judged
    assert step["arguments"] == ship.validate(GOOD)
    assert step["arguments"]["customer"]["name"] == "Ada"
    seen = shown(step)
    assert seen["ok"] is True and seen["output"] == {"status": "shipped"}
    assert type(received.kwargs["price"]) is Money


def test_structured_return_types_check_json_outputs() -> None:
    def price(order_id: str) -> Money:
        return {"amount": 250}  # type: ignore[return-value]  # outputs are JSON, not instances

    def address(order_id: str) -> Address:
        return {"street": "1 Main St", "zip": 92107}  # type: ignore[typeddict-item]

    price_tool, address_tool = make_tool(price), make_tool(address)
    assert price_tool.spec.output_schema["required"] == ["amount"]
    assert price_tool.output_problem({"amount": 250}) == ""
    assert "zip" in address_tool.output_problem({"street": "1 Main St", "zip": 92107})


# -- types that cannot be validated fail registration ----------------------------------------


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node]


class Wrapped(RootModel[list[int]]):
    pass


class Aliased(BaseModel):
    code: str = Field(validation_alias=AliasChoices("code", "sku"))


def _recursive(tree: Node) -> None: ...


def _arbitrary(lock: threading.Lock) -> None: ...


def _root(values: Wrapped) -> None: ...


def _aliases(item: Aliased) -> None: ...


def _callable(callback: typing.Callable[[int], int]) -> None: ...


def _private(_secret: str) -> None: ...


def _unresolved(order: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (_recursive, "parameter 'tree'"),
        (_arbitrary, "parameter 'lock'"),
        (_root, "parameter 'values'"),
        (_aliases, "parameter 'item'"),
        (_callable, "parameter 'callback'"),
        (_private, "parameter '_secret'"),
        (_unresolved, "type hints do not resolve"),
    ],
)
def test_an_unvalidatable_parameter_fails_registration_with_config_invalid(
    fn: Any, fragment: str
) -> None:
    with pytest.raises(TetherError) as info:
        make_tool(fn)
    assert type(info.value) is TetherError
    assert info.value.code is ErrorCode.CONFIG_INVALID
    assert f"tool {fn.__name__}:" in info.value.message and fragment in info.value.message
    assert "errors.pydantic.dev" not in info.value.message
