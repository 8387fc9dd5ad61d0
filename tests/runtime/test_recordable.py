"""The encoder's quick yes on recordable values never says yes where the walk says no."""

from __future__ import annotations

from typing import Any

import pytest

from tether.core.errors import TetherError
from tether.core.shapes import MAX_NESTING
from tether.core.types import ModelTurn, ToolCall, TurnKind
from tether.runtime.inputs import (
    MAX_INT_BITS,
    _walk,
    check_recordable,
    check_turn,
    plainly_recordable,
    unrecordable,
)
from tether.tools.execute import check_output
from tether.tools.registry import make_tool

LARGEST = 2**MAX_INT_BITS - 1  # the largest integer a step may hold (309 digits)

REFUSED: list[Any] = [
    {"a": "x\x00y"},
    {"a\x00": 1},
    {"a": "\ud800"},
    {"\udfff": 1},
    {"a": float("nan")},
    {"a": [float("inf")]},
    {"a": -float("inf")},
    {"a": LARGEST + 1},
    {"a": -(LARGEST + 1)},
    {"a": 10**5000},  # past what the encoder itself prints
    {1: "a"},
    {True: "a"},
    {None: "a"},
    {1.5: "a"},
    {1: "a", "1": "b"},
    {"a": {"b": [{"c": b"bytes"}]}},
    {"a": {1, 2}},
    [object()],
]

ACCEPTED: list[Any] = [
    {},
    [],
    {"a": LARGEST, "b": -LARGEST},
    {"a": 10**307, "text": "9" * 400},  # a long run of digits inside a string
    {"a": "\\u0000"},  # a backslash, then the letters: no NUL
    {"a": ["é", "日本", "😀", None, True, False, 0, -0.0, 1e308, 5e-324]},
    {"a": (1, 2), "b": [("x", {"y": (None,)})]},  # tuples are JSON arrays
    {"nested": {"k": [{"k": [{"k": "v"}]}]}},
]


@pytest.mark.parametrize("value", REFUSED, ids=range(len(REFUSED)))
def test_the_quick_check_never_accepts_what_the_walk_refuses(value: Any) -> None:
    assert _walk(value, "value") is not None
    assert not plainly_recordable(value)
    assert unrecordable(value) == _walk(value, "value")


@pytest.mark.parametrize("value", ACCEPTED, ids=range(len(ACCEPTED)))
def test_what_the_walk_accepts_stays_accepted(value: Any) -> None:
    assert _walk(value, "value") is None
    assert unrecordable(value) is None


def test_plain_json_is_decided_without_the_walk() -> None:
    assert plainly_recordable({"order_id": "#W1", "items": [{"qty": 2, "price": 9.5}]})
    assert plainly_recordable({"a": LARGEST // 10})  # 308 digits: certainly in range


def test_the_message_names_the_place_of_the_first_problem() -> None:
    value = {"ok": [1, 2], "bad": {"deep": [0, "x\x00"]}}
    assert unrecordable(value, "arguments") == (
        "arguments.bad.deep[1] holds a NUL or a lone surrogate character"
    )


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("get_order", {1: "#W1"}, "INVALID_ARGUMENTS"),
        ("get_order", {"id": 10**400}, "INVALID_ARGUMENTS"),
        ("get_order", {"id": float("nan")}, "INVALID_ARGUMENTS"),
        ("get\x00order", {"id": "#W1"}, "MODEL_BAD_OUTPUT"),
        ("get_order\ud800", {"id": "\ud800"}, "MODEL_BAD_OUTPUT"),  # the name is named first
    ],
)
def test_a_turn_with_unrecordable_calls_keeps_its_codes(
    name: str, arguments: dict[Any, Any], code: str
) -> None:
    turn = ModelTurn(TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c1", name, arguments),))
    with pytest.raises(TetherError) as raised:
        check_turn(turn)
    assert raised.value.code.value == code


def test_a_recordable_turn_passes_unchanged() -> None:
    turn = ModelTurn(
        TurnKind.TOOL_CALLS,
        text="looking",
        tool_calls=(ToolCall("c1", "get_order", {"id": "#W1", "n": LARGEST}),),
        raw={"usage": [1, 2]},
    )
    assert check_turn(turn) is turn


def test_a_call_id_past_the_width_every_store_keeps_is_refused_and_the_width_passes() -> None:
    """A call's id is kept in 128-character columns (an approval, a single-use token's use):
    PostgreSQL refuses a longer one where SQLite keeps it, so no store gets one."""
    at_width = ModelTurn(TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c" * 128, "get_order", {}),))
    assert check_turn(at_width) is at_width
    past = ModelTurn(TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c" * 129, "get_order", {}),))
    with pytest.raises(TetherError) as raised:
        check_turn(past)
    assert raised.value.code.value == "MODEL_BAD_OUTPUT"
    assert "longer than 128" in raised.value.message


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize("text", ["", "[{" * 40])  # brackets in a string overstate the depth
def test_arguments_nested_too_deep_are_refused_and_the_limit_itself_passes(text: str) -> None:
    at_limit = ModelTurn(
        TurnKind.TOOL_CALLS, text=text, tool_calls=(ToolCall("c1", "f", _nested(MAX_NESTING)),)
    )
    assert check_turn(at_limit) is at_limit
    past = ModelTurn(
        TurnKind.TOOL_CALLS, text=text, tool_calls=(ToolCall("c1", "f", _nested(MAX_NESTING + 1)),)
    )
    with pytest.raises(TetherError) as raised:
        check_turn(past)
    assert raised.value.code.value == "MODEL_BAD_OUTPUT"
    assert "nest deeper" in raised.value.message


def _holding_itself() -> dict[str, Any]:
    value: dict[str, Any] = {"order_id": "#W1"}
    value["again"] = [value]
    return value


def test_arguments_that_hold_themselves_are_refused_at_once() -> None:
    turn = ModelTurn(
        TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c1", "get_order", _holding_itself()),)
    )
    with pytest.raises(TetherError) as raised:
        check_turn(turn)
    assert raised.value.code.value == "MODEL_BAD_OUTPUT"
    assert "nest deeper than" in raised.value.message


def test_a_step_that_holds_itself_is_an_internal_error_naming_it() -> None:
    with pytest.raises(TetherError) as raised:
        check_recordable("scope", {"facts": _holding_itself()})
    assert raised.value.code.value == "INTERNAL"
    assert "nests too deep, or holds itself" in raised.value.message


def test_output_that_holds_itself_is_bad_output() -> None:
    def get_order(order_id: str) -> dict[str, Any]:
        """Read an order."""
        return _holding_itself()

    found = check_output(make_tool(get_order), _holding_itself())
    assert found is not None and found[0].value == "BAD_OUTPUT"
