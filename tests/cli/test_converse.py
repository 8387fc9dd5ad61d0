"""`tether converse` and `tether chat` as a user runs them: the real executable, real files, the
store afterwards. The order is cancelled exactly once, and only after the user's yes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.cli.converse import parse_conversation
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, StepKind
from tether.store.runs import RunStore

TETHER = str(Path(sys.executable).parent / "tether")
USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"
ORDER = "#W4566809"
ASK = f"Please cancel order {ORDER}, I no longer need it. My e-mail is {EMAIL}."
PROPOSE = [
    {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
]
CANCEL_TURNS: list[dict[str, Any]] = [
    {"user": ASK, "model": PROPOSE},
    {"confirm": True, "model": [{"answer": f"Order {ORDER} is now cancelled [tool:3]."}]},
]
STILL_PENDING = [{"answer": f"I have not cancelled order {ORDER}; it is still pending [tool:2]."}]


def tether(
    *args: str, home: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    full_env["TETHER_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run(
        [TETHER, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def converse(
    home: Path, turns: Any, *extra: str, suffix: str = ".json"
) -> subprocess.CompletedProcess[str]:
    script = home / f"conversation{suffix}"
    script.write_text(json.dumps(turns) if suffix == ".json" else yaml.safe_dump(turns))
    return tether("converse", "--as", USER, "--script", str(script), *extra, home=home)


def runs(home: Path) -> list[Run]:
    """Every run in the store, oldest first, with its steps."""
    store = RunStore.open(f"sqlite:///{home / 'tether.db'}")
    try:
        found = store.list_runs(limit=1000)
        return [store.get_run(r.id) for r in sorted(found, key=lambda r: r.created_at)]
    finally:
        store.close()


def tool_steps(run: Run, tool: str) -> list[dict[str, Any]]:
    return [dict(s.data) for s in run.steps if s.kind is StepKind.TOOL and s.name == tool]


def confirmation_events(run: Run) -> list[str]:
    return [s.name for s in run.steps if s.kind is StepKind.CONFIRMATION]


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout


# -- tether converse ---------------------------------------------------------------------------


def test_converse_confirms_and_cancels_the_order_exactly_once(tmp_path: Path) -> None:
    proc = converse(tmp_path, CANCEL_TURNS, "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    asked, confirmed = body["turns"]
    assert asked["conversation_id"] == confirmed["conversation_id"] == body["conversation_id"]
    assert [asked["turn"], confirmed["turn"]] == [1, 2]
    assert asked["status"] == "completed"
    assert asked["decision"]["kind"] == "confirmation"
    assert asked["decision"]["reason"]["code"] == "CONFIRMATION_REQUIRED"
    pending = asked["pending_action"]
    assert pending["tool"] == "cancel_pending_order"
    assert pending["arguments"] == {"order_id": ORDER, "reason": "no longer needed"}
    assert pending["nonce"] and ORDER in pending["summary"]
    assert confirmed["decision"]["kind"] == "action"
    assert confirmed["decision"]["citations"] == ["tool:3"]
    assert confirmed["pending_action"] is None

    first, second = runs(tmp_path)
    assert [first.id, second.id] == [asked["run_id"], confirmed["run_id"]]
    assert tool_steps(first, "cancel_pending_order") == []  # held until the user's yes
    assert confirmation_events(first) == ["requested"]
    cancelled = tool_steps(second, "cancel_pending_order")
    assert len(cancelled) == 1 and cancelled[0]["ok"] is True
    assert cancelled[0]["output"]["status"] == "cancelled"
    assert confirmation_events(second) == ["confirmed"]


def test_converse_prints_a_readable_transcript(tmp_path: Path) -> None:
    proc = converse(tmp_path, CANCEL_TURNS, suffix=".yaml")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # Rich wraps long lines at the terminal's width
    assert text.startswith("conv_") and f"principal={USER}" in text
    assert f"you> {ASK}" in text
    assert "agent [confirmation CONFIRMATION_REQUIRED]" in text
    assert "pending: cancel_pending_order" in text
    assert "you> [confirm]" in text
    assert f"agent [action] Order {ORDER} is now cancelled [tool:3]." in text
    no_traceback(proc)


@pytest.mark.parametrize(
    ("reply", "event"),
    [({"user": "Absolutely not!"}, "not_confirmed"), ({"decline": True}, "declined")],
)
def test_converse_decline_leaves_the_order_alone(
    tmp_path: Path, reply: dict[str, Any], event: str
) -> None:
    turns = [{"user": ASK, "model": PROPOSE}, {**reply, "model": STILL_PENDING}]
    proc = converse(tmp_path, turns, "--json")
    assert proc.returncode == 0, proc.stderr
    asked, answered = json.loads(proc.stdout)["turns"]
    assert asked["decision"]["kind"] == "confirmation"
    assert answered["decision"]["kind"] not in ("action", "confirmation")
    assert answered["pending_action"] is None
    ran = runs(tmp_path)
    assert len(ran) == 2
    assert all(tool_steps(r, "cancel_pending_order") == [] for r in ran)
    assert confirmation_events(ran[1]) == [event]


def test_converse_turn_without_a_script_uses_the_model_option(tmp_path: Path) -> None:
    model = tmp_path / "propose.yaml"
    model.write_text(yaml.safe_dump(PROPOSE))
    turns = [{"user": ASK}, CANCEL_TURNS[1]]
    proc = converse(tmp_path, turns, "--json", "--model", f"scripted:{model}")
    assert proc.returncode == 0, proc.stderr
    kinds = [t["decision"]["kind"] for t in json.loads(proc.stdout)["turns"]]
    assert kinds == ["confirmation", "action"]


def test_converse_turn_without_a_script_or_a_model_is_refused_before_any_run(
    tmp_path: Path,
) -> None:
    proc = converse(tmp_path, [{"user": ASK}], "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "MODEL_NOT_CONFIGURED"
    assert not (tmp_path / "tether.db").exists() or runs(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("- user: [unclosed\n", "not valid YAML/JSON"),
        ("- user: hi\n  model: [{answer: a}]\n- user: hi\n  confirm: true\n", "turn 2: "),
    ],
)
def test_converse_rejects_a_bad_file(tmp_path: Path, content: str, where: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(content)
    proc = tether("converse", "--as", USER, "--script", str(script), "--json", home=tmp_path)
    assert proc.returncode == 2, proc.stdout
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "SCENARIO_INVALID"
    assert str(script) in error["message"] and where in error["message"]
    assert not (tmp_path / "tether.db").exists()  # refused before the store was opened
    no_traceback(proc)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"user": "hi"}, "a conversation is a non-empty list of turns"),
        ([], "a conversation is a non-empty list of turns"),
        ("just text", "a conversation is a non-empty list of turns"),
        ([{}], "turn 1: a turn is exactly one of"),
        ([{"user": "hi", "decline": True}], "turn 1: a turn is exactly one of"),
        ([{"confirm": False}], "turn 1: a turn is exactly one of"),
        ([{"user": "hi"}, {"user": "hi", "model": []}], "turn 2: model:"),
        ([{"user": "hi", "model": [{"answer": "a", "tool": "t"}]}], "turn 1: model.0:"),
        ([{"user": "hi", "nonce": "x"}], "turn 1: nonce:"),
        ({"turns": [{"user": 3}]}, "turn 1: user:"),
    ],
)
def test_a_bad_conversation_names_the_turn_and_the_field(data: Any, where: str) -> None:
    with pytest.raises(TetherError) as caught:
        parse_conversation(data, "talk.yaml")
    assert caught.value.code is ErrorCode.SCENARIO_INVALID
    assert caught.value.message.startswith("talk.yaml: ")
    assert where in caught.value.message


def test_converse_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    proc = tether("converse", "--as", USER, "--script", str(tmp_path / "nope.yaml"), home=tmp_path)
    assert proc.returncode == 2
    assert "error SCENARIO_INVALID" in proc.stderr and "nope.yaml" in proc.stderr
    no_traceback(proc)


def test_converse_confirm_with_nothing_pending_stops_with_what_ran(tmp_path: Path) -> None:
    turns = [
        {
            "user": f"Which user id has the e-mail {EMAIL}?",
            "model": [
                {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
                {"answer": f"That is {USER} [tool:1]."},
            ],
        },
        {"confirm": True, "model": [{"answer": "never asked"}]},
        {"user": "never sent", "model": [{"answer": "never asked"}]},
    ]
    proc = converse(tmp_path, turns, "--json")
    assert proc.returncode == 2
    body = json.loads(proc.stdout)
    assert body["conversation_id"].startswith("conv_")
    assert [t["decision"]["kind"] for t in body["turns"]] == ["answer"]
    assert body["error"]["code"] == "NOTHING_PENDING"
    assert len(runs(tmp_path)) == 1  # the rejected turn ran nothing, the next was not sent

    (tmp_path / "plain").mkdir()
    plain = converse(tmp_path / "plain", turns)
    assert plain.returncode == 2
    assert "error NOTHING_PENDING" in plain.stderr
    assert "agent [answer]" in plain.stdout and "never sent" not in plain.stdout
    no_traceback(plain)


def test_converse_unknown_principal_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "c.json"
    script.write_text(json.dumps(CANCEL_TURNS))
    proc = tether("converse", "--as", "nobody_0000", "--script", str(script), home=tmp_path)
    assert proc.returncode == 2
    assert "error UNKNOWN_PRINCIPAL" in proc.stderr
    assert runs(tmp_path) == []
    no_traceback(proc)


# -- tether chat -------------------------------------------------------------------------------


def chat(home: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    """`tether chat` with the lines on stdin and the proposal script as TETHER_MODEL. A scripted
    model starts its script afresh in every run, so every chat turn replays the proposal."""
    model = home / "propose.yaml"
    model.write_text(yaml.safe_dump(PROPOSE))
    env = {"TETHER_MODEL": f"scripted:{model}", "COLUMNS": "400"}
    return tether("chat", "--as", USER, home=home, env=env, stdin="".join(f"{x}\n" for x in lines))


def test_chat_shows_the_pending_action_and_quits(tmp_path: Path) -> None:
    proc = chat(tmp_path, [ASK, "/quit", "never read"])
    assert proc.returncode == 0, proc.stderr
    assert f"you> {ASK}" in proc.stdout
    assert "agent [confirmation CONFIRMATION_REQUIRED]" in proc.stdout
    assert "pending: cancel_pending_order" in proc.stdout
    assert "/yes to confirm, /no to decline" in proc.stdout
    assert "never read" not in proc.stdout
    (only,) = runs(tmp_path)
    assert tool_steps(only, "cancel_pending_order") == []
    no_traceback(proc)


def test_chat_no_is_the_decline_button_and_commands_work(tmp_path: Path) -> None:
    proc = chat(tmp_path, [ASK, "/no", "/new", "/yes", "/frob", "", "/quit"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("conv_") == 2  # /new started a second conversation
    assert "error NOTHING_PENDING" in proc.stderr  # /yes in the new one: nothing to confirm
    assert "/yes confirm, /no decline" in proc.stdout  # /frob shows the commands
    asked, declined = runs(tmp_path)
    assert confirmation_events(asked) == ["requested"]
    # the decline button dropped the action; the replayed script proposes it afresh
    assert confirmation_events(declined)[0] == "declined"
    assert all(tool_steps(r, "cancel_pending_order") == [] for r in (asked, declined))
    no_traceback(proc)


def test_chat_ends_at_end_of_input(tmp_path: Path) -> None:
    proc = chat(tmp_path, [ASK])
    assert proc.returncode == 0, proc.stderr
    assert len(runs(tmp_path)) == 1


def test_chat_without_a_model_says_how_to_configure_one(tmp_path: Path) -> None:
    proc = tether("chat", "--as", USER, home=tmp_path, stdin="hello\n")
    assert proc.returncode == 2
    assert "error MODEL_NOT_CONFIGURED" in proc.stderr and "TETHER_MODEL" in proc.stderr
    no_traceback(proc)
