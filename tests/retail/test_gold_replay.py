"""Replay every gold action of the 114 retail tasks through the tools, each task on a fresh store.

550 actions: 532 succeed and 18 fail by design (wrong ids or e-mails, a product that does not
exist, an exchange on an order that is not delivered, an exchange a gift card cannot cover).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail import RetailDB, build_tools

EXPECTED_FAILURES: dict[str, ErrorCode] = {
    "2_1": ErrorCode.NOT_FOUND,  # product id 6086499569 does not exist
    "3_1": ErrorCode.NOT_FOUND,
    "4_1": ErrorCode.NOT_FOUND,
    "35_0": ErrorCode.NOT_FOUND,  # e-mail addresses the customer got wrong
    "37_0": ErrorCode.NOT_FOUND,
    "38_0": ErrorCode.NOT_FOUND,
    "39_0": ErrorCode.NOT_FOUND,  # name and zip that match no user
    "46_1": ErrorCode.NOT_FOUND,  # order ids without the 'W'
    "46_2": ErrorCode.NOT_FOUND,
    "47_1": ErrorCode.NOT_FOUND,
    "47_2": ErrorCode.NOT_FOUND,
    "54_0": ErrorCode.NOT_FOUND,
    "55_0": ErrorCode.NOT_FOUND,
    "64_6": ErrorCode.PRECONDITION_FAILED,  # exchange on an order that is still pending
    "67_0": ErrorCode.NOT_FOUND,
    "67_1": ErrorCode.NOT_FOUND,
    "68_0": ErrorCode.NOT_FOUND,
    "106_0": ErrorCode.PRECONDITION_FAILED,  # exchange the gift card cannot cover
}
# tasks whose final store the effect checks below read
KEPT_TASKS = ("0", "40", "44", "54", "106")


@dataclass
class Replay:
    seconds: float = 0.0
    actions: int = 0
    succeeded: int = 0
    failed: dict[str, ErrorCode] = field(default_factory=dict)
    unexpected: dict[str, str] = field(default_factory=dict)
    final: dict[str, RetailDB] = field(default_factory=dict)


def load_tasks() -> list[dict[str, Any]]:
    text = (
        resources.files("tether.domains.retail").joinpath("data").joinpath("tasks.json").read_text()
    )
    tasks: list[dict[str, Any]] = json.loads(text)
    return tasks


@pytest.fixture(scope="module")
def replay() -> Replay:
    tasks = load_tasks()
    RetailDB.fresh_copy()  # parse the packaged data before the clock starts
    out = Replay()
    start = time.perf_counter()
    for task in tasks:
        db = RetailDB.fresh_copy()
        tools = {t.name: t for t in build_tools(db)}
        for action in task["evaluation_criteria"]["actions"] or ():
            out.actions += 1
            tool = tools[action["name"]]
            try:
                tool(**tool.validate(action["arguments"]))
            except TetherError as exc:
                out.failed[action["action_id"]] = exc.code
            except Exception as exc:  # recorded so the test names the action, not just the type
                out.unexpected[action["action_id"]] = f"{type(exc).__name__}: {exc}"
            else:
                out.succeeded += 1
        if task["id"] in KEPT_TASKS:
            out.final[task["id"]] = db
    out.seconds = time.perf_counter() - start
    return out


def test_gold_actions_succeed_or_fail_exactly_as_designed(replay: Replay) -> None:
    assert replay.unexpected == {}
    assert replay.actions == 550
    assert replay.succeeded == 532
    assert replay.failed == EXPECTED_FAILURES


def test_replay_is_fast(replay: Replay) -> None:
    print(f"gold replay: {replay.actions} actions over 114 fresh stores in {replay.seconds:.2f} s")
    # generous bound: a slow machine passes, a per-copy regression to seconds does not
    assert replay.seconds < 30


def order(db: RetailDB, order_id: str) -> dict[str, Any]:
    found = db.order(order_id)
    assert found is not None
    return found


def gift_balance(db: RetailDB, user_id: str, method_id: str) -> float:
    user = db.user(user_id)
    assert user is not None
    return float(user["payment_methods"][method_id]["balance"])


def test_cancellations_refund_and_credit_the_gift_card(replay: Replay) -> None:
    db = replay.final["54"]
    for order_id, amount in (("#W4836353", 1429.81), ("#W7342738", 1030.4)):
        cancelled = order(db, order_id)
        assert cancelled["status"] == "cancelled"
        assert cancelled["cancel_reason"] == "no longer needed"
        assert cancelled["payment_history"][-1] == {
            "transaction_type": "refund",
            "amount": amount,
            "payment_method_id": "gift_card_3491931",
        }
    # 73.00 plus both refunds; the return in the same task pays nothing out yet
    assert gift_balance(db, "amelia_silva_7726", "gift_card_3491931") == 2533.21
    returned = order(db, "#W4597054")
    assert returned["status"] == "return requested"
    assert returned["return_items"] == ["4900990404", "5669664287", "6777246137", "9862136885"]


def test_item_change_refunds_the_difference_to_the_gift_card(replay: Replay) -> None:
    db = replay.final["44"]
    changed = order(db, "#W9300146")
    assert changed["status"] == "pending (item modified)"
    assert changed["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 17.99,
        "payment_method_id": "gift_card_7245904",
    }
    assert [line["item_id"] for line in changed["items"]] == ["5320792178"]
    assert gift_balance(db, "aarav_anderson_8794", "gift_card_7245904") == 34.99


def test_payment_change_and_exchange_are_recorded(replay: Replay) -> None:
    paid = order(replay.final["40"], "#W4923227")
    assert [(p["transaction_type"], p["payment_method_id"]) for p in paid["payment_history"]] == [
        ("payment", "credit_card_8554680"),
        ("payment", "credit_card_8897086"),
        ("refund", "credit_card_8554680"),
    ]
    exchanged = order(replay.final["0"], "#W2378156")
    assert exchanged["status"] == "exchange requested"
    assert exchanged["exchange_new_items"] == ["7706410293", "7747408585"]
    assert exchanged["exchange_price_difference"] == -16.63


def test_a_rejected_exchange_changes_nothing(replay: Replay) -> None:
    db = replay.final["106"]
    pristine = RetailDB.fresh_copy()
    assert db.order("#W4316152") == pristine.order("#W4316152")
    assert db.user("aarav_anderson_8794") == pristine.user("aarav_anderson_8794")
