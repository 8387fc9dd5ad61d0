"""Premise verification of retail writes, on fresh copies of the store.

Replaying the gold actions of all 114 tasks: the premise check never blocks one of the 532
actions that succeed, and it stops, before they run, the failing writes it can see coming.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Agent, Effect, Principal, ToolCall, Verdict
from tether.domains.retail import RetailDB, build_tools
from tether.domains.retail.premises import PREMISES, PremiseCheck, check_premises


class Tools:
    def __init__(self, db: RetailDB) -> None:
        self.by_name = {t.name: t for t in build_tools(db)}

    def get(self, name: str) -> Any:
        return self.by_name.get(name)


def judge(db: RetailDB, tool: str, **arguments: Any) -> Verdict:
    ctx = GuardContext("run-1", Principal("someone"), Agent("retail", "", ()), Tools(db), {})
    return PremiseCheck(db)(ctx, ToolCall("call-1", tool, arguments))


@pytest.fixture(scope="module")
def db() -> Iterator[RetailDB]:
    yield RetailDB.fresh_copy()


def first_order(db: RetailDB, status: str) -> dict[str, Any]:
    return next(o for o in db.orders() if o["status"] == status)


def test_the_gold_replay_blocks_no_successful_write_and_catches_the_failing_ones() -> None:
    text = (
        resources.files("tether.domains.retail").joinpath("data").joinpath("tasks.json").read_text()
    )
    tasks = json.loads(text)
    writes = 0
    false_blocks: list[str] = []
    caught: dict[str, ErrorCode] = {}
    missed: list[str] = []
    for task in tasks:
        db = RetailDB.fresh_copy()
        tools = Tools(db).by_name
        for action in task["evaluation_criteria"]["actions"] or ():
            name, arguments = action["name"], action["arguments"]
            verdict = judge(db, name, **arguments)
            tool = tools[name]
            try:
                tool(**tool.validate(arguments))
                succeeded = True
            except TetherError:
                succeeded = False
            if name not in PREMISES:
                assert verdict.effect is Effect.ALLOW
                continue
            writes += 1
            blocked = verdict.effect is not Effect.ALLOW
            if blocked and succeeded:
                false_blocks.append(action["action_id"])
            elif blocked:
                caught[action["action_id"]] = verdict.reasons[0].code
            elif not succeeded:
                missed.append(action["action_id"])
    assert writes == 176
    assert false_blocks == []
    # an exchange on an order still pending; an exchange the gift card cannot cover
    assert caught == {"64_6": ErrorCode.PREMISE_FAILED, "106_0": ErrorCode.PREMISE_FAILED}
    assert missed == []


def test_cancelling_an_order_that_is_not_pending_is_denied_with_its_status(
    db: RetailDB,
) -> None:
    order = first_order(db, "delivered")
    verdict = judge(
        db, "cancel_pending_order", order_id=order["order_id"], reason="no longer needed"
    )
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code is ErrorCode.PREMISE_FAILED
    assert "delivered" in verdict.reasons[0].message
    assert verdict.facts["failed"] == ["the order's status is exactly 'pending'"]
    status = verdict.facts["premises"][-1]
    assert status["holds"] is False
    assert status["facts"] == {"order_id": order["order_id"], "status": "delivered"}


def test_a_pending_order_passes_and_the_facts_show_what_was_read(db: RetailDB) -> None:
    order = first_order(db, "pending")
    verdict = judge(
        db, "cancel_pending_order", order_id=order["order_id"], reason="no longer needed"
    )
    assert verdict.effect is Effect.ALLOW
    assert [p["premise"] for p in verdict.facts["premises"]] == [
        "the order exists",
        "the order's status is exactly 'pending'",
    ]
    address = judge(
        db,
        "modify_pending_order_address",
        order_id=order["order_id"],
        address1="1 Main St",
        address2="",
        city="Austin",
        state="TX",
        country="USA",
        zip="78701",
    )
    assert address.effect is Effect.ALLOW


def test_an_unknown_order_or_user_is_a_failed_premise_not_an_exception(db: RetailDB) -> None:
    verdict = judge(db, "cancel_pending_order", order_id="#W0000000", reason="no longer needed")
    assert verdict.effect is Effect.DENY
    assert verdict.facts["failed"] == ["the order exists"]
    user = judge(
        db, "modify_user_address", user_id="nobody_0", address1="x", address2="",
        city="x", state="x", country="x", zip="0",
    )  # fmt: skip
    assert user.effect is Effect.DENY
    assert user.facts["failed"] == ["the user exists"]


def test_items_must_be_in_the_order_as_often_as_listed(db: RetailDB) -> None:
    order = first_order(db, "delivered")
    user = db.user(order["user_id"])
    assert user is not None
    method = order["payment_history"][0]["payment_method_id"]
    item = order["items"][0]["item_id"]
    held = sum(1 for line in order["items"] if line["item_id"] == item)
    ok = judge(
        db, "return_delivered_order_items",
        order_id=order["order_id"], item_ids=[item], payment_method_id=method,
    )  # fmt: skip
    assert ok.effect is Effect.ALLOW
    too_many = judge(
        db, "return_delivered_order_items",
        order_id=order["order_id"], item_ids=[item] * (held + 1), payment_method_id=method,
    )  # fmt: skip
    assert too_many.effect is Effect.DENY
    assert too_many.facts["failed"] == ["each item is in the order (duplicates counted)"]


def test_a_refund_goes_only_to_the_original_method_or_a_gift_card(db: RetailDB) -> None:
    for order in db.orders():
        if order["status"] != "delivered":
            continue
        user = db.user(order["user_id"])
        assert user is not None
        original = order["payment_history"][0]["payment_method_id"]
        others = [
            m for m, v in user["payment_methods"].items()
            if m != original and v["source"] != "gift_card"
        ]  # fmt: skip
        if others:
            break
    else:
        pytest.fail("no delivered order whose owner has a second card")
    verdict = judge(
        db, "return_delivered_order_items", order_id=order["order_id"],
        item_ids=[order["items"][0]["item_id"]], payment_method_id=others[0],
    )  # fmt: skip
    assert verdict.effect is Effect.DENY
    assert verdict.facts["failed"] == [
        "the refund goes to the original payment method or a gift card"
    ]


def test_another_users_payment_method_is_refused(db: RetailDB) -> None:
    order = first_order(db, "pending")
    stranger = next(u for u in db.users() if u["user_id"] != order["user_id"])
    method = next(iter(stranger["payment_methods"]))
    verdict = judge(
        db, "modify_pending_order_payment", order_id=order["order_id"], payment_method_id=method
    )
    assert verdict.effect is Effect.DENY
    assert verdict.facts["failed"] == ["the payment method belongs to the order's owner"]


def swap_case(db: RetailDB) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A pending order line, its product, and the product of another line of another order."""
    order = first_order(db, "pending")
    line = order["items"][0]
    product = db.product(line["product_id"])
    assert product is not None
    other = next(p for p in db.products() if p["product_id"] != line["product_id"])
    return order, product, other


def test_a_new_item_must_be_an_available_variant_of_the_same_product(db: RetailDB) -> None:
    order, product, other = swap_case(db)
    line = order["items"][0]
    owner = db.user(order["user_id"])
    assert owner is not None
    method = next(iter(owner["payment_methods"]))
    foreign = next(iter(other["variants"]))
    base = {
        "order_id": order["order_id"],
        "item_ids": [line["item_id"]],
        "payment_method_id": method,
    }
    wrong_product = judge(db, "modify_pending_order_items", **base, new_item_ids=[foreign])
    assert wrong_product.effect is Effect.DENY
    assert "not a variant" in wrong_product.reasons[0].message
    unavailable = [v for v, d in product["variants"].items() if not d["available"]]
    if unavailable:
        gone = judge(db, "modify_pending_order_items", **base, new_item_ids=[unavailable[0]])
        assert gone.effect is Effect.DENY
        assert "not available" in gone.reasons[0].message


def test_a_gift_card_must_cover_what_it_is_charged(db: RetailDB) -> None:
    premises = check_premises(
        db,
        "modify_pending_order_payment",
        {"order_id": "#W0000000", "payment_method_id": "gift_card_0"},
    )
    assert [p.holds for p in premises] == [False]  # no such order: nothing further is read
    for order in db.orders():
        if "pending" not in order["status"] or len(order["payment_history"]) != 1:
            continue
        user = db.user(order["user_id"])
        assert user is not None
        amount = order["payment_history"][0]["amount"]
        paid_with = order["payment_history"][0]["payment_method_id"]
        short = [
            m for m, v in user["payment_methods"].items()
            if v["source"] == "gift_card" and v["balance"] < amount and m != paid_with
        ]  # fmt: skip
        if short:
            break
    else:
        pytest.fail("no pending order whose owner holds a gift card short of its amount")
    verdict = judge(
        db, "modify_pending_order_payment", order_id=order["order_id"], payment_method_id=short[0]
    )
    assert verdict.effect is Effect.DENY
    assert verdict.facts["failed"] == ["the gift card's balance covers the amount"]
    facts = verdict.facts["premises"][-1]["facts"]
    assert facts["balance"] < facts["amount"]


def test_reads_and_unreadable_arguments_are_left_to_other_checks(db: RetailDB) -> None:
    assert judge(db, "get_order_details", order_id="#W0000000").effect is Effect.ALLOW
    broken = judge(db, "cancel_pending_order", reason="no longer needed")  # no order_id
    assert broken.effect is Effect.ALLOW
    assert "order_id" in broken.facts["skipped"]
