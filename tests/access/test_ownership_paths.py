"""Ownership declared on nested and list arguments: every id a path reaches is checked, a
broken lookup or callback denies, and a bad selector fails at registration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel

from tether.access.checks import OwnershipCheck, ResourceCallback
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.selectors import as_id, parse_selector, schema_problem
from tether.core.types import Agent, Effect, Principal, ToolCall, Verdict
from tether.tools.checks import SchemaCheck
from tether.tools.registry import Tool, ToolRegistry, make_tool

ALICE, BOB = "alice", "bob"


class Payment(BaseModel):
    payment_id: str
    amount: int = 0


class Passenger(BaseModel):
    id: str


class Leg(BaseModel):
    passengers: list[Passenger | None]


class Booking(BaseModel):
    customer_id: str | None = None
    note: str = ""


class Leaf(BaseModel):
    id: str


class Branch(BaseModel):
    leaves: list[Leaf] | None = None


class Tree(BaseModel):
    id: str
    branches: list[Branch] = []


def book(
    booking: Booking | None = None,
    payment_methods: list[Payment] | None = None,
    items: list[str] | None = None,
    legs: list[Leg] | None = None,
    voucher: Payment | None = None,
    grid: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Book a trip."""
    return {}


def cancel(order_id: str) -> dict[str, Any]:
    """Cancel an order."""
    return {}


def lookup(account_no: int) -> dict[str, Any]:
    """Look up an account by number."""
    return {}


def walk(tree: Tree, meta: dict[str, str] | None = None) -> dict[str, Any]:
    """Walk a tree."""
    return {}


BOOK_RESOURCES = {
    "booking.customer_id": "user",
    "payment_methods[].payment_id": "payment",
    "items[]": "item",
    "legs[].passengers[].id": "user",
    "voucher.payment_id": "payment",
    "grid[][]": "item",
}
OWNERS = {
    ("user", ALICE): ALICE,
    ("user", BOB): BOB,
    ("payment", "pm_a1"): ALICE,
    ("payment", "pm_a2"): ALICE,
    ("payment", "pm_a3"): ALICE,
    ("payment", "pm_b1"): BOB,
    ("item", "it_a1"): ALICE,
    ("item", "it_a2"): ALICE,
    ("item", "it_b1"): BOB,
    ("item", "7"): BOB,
    ("order", "o_a"): ALICE,
    ("order", "o_b"): BOB,
    ("account", "42"): BOB,
    ("account", "41"): ALICE,
}


class DictOwners:
    """Owners from a dict; counts lookups."""

    def __init__(self, owners: Mapping[tuple[str, str], str]) -> None:
        self.owners = owners
        self.lookups: list[tuple[str, str]] = []

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        self.lookups.append((kind, resource_id))
        return self.owners.get((kind, resource_id))


class BrokenOwners:
    """An owner store that is down."""

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        raise ConnectionError("store unreachable")


def tools() -> list[Tool]:
    return [
        make_tool(book, resources=BOOK_RESOURCES),
        make_tool(cancel, resources={"order_id": "order"}),
        make_tool(lookup, resources={"account_no": "account"}),
    ]


def context(registry: ToolRegistry | None = None) -> GuardContext:
    registry = registry or ToolRegistry(tools())
    agent = Agent("desk", "help", tuple(registry.names()))
    return GuardContext("run-1", Principal(ALICE, "test", ("customer",)), agent, registry, {})


def check(
    name: str,
    arguments: Mapping[str, Any],
    *,
    owners: Any = None,
    callbacks: Mapping[str, ResourceCallback] | None = None,
    registry: ToolRegistry | None = None,
) -> Verdict:
    ownership = OwnershipCheck(owners or DictOwners(OWNERS), selectors=callbacks)
    return ownership(context(registry), ToolCall("call-1", name, arguments))


def assert_denied_at(verdict: Verdict, where: str, resource_id: str) -> None:
    assert verdict.effect is Effect.DENY
    assert [r.code for r in verdict.reasons] == [ErrorCode.PERMISSION_DENIED]
    assert verdict.facts["argument"] == where
    assert verdict.facts["resource_id"] == resource_id
    assert where in verdict.reasons[0].message


# --- plain names: unchanged -------------------------------------------------------------------


def test_plain_name_owned_foreign_and_absent_behave_as_before() -> None:
    owned = check("cancel", {"order_id": "o_a"})
    assert owned.effect is Effect.ALLOW
    assert owned.facts["resources"] == {"order:o_a": "owned"}
    assert owned.facts["paths"] == {"order_id": "order:o_a"}

    foreign = check("cancel", {"order_id": "o_b"})
    assert_denied_at(foreign, "order_id", "o_b")
    assert foreign.facts["resource_kind"] == "order"

    absent = check("cancel", {"order_id": "o_missing"})  # left to the tool's NOT_FOUND
    assert absent.effect is Effect.ALLOW
    assert absent.facts["resources"] == {"order:o_missing": "absent"}


# --- foreign ids hidden in lists and objects ------------------------------------------------


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_foreign_payment_anywhere_in_the_list_is_denied_by_index(position: int) -> None:
    methods = [{"payment_id": "pm_a1"}, {"payment_id": "pm_a2"}, {"payment_id": "pm_a3"}]
    methods[position] = {"payment_id": "pm_b1"}
    verdict = check("book", {"payment_methods": methods})
    assert_denied_at(verdict, f"payment_methods[{position}].payment_id", "pm_b1")
    assert verdict.facts["selector"] == "payment_methods[].payment_id"
    assert verdict.facts["resource_kind"] == "payment"


def test_every_element_is_checked_when_all_are_owned() -> None:
    methods = [{"payment_id": "pm_a1"}, {"payment_id": "pm_a2"}, {"payment_id": "pm_a3"}]
    verdict = check("book", {"payment_methods": methods, "items": ["it_a1", "it_a2"]})
    assert verdict.effect is Effect.ALLOW
    assert verdict.facts["paths"] == {
        "payment_methods[0].payment_id": "payment:pm_a1",
        "payment_methods[1].payment_id": "payment:pm_a2",
        "payment_methods[2].payment_id": "payment:pm_a3",
        "items[0]": "item:it_a1",
        "items[1]": "item:it_a2",
    }


def test_a_foreign_id_in_the_third_element_of_a_list_of_ids_is_denied() -> None:
    verdict = check("book", {"items": ["it_a1", "it_a2", "it_b1"]})
    assert_denied_at(verdict, "items[2]", "it_b1")


def test_a_foreign_customer_inside_a_nested_object_is_denied() -> None:
    verdict = check("book", {"booking": {"customer_id": BOB, "note": "for me"}})
    assert_denied_at(verdict, "booking.customer_id", BOB)


def test_a_foreign_passenger_two_lists_deep_is_denied() -> None:
    legs = [
        {"passengers": [{"id": ALICE}]},
        {"passengers": [{"id": ALICE}, {"id": BOB}]},
    ]
    verdict = check("book", {"legs": legs})
    assert_denied_at(verdict, "legs[1].passengers[1].id", BOB)


def test_a_foreign_id_in_a_list_of_lists_is_denied() -> None:
    verdict = check("book", {"grid": [["it_a1"], ["it_a2", "it_b1"]]})
    assert_denied_at(verdict, "grid[1][1]", "it_b1")


def test_an_optional_nested_object_is_checked_when_present() -> None:
    verdict = check("book", {"voucher": {"payment_id": "pm_b1"}})
    assert_denied_at(verdict, "voucher.payment_id", "pm_b1")


# --- ids that are not strings ---------------------------------------------------------------


def test_an_integer_id_is_checked_in_decimal_form() -> None:
    foreign = check("lookup", {"account_no": 42})
    assert_denied_at(foreign, "account_no", "42")
    owned = check("lookup", {"account_no": 41})
    assert owned.effect is Effect.ALLOW
    assert owned.facts["resources"] == {"account:41": "owned"}


def test_an_integer_smuggled_into_a_list_of_string_ids_is_still_checked() -> None:
    verdict = check("book", {"items": ["it_a1", 7]})  # ownership does not trust the schema
    assert_denied_at(verdict, "items[1]", "7")


def test_booleans_floats_and_objects_are_not_ids_and_the_schema_check_rejects_them() -> None:
    assert [as_id(v) for v in (True, 42.0, {"id": "o_b"}, ["o_b"], None)] == [None] * 5
    ctx = context()
    for value in (42.0, True, "42"):  # strict schema: an int argument takes only an int
        call = ToolCall("call-1", "lookup", {"account_no": value})
        schema = SchemaCheck()(ctx, call)
        assert schema.effect is Effect.DENY
        assert schema.reasons[0].code is ErrorCode.INVALID_ARGUMENTS
    listed = ToolCall("call-1", "book", {"items": ["it_a1", ["it_b1"]]})
    assert SchemaCheck()(ctx, listed).effect is Effect.DENY  # the chain stops here first


def test_an_integer_too_long_to_print_denies_rather_than_slipping_through() -> None:
    verdict = check("lookup", {"account_no": 10**5000})
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PERMISSION_DENIED
    assert verdict.facts["error"] == "ValueError"
    assert verdict.facts["selector"] == "account_no"


# --- missing branches -----------------------------------------------------------------------


def test_missing_keys_and_none_branches_yield_nothing_and_are_left_to_the_tool() -> None:
    owners = DictOwners(OWNERS)
    arguments = {
        "booking": {"note": "no customer given"},  # the path walks into a missing key
        "payment_methods": [{"amount": 3}, {"payment_id": "pm_a1"}],
        "legs": [None, {"passengers": [None, {"id": ALICE}]}],
        "voucher": None,
    }
    verdict = check("book", arguments, owners=owners)
    assert verdict.effect is Effect.ALLOW
    assert verdict.facts["paths"] == {
        "payment_methods[1].payment_id": "payment:pm_a1",
        "legs[1].passengers[1].id": f"user:{ALICE}",
    }
    assert owners.lookups == [("payment", "pm_a1"), ("user", ALICE)]


def test_a_wrong_shape_on_the_way_yields_nothing_from_the_selector() -> None:
    selector = parse_selector("payment_methods[].payment_id")
    assert selector.extract({"payment_methods": {"0": {"payment_id": "pm_b1"}}}) == []
    assert selector.extract({"payment_methods": "pm_b1"}) == []
    assert parse_selector("items[]").extract({"items": "it_b1"}) == []  # a string is no list


def test_an_id_repeated_across_paths_is_looked_up_once() -> None:
    owners = DictOwners(OWNERS)
    verdict = check("book", {"items": ["it_a1", "it_a1"], "grid": [["it_a1"]]}, owners=owners)
    assert verdict.effect is Effect.ALLOW
    assert owners.lookups == [("item", "it_a1")]
    assert set(verdict.facts["paths"]) == {"items[0]", "items[1]", "grid[0][0]"}


# --- failing closed -------------------------------------------------------------------------


def test_an_owner_lookup_that_raises_denies_with_the_reason_recorded() -> None:
    methods = [{"payment_id": "pm_a1"}]
    verdict = check("book", {"payment_methods": methods}, owners=BrokenOwners())
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PERMISSION_DENIED
    assert "could not be established" in verdict.reasons[0].message
    assert verdict.facts["error"] == "ConnectionError"
    assert verdict.facts["argument"] == "payment_methods[0].payment_id"
    assert verdict.facts["selector"] == "payment_methods[].payment_id"


def test_an_owner_lookup_that_raises_a_tether_error_records_its_code() -> None:
    class Unavailable:
        def owner_of(self, kind: str, resource_id: str) -> str | None:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, "down")

    verdict = check("cancel", {"order_id": "o_a"}, owners=Unavailable())
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PERMISSION_DENIED
    assert verdict.facts["error"] == "TetherError"
    assert verdict.facts["error_code"] == "STORE_UNAVAILABLE"


def test_a_callback_that_raises_denies_with_the_reason_recorded() -> None:
    def broken(arguments: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        return [("order", arguments["no_such_key"], "order_id")]

    verdict = check("cancel", {"order_id": "o_a"}, callbacks={"cancel": broken})
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PERMISSION_DENIED
    assert "could not be established" in verdict.reasons[0].message
    assert verdict.facts["error"] == "KeyError"
    assert verdict.facts["selector"] == "callback"


def test_a_callback_that_fails_midway_through_its_answer_denies() -> None:
    def lazy(arguments: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
        yield ("order", "o_a", "order_id")
        raise RuntimeError("lost the connection")

    verdict = check("cancel", {"order_id": "o_a"}, callbacks={"cancel": lazy})
    assert verdict.effect is Effect.DENY
    assert verdict.facts["error"] == "RuntimeError"


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "o_b",
        [("order", "o_b")],
        [("order", None, "x")],
        [("order", 3.5, "x")],
        [("", "o_a", "x")],
        [("order", "o_a", 1)],
    ],
)
def test_a_callback_answer_of_the_wrong_shape_denies(answer: Any) -> None:
    verdict = check("cancel", {"order_id": "o_a"}, callbacks={"cancel": lambda a: answer})
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PERMISSION_DENIED
    assert verdict.facts["selector"] == "callback"


def test_a_hand_built_spec_with_a_malformed_selector_denies_rather_than_raises() -> None:
    good = make_tool(cancel, resources={"order_id": "order"})
    bad = replace(good, spec=replace(good.spec, resources={"order_id..x": "order"}))
    verdict = check("cancel", {"order_id": "o_a"}, registry=ToolRegistry([bad]))
    assert verdict.effect is Effect.DENY
    assert verdict.facts["error_code"] == "CONFIG_INVALID"
    assert verdict.facts["selector"] == "order_id..x"


# --- callbacks: both sources are checked ----------------------------------------------------


def from_note(arguments: Mapping[str, Any]) -> list[tuple[str, str | int, str]]:
    """Ownership no path can express: an order number written in a free-text note."""
    note = (arguments.get("booking") or {}).get("note", "")
    return [("order", note.removeprefix("re:"), "booking.note")] if note.startswith("re:") else []


def test_a_callback_names_a_foreign_resource_the_paths_do_not() -> None:
    arguments = {"booking": {"customer_id": ALICE, "note": "re:o_b"}}
    verdict = check("book", arguments, callbacks={"book": from_note})
    assert_denied_at(verdict, "booking.note", "o_b")
    assert verdict.facts["selector"] == "callback"


def test_paths_are_still_checked_when_a_callback_is_given() -> None:
    arguments = {"booking": {"customer_id": BOB, "note": "re:o_a"}}
    verdict = check("book", arguments, callbacks={"book": from_note})
    assert_denied_at(verdict, "booking.customer_id", BOB)


def test_both_sources_are_recorded_when_everything_is_owned() -> None:
    arguments = {"booking": {"customer_id": ALICE, "note": "re:o_a"}}
    verdict = check("book", arguments, callbacks={"book": from_note})
    assert verdict.effect is Effect.ALLOW
    assert verdict.facts["resources"] == {f"user:{ALICE}": "owned", "order:o_a": "owned"}
    assert verdict.facts["paths"] == {
        "booking.customer_id": f"user:{ALICE}",
        "booking.note": "order:o_a",
    }


def test_a_callback_cannot_change_the_arguments_the_tool_runs_with() -> None:
    def meddling(arguments: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        arguments["booking"]["customer_id"] = ALICE
        return []

    arguments = {"booking": {"customer_id": BOB}}
    verdict = check("book", arguments, callbacks={"book": meddling})
    assert_denied_at(verdict, "booking.customer_id", BOB)
    assert arguments == {"booking": {"customer_id": BOB}}


# --- registration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "position"),
    [
        ("a[]].b", 3),
        ("", 0),
        ("a..b", 2),
        (".a", 0),
        ("a.", 2),
        ("a[0]", 1),
        ("a[", 1),
        ("a b", 1),
        ("[]", 0),
    ],
)
def test_a_malformed_selector_fails_registration_naming_it(selector: str, position: int) -> None:
    with pytest.raises(TetherError) as caught:
        make_tool(book, resources={selector: "item"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert repr(selector) in caught.value.message
    assert "tool book" in caught.value.message
    assert caught.value.details == {"selector": selector, "position": position}


@pytest.mark.parametrize(
    "selector",
    [
        "nope",  # no such argument
        "booking.nope",  # no such field
        "booking[]",  # not a list
        "payment_methods.payment_id",  # a list walked as an object
        "items[].id",  # the elements are strings
        "booking",  # ends at an object, which is no id
        "payment_methods[]",  # ends at objects
        "legs[].passengers[].name",
    ],
)
def test_a_selector_that_names_no_argument_fails_registration(selector: str) -> None:
    with pytest.raises(TetherError) as caught:
        make_tool(book, resources={selector: "item"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert f"tool book: resource selector {selector!r}" in caught.value.message
    assert caught.value.details == {"selector": selector}


def test_paths_through_free_form_objects_cannot_be_checked_and_are_refused() -> None:
    with pytest.raises(TetherError) as caught:
        make_tool(walk, resources={"meta.owner": "user"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "'meta.owner'" in caught.value.message


def test_references_optionals_and_items_are_followed_through_nested_models() -> None:
    resources = {"tree.id": "node", "tree.branches[].leaves[].id": "node"}
    assert make_tool(walk, resources=resources).spec.resources == resources
    found = parse_selector("tree.branches[].leaves[].id").extract(
        {"tree": {"id": "r", "branches": [{"leaves": None}, {"leaves": [{"id": "g"}]}]}}
    )
    assert [(f.where, f.value) for f in found] == [("tree.branches[1].leaves[0].id", "g")]


def test_a_reference_cycle_in_a_schema_is_refused_not_followed_forever() -> None:
    schema = {
        "$defs": {"Loop": {"$ref": "#/$defs/Loop"}, "Node": {"$ref": "#/$defs/Node/x"}},
        "properties": {"x": {"$ref": "#/$defs/Loop"}, "y": {"$ref": "#/$defs/Missing"}},
    }
    for text in ("x", "y", "x.id"):
        problem = schema_problem(parse_selector(text), schema)
        assert problem, text


@pytest.mark.parametrize("kind", ["", None, 3])
def test_a_resource_kind_must_be_a_non_empty_string(kind: Any) -> None:
    with pytest.raises(TetherError) as caught:
        make_tool(cancel, resources={"order_id": kind})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "'order_id'" in caught.value.message


def test_every_declared_selector_registers_and_is_kept_as_written() -> None:
    tool = make_tool(book, resources=BOOK_RESOURCES)
    assert tool.spec.resources == BOOK_RESOURCES
    assert parse_selector("legs[].passengers[].id").steps == (
        "legs",
        "[]",
        "passengers",
        "[]",
        "id",
    )
