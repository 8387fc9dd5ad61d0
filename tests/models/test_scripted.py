"""The scripted adapter: files in, deterministic turns out, clear errors for bad scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Message, ToolCall, TurnKind
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, load_script, parse_script

AGENT = Agent(name="support", instructions="Help.", tools=())

SCRIPT_YAML = """\
- tool: find_user_id_by_email
  args: {email: noah.brown7922@example.com}
- tool_calls:
    - tool: get_order_details
      args: {order_id: "#W1000001"}
    - tool: get_order_details
      args: {order_id: "#W1000002"}
- answer: Your order ships Monday [tool:1], per policy [kb:shipping#1].
  cite: [kb:returns#4, kb:shipping#1]
- refuse: I can only help with orders placed with this store.
"""


def request(turn: int) -> ModelRequest:
    return ModelRequest(agent=AGENT, messages=(Message("user", "hi"),), tools=(), turn=turn)


def scripted(tmp_path: Path, text: str, name: str = "script.yaml") -> ScriptedModel:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return ScriptedModel(load_script(path))


def test_every_turn_form_from_yaml(tmp_path: Path) -> None:
    model = scripted(tmp_path, SCRIPT_YAML)

    one = model.propose(request(0))
    assert one.kind is TurnKind.TOOL_CALLS
    assert one.tool_calls == (
        ToolCall("call_0_0", "find_user_id_by_email", {"email": "noah.brown7922@example.com"}),
    )

    several = model.propose(request(1))
    assert several.kind is TurnKind.TOOL_CALLS
    assert [(c.id, c.name, dict(c.arguments)) for c in several.tool_calls] == [
        ("call_1_0", "get_order_details", {"order_id": "#W1000001"}),
        ("call_1_1", "get_order_details", {"order_id": "#W1000002"}),
    ]

    answer = model.propose(request(2))
    assert answer.kind is TurnKind.ANSWER
    assert answer.text.startswith("Your order ships Monday")
    # `cite` first, then ids from the text, each once.
    assert answer.citations == ("kb:returns#4", "kb:shipping#1", "tool:1")

    refusal = model.propose(request(3))
    assert refusal.kind is TurnKind.REFUSAL
    assert refusal.text == "I can only help with orders placed with this store."
    assert refusal.tool_calls == () and refusal.citations == ()


def test_json_file_with_a_turns_key(tmp_path: Path) -> None:
    turns = [{"tool": "list_all_product_types"}, {"answer": "We sell 50 products [tool:0]."}]
    model = scripted(tmp_path, json.dumps({"turns": turns}), "script.json")
    first = model.propose(request(0))
    assert first.tool_calls == (ToolCall("call_0_0", "list_all_product_types", {}),)
    assert model.propose(request(1)).citations == ("tool:0",)


def test_turns_are_chosen_by_index_not_by_call_count(tmp_path: Path) -> None:
    model = scripted(tmp_path, SCRIPT_YAML)
    assert model.propose(request(2)).kind is TurnKind.ANSWER
    assert model.propose(request(2)).kind is TurnKind.ANSWER
    assert model.propose(request(0)).kind is TurnKind.TOOL_CALLS


def test_model_name_and_raw_turn(tmp_path: Path) -> None:
    model = ScriptedModel(parse_script([{"refuse": "no"}]), name="scripted:demo")
    turn = model.propose(request(0))
    assert model.name == "scripted:demo"
    assert turn.model == "scripted:demo"
    assert turn.raw == {"refuse": "no"}


def test_running_out_of_turns(tmp_path: Path) -> None:
    model = scripted(tmp_path, "- answer: only one\n")
    with pytest.raises(TetherError) as caught:
        model.propose(request(1))
    assert caught.value.code is ErrorCode.MODEL_SCRIPT_EXHAUSTED
    assert "1 turns" in caught.value.message and "turn 2" in caught.value.message


@pytest.mark.parametrize(
    ("data", "turn_no"),
    [
        ([{"answer": "ok"}, {"tool": "t", "answer": "both"}], 2),
        ([{"answer": "ok"}, {"answer": "ok"}, {}], 3),
        ([{"args": {"a": 1}, "answer": "x"}], 1),
        ([{"answer": "x", "unknown": 1}], 1),
        ([{"refuse": "no", "cite": ["kb:a#1"]}], 1),
        ([{"answer": "ok"}, {"tool_calls": [{"tool": ""}]}], 2),
        ([{"tool_calls": [{"tool": "t", "args": {}, "extra": True}]}], 1),
        (["just a string"], 1),
        ([{"tool": "t", "args": ["not", "a", "mapping"]}], 1),
    ],
)
def test_malformed_turns_name_the_turn(data: list[Any], turn_no: int) -> None:
    with pytest.raises(TetherError) as caught:
        parse_script(data, "demo.yaml")
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert f"demo.yaml: turn {turn_no}:" in caught.value.message


@pytest.mark.parametrize("data", [{"answer": "not in a list"}, "text", 42, None])
def test_a_script_must_be_a_list(data: Any) -> None:
    with pytest.raises(TetherError) as caught:
        parse_script(data)
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert "list of turns" in caught.value.message


def test_a_malformed_file_names_the_turn(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- answer: fine\n- tool: t\n  refuse: also\n", encoding="utf-8")
    with pytest.raises(TetherError) as caught:
        load_script(path)
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert f"{path}: turn 2:" in caught.value.message


@pytest.mark.parametrize(
    ("name", "text"),
    [("broken.yaml", "- answer: [unclosed\n"), ("broken.json", '[{"answer": "x"}')],
)
def test_unparseable_files(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TetherError) as caught:
        load_script(path)
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert "not valid YAML/JSON" in caught.value.message


def test_unreadable_files(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.yaml", tmp_path):
        with pytest.raises(TetherError) as caught:
            load_script(path)
        assert caught.value.code is ErrorCode.SCENARIO_INVALID
        assert "cannot read" in caught.value.message


def test_tool_call_turns_can_carry_text_beside_the_calls(tmp_path: Path) -> None:
    model = scripted(
        tmp_path,
        """\
- tool: get_order_details
  args: {order_id: "#W1000001"}
  text: Let me look that up.
- tool_calls:
    - tool: get_order_details
      args: {order_id: "#W1000001"}
    - tool: get_user_details
      args: {user_id: noah_brown_6181}
  text: Checking the order and your profile.
- tool: list_all_product_types
""",
    )
    one = model.propose(request(0))
    assert one.kind is TurnKind.TOOL_CALLS and one.text == "Let me look that up."
    assert one.tool_calls == (ToolCall("call_0_0", "get_order_details", {"order_id": "#W1000001"}),)
    assert one.raw["text"] == "Let me look that up."

    several = model.propose(request(1))
    assert several.kind is TurnKind.TOOL_CALLS
    assert several.text == "Checking the order and your profile."
    assert [c.name for c in several.tool_calls] == ["get_order_details", "get_user_details"]

    silent = model.propose(request(2))
    assert silent.text == "" and silent.tool_calls[0].name == "list_all_product_types"


@pytest.mark.parametrize(
    "turn",
    [
        {"answer": "Done.", "text": "also this"},
        {"refuse": "No.", "text": "also this"},
        {"text": "only text"},
        {"tool": "t", "text": ["not", "a", "string"]},
        {"tool": "t", "text": "Looking.", "thought": "unknown key"},
        {"tool_calls": [{"tool": "t", "text": "text belongs to the turn, not a call"}]},
    ],
)
def test_text_belongs_with_tool_calls_and_unknown_keys_are_still_refused(
    turn: dict[str, Any],
) -> None:
    with pytest.raises(TetherError) as caught:
        parse_script([{"answer": "ok"}, turn], "demo.yaml")
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert "demo.yaml: turn 2:" in caught.value.message
