"""`tether replay` of a run whose confirmation step was edited reports it as diverging, never identical.

The runs are the demo's, recorded by the real `tether demo` on a real store; one step of one run
is edited in the store and the real `tether replay RUN --json` is asked about it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.runtime.edited_demo import assert_edit_diverges, demo, shape, with_step
from tether.core.types import Run, Step, StepKind
from tether.runtime.replay import Replayer

__all__ = ["demo"]  # the fixture


def test_an_edited_confirmation_reading_makes_the_replay_diverge(
    demo: tuple[dict[str, str], Path, list[Run]], store_url: str
) -> None:
    """The confirmation step says the customer's reply was not a yes, yet the write ran."""
    env, cwd, runs = demo
    run = next(
        r for r in runs
        if "confirmation:confirmed" in shape(r)
        and "tool:cancel_pending_order" in shape(r)
        and "reading" in r.steps[shape(r).index("confirmation:confirmed")].data
    )  # fmt: skip
    seq = shape(run).index("confirmation:confirmed") + 1
    assert run.steps[seq - 1].data["reading"]["confirmed"] is True

    def not_a_yes(data: dict[str, Any]) -> None:
        data["reading"] = {"confirmed": False, "reason": "no_affirmative", "matched": None}

    assert_edit_diverges(env, cwd, store_url, run, seq, not_a_yes)


def test_an_edited_confirmed_action_makes_the_replay_diverge(
    demo: tuple[dict[str, str], Path, list[Run]], store_url: str
) -> None:
    """The confirmation step says the customer confirmed cancelling another order than the
    one the run's guard checked and its tool cancelled."""
    env, cwd, runs = demo
    run = next(
        r for r in runs
        if "confirmation:confirmed" in shape(r) and "tool:cancel_pending_order" in shape(r)
    )  # fmt: skip
    seq = shape(run).index("confirmation:confirmed") + 1

    def another_order(data: dict[str, Any]) -> None:
        data["pending_action"]["arguments"]["order_id"] = "#W0000000"
        data["pending_action"]["summary"] = data["pending_action"]["summary"].replace(
            run.steps[seq - 1].data["pending_action"]["arguments"]["order_id"], "#W0000000"
        )
        for message in data["messages"]:
            for call in message.get("tool_calls", ()):
                call["arguments"]["order_id"] = "#W0000000"

    assert_edit_diverges(env, cwd, store_url, run, seq, another_order)


# -- near misses, replayed in process ---------------------------------------------------------


def confirmed_by_text(replayer: Replayer) -> tuple[Run, Step]:
    """The run of the customer's "Yes, please cancel it." and its confirmation step."""
    store = replayer.runtime.store
    for listed in store.list_runs(limit=100):
        run = store.get_run(listed.id)
        for step in run.steps:
            if step.kind is StepKind.CONFIRMATION and step.data.get("by") == "text":
                return run, step
    raise AssertionError("no run was confirmed by a message")


def edited(step: Step, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = json.loads(json.dumps(step.data))
    change(data)
    return data


def test_an_honest_yes_is_read_again_and_replays_identical(replayer: Replayer) -> None:
    run, step = confirmed_by_text(replayer)
    assert step.data["event"] == "confirmed"
    assert step.data["reading"] == {
        "confirmed": True,
        "reason": "affirmative",
        "matched": step.data["reading"]["matched"],
    }
    report = replayer.replay(run)
    assert report.identical, report.to_dict()
    guard = next(s for s in run.steps if s.kind is StepKind.GUARD and s.seq > step.seq)
    assert guard.data["call"]["id"] == f"confirmed-{step.data['nonce']}"


def test_a_reading_edited_only_in_what_it_matched_diverges(replayer: Replayer) -> None:
    run, step = confirmed_by_text(replayer)

    def matched(data: dict[str, Any]) -> None:
        data["reading"]["matched"] = "absolutely"

    report = replayer.replay(with_step(run, step.seq, edited(step, matched)))
    first = report.diffs[0]
    assert (first.step, first.path, first.recorded) == (step.seq, "reading.matched", "absolutely")


def test_a_reply_edited_to_read_as_not_a_yes_throughout_diverges(replayer: Replayer) -> None:
    """Reading and event both made to say the customer did not confirm: the message says yes."""
    run, step = confirmed_by_text(replayer)

    def declined(data: dict[str, Any]) -> None:
        data["event"] = "not_confirmed"
        data["reading"] = {"confirmed": False, "reason": "hedge", "matched": "please"}

    report = replayer.replay(with_step(run, step.seq, edited(step, declined)))
    found = {d.path: (d.recorded, d.replayed) for d in report.diffs if d.step == step.seq}
    assert found["reading.confirmed"] == (False, True)
    assert found["event"] == ("not_confirmed", "confirmed")


def test_a_text_reply_edited_to_a_button_diverges(replayer: Replayer) -> None:
    run, step = confirmed_by_text(replayer)

    def button(data: dict[str, Any]) -> None:
        data["by"] = "button"
        del data["reading"]

    report = replayer.replay(with_step(run, step.seq, edited(step, button)))
    first = report.diffs[0]
    assert (first.step, first.path, first.recorded, first.replayed) == (
        step.seq,
        "by",
        "button",
        "text",
    )


def test_a_confirmed_action_edited_only_in_its_arguments_diverges_at_the_step(
    replayer: Replayer,
) -> None:
    """The pending action names another order; the call its message holds (and the guard and
    tool ran) is the one the customer was asked about."""
    run, step = confirmed_by_text(replayer)
    order = step.data["pending_action"]["arguments"]["order_id"]

    def another_order(data: dict[str, Any]) -> None:
        data["pending_action"]["arguments"]["order_id"] = "#W0000000"

    report = replayer.replay(with_step(run, step.seq, edited(step, another_order)))
    first = report.diffs[0]
    assert (first.step, first.path) == (step.seq, "messages.tool_calls[0].arguments.order_id")
    assert (first.recorded, first.replayed) == (order, "#W0000000")


def test_a_confirmation_recorded_without_its_reading_still_replays(replayer: Replayer) -> None:
    """A record without the fields a check reads is taken for what it says, never failed."""
    run, step = confirmed_by_text(replayer)

    def older(data: dict[str, Any]) -> None:
        del data["reading"]

    report = replayer.replay(with_step(run, step.seq, edited(step, older)))
    assert report.identical, report.to_dict()
