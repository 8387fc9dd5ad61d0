"""`tether replay` of a run whose record was edited reports it as diverging, never identical.

The runs are the demo's, recorded by the real `tether demo` on a real store; one step of one run
is edited in the store and the real `tether replay RUN --json` is asked about it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.edited_demo import assert_edit_diverges, demo, shape, with_step
from tether.core.types import Run, Step, StepKind
from tether.runtime.replay import Replayer
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import parse_scenario, run_scenario
from tether.store.runs import RunStore

__all__ = ["demo"]  # the fixture

EMAIL = "raj.sanchez2046@example.com"
TOOL = "get_order_details"


def test_an_edited_model_proposal_makes_the_replay_diverge(
    demo: tuple[dict[str, str], Path, list[Run]], store_url: str
) -> None:
    """The model turn says it proposed one call; the guard step says it checked another."""
    env, cwd, runs = demo
    run = next(
        r for r in runs
        if "guard:get_order_details" in shape(r) and shape(r)[-1] == "decision:answer"
    )  # fmt: skip
    guard = shape(run).index("guard:get_order_details") + 1
    turn = guard - 1
    assert run.steps[turn - 1].kind.value == "model_turn"

    def propose_a_cancellation(data: dict[str, Any]) -> None:
        call = data["output"]["tool_calls"][0]
        call["name"] = "cancel_pending_order"
        call["arguments"] = {"order_id": "#W0000000", "reason": "no longer needed"}

    assert_edit_diverges(env, cwd, store_url, run, turn, propose_a_cancellation)


# -- near misses, replayed in process ---------------------------------------------------------


def looked_up(replayer: Replayer) -> tuple[Run, Step, Step]:
    """A run that read an order: its guard step of the read and the model turn proposing it."""
    store = replayer.runtime.store
    for listed in store.list_runs(limit=100):
        run = store.get_run(listed.id)
        for index, step in enumerate(run.steps):
            if step.kind is StepKind.GUARD and step.name == "get_order_details":
                turn = next(s for s in reversed(run.steps[:index]) if s.kind.value == "model_turn")
                return run, turn, step
    raise AssertionError("no run read an order")


def proposing(turn: Step, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = json.loads(json.dumps(turn.data))
    change(data["output"]["tool_calls"][0])
    return data


def test_a_proposal_edited_only_in_its_call_id_diverges_at_the_guard(replayer: Replayer) -> None:
    run, turn, guard = looked_up(replayer)
    assert replayer.replay(run).identical

    def another_id(call: dict[str, Any]) -> None:
        call["id"] = "call_forged"

    report = replayer.replay(with_step(run, turn.seq, proposing(turn, another_id)))
    first = report.diffs[0]
    assert (first.step, first.path) == (guard.seq, "call.id")
    assert (first.recorded, first.replayed) == (guard.data["call"]["id"], ["call_forged"])


def test_a_proposal_edited_only_in_one_argument_diverges_at_the_guard(
    replayer: Replayer,
) -> None:
    run, turn, guard = looked_up(replayer)
    order = guard.data["call"]["arguments"]["order_id"]

    def another_order(call: dict[str, Any]) -> None:
        call["arguments"]["order_id"] = "#W0000000"

    report = replayer.replay(with_step(run, turn.seq, proposing(turn, another_order)))
    first = report.diffs[0]
    assert (first.step, first.path) == (guard.seq, "call.arguments.order_id")
    assert (first.recorded, first.replayed) == (order, "#W0000000")


def test_a_guard_step_edited_to_another_call_than_proposed_diverges(replayer: Replayer) -> None:
    """The turn as recorded, the guard (and the read it let act) made to hold another order."""
    run, _, guard = looked_up(replayer)
    data = json.loads(json.dumps(guard.data))
    data["call"]["arguments"]["order_id"] = "#W0000000"
    report = replayer.replay(with_step(run, guard.seq, data))
    assert report.diffs and report.diffs[0].step == guard.seq
    assert report.diffs[0].path == "call.arguments.order_id"


TWO_CALLS = {
    "name": "two-calls-in-one-turn",
    "principal": "raj_sanchez_2970",
    "turns": [
        {
            "user": "What is the status of my order #W4566809? "
            "My e-mail is raj.sanchez2046@example.com.",
            "model": [
                {
                    "tool_calls": [
                        {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
                        {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
                    ]
                },
                {"answer": "Your order #W4566809 is pending [tool:2]."},
            ],
            "expect": {"decision": "answer"},
        }
    ],
}


def test_an_honest_turn_of_two_calls_replays_identical_and_each_is_held_to_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        domain = load_domain("retail")
        assert run_scenario(domain, store, parse_scenario(TWO_CALLS, "test")).ok
        run = store.get_run(store.list_runs(limit=1)[0].id)
        turn = next(s for s in run.steps if s.kind is StepKind.MODEL_TURN)
        assert len(turn.data["output"]["tool_calls"]) == 2
        replayer = Replayer(build_desk(domain, store).runtime)
        report = replayer.replay(run)
        assert report.identical, report.to_dict()
        assert report.checked >= 3  # both calls' guards and the answer's

        def second_order(data: dict[str, Any]) -> None:
            data["output"]["tool_calls"][1]["arguments"]["order_id"] = "#W0000000"

        edited = json.loads(json.dumps(turn.data))
        second_order(edited)
        report = replayer.replay(with_step(run, turn.seq, edited))
        guard = next(s for s in run.steps if s.kind is StepKind.GUARD and s.name == TOOL)
        assert report.diffs[0].step == guard.seq
        assert report.diffs[0].path == "call.arguments.order_id"
    finally:
        store.close()
