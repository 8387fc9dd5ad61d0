"""Each retail tool's preconditions, effects and error codes, on a fresh copy of the store.

Order, user and item ids below are records of the packaged tau2-retail data; the comments say
what makes each one suitable.
"""

from __future__ import annotations

from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.domains.retail import RetailDB, RetailOwnership, build_tools
from tether.domains.retail.arithmetic import evaluate_expression
from tether.tools.registry import Tool

# pending, paid 1412.70 by gift card (balance 68.00); two jigsaw puzzles among its items
OMAR, OMAR_ORDER, OMAR_GIFT = "omar_silva_7446", "#W9728773", "gift_card_5540683"
PUZZLE_A, PUZZLE_B = "7127170374", "5645314103"  # 52.03 and 46.19 in that order
# pending, paid 1058.79 by credit card; the user has a second credit card
SOFIA_ORDER, SOFIA_CARD, SOFIA_OTHER_CARD = (
    "#W8855135",
    "credit_card_3951670",
    "credit_card_8105988",
)
PROCESSED_ORDER = "#W8213163"
# delivered, paid 1427.85 by gift card (balance 10.00): a keyboard (272.33) and a puzzle (45.90)
SOPHIA_ORDER, SOPHIA_GIFT, SOPHIA_CARD = "#W6977171", "gift_card_6052478", "credit_card_8041020"
# delivered, paid by paypal, holds item 8590708195 twice
HARPER_ORDER, HARPER_PAYPAL, HARPER_CARD = "#W1840144", "paypal_2306935", "credit_card_3240550"


@pytest.fixture
def db() -> RetailDB:
    return RetailDB.fresh_copy()


@pytest.fixture
def tools(db: RetailDB) -> dict[str, Tool]:
    return {t.name: t for t in build_tools(db)}


def call(tools: dict[str, Tool], name: str, **arguments: Any) -> Any:
    tool = tools[name]
    return tool(**tool.validate(arguments))


def failure(tools: dict[str, Tool], name: str, **arguments: Any) -> TetherError:
    with pytest.raises(TetherError) as info:
        call(tools, name, **arguments)
    return info.value


def balance(db: RetailDB, user_id: str, method_id: str) -> float:
    user = db.user(user_id)
    assert user is not None
    return float(user["payment_methods"][method_id]["balance"])


# -- specs ------------------------------------------------------------------------------------


def test_tool_specs_carry_risk_scopes_resources_and_one_line_descriptions(
    tools: dict[str, Tool],
) -> None:
    assert len(tools) == 16
    writes = {n for n, t in tools.items() if t.spec.risk is RiskClass.WRITE}
    assert writes == {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
    }
    for name, t in tools.items():
        assert t.spec.required_scopes == (("retail:write",) if name in writes else ("retail:read",))
        assert t.spec.description and "\n" not in t.spec.description
    assert [n for n, t in tools.items() if t.spec.handoff] == ["transfer_to_human_agents"]
    assert tools["modify_pending_order_items"].spec.resources == {
        "order_id": "order",
        "payment_method_id": "payment_method",
    }
    assert tools["get_user_details"].spec.resources == {"user_id": "user"}
    assert tools["find_user_id_by_email"].spec.resources == {}
    reason_schema = tools["cancel_pending_order"].spec.input_schema["properties"]["reason"]
    assert sorted(reason_schema["enum"]) == ["no longer needed", "ordered by mistake"]


def test_a_read_tool_drops_an_unknown_key_and_a_write_tool_refuses_it(
    tools: dict[str, Tool],
) -> None:
    # real models add keys; a read ignores them, a write does only what it declares
    read = tools["get_order_details"].validate({"order_id": OMAR_ORDER, "user_id": OMAR})
    assert read == {"order_id": OMAR_ORDER}
    with pytest.raises(TetherError) as info:
        tools["cancel_pending_order"].validate(
            {"order_id": OMAR_ORDER, "reason": "no longer needed", "force": True}
        )
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("get_order_details", {}),  # missing
        ("get_order_details", {"order_id": 9728773}),  # not a string
        ("cancel_pending_order", {"order_id": OMAR_ORDER, "reason": "no longer needed", "x": 1}),
        (
            "return_delivered_order_items",
            {
                "order_id": HARPER_ORDER,
                "item_ids": "8590708195",
                "payment_method_id": HARPER_PAYPAL,
            },
        ),
        ("cancel_pending_order", {"order_id": OMAR_ORDER, "reason": "changed my mind"}),
    ],
)
def test_schema_rejects_bad_arguments(
    tools: dict[str, Tool], name: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(TetherError) as info:
        tools[name].validate(arguments)
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS


# -- read tools -------------------------------------------------------------------------------


def test_lookups_ignore_case_but_zip_must_match_exactly(tools: dict[str, Tool]) -> None:
    assert call(tools, "find_user_id_by_email", email="Omar.Silva4147@EXAMPLE.com") == OMAR
    found = call(
        tools, "find_user_id_by_name_zip", first_name="OMAR", last_name="silva", zip="92107"
    )
    assert found == OMAR
    err = failure(
        tools, "find_user_id_by_name_zip", first_name="Omar", last_name="Silva", zip="92108"
    )
    assert err.code is ErrorCode.NOT_FOUND
    assert (
        failure(tools, "find_user_id_by_email", email="omar@example.com").code
        is ErrorCode.NOT_FOUND
    )


def test_getters_return_records_or_not_found(tools: dict[str, Tool]) -> None:
    user = call(tools, "get_user_details", user_id=OMAR)
    assert user["email"] == "omar.silva4147@example.com" and OMAR_ORDER in user["orders"]
    order = call(tools, "get_order_details", order_id=OMAR_ORDER)
    assert order["user_id"] == OMAR and order["status"] == "pending"
    product = call(tools, "get_product_details", product_id="1808611083")
    assert product["name"] == "Jigsaw Puzzle" and PUZZLE_A in product["variants"]
    item = call(tools, "get_item_details", item_id=PUZZLE_A)
    assert (item["item_id"], item["price"], item["product_id"]) == (PUZZLE_A, 52.03, "1808611083")
    for name, arg, value in [
        ("get_user_details", "user_id", "omar_silva_0000"),
        ("get_order_details", "order_id", "W9728773"),  # without the '#'
        ("get_product_details", "product_id", PUZZLE_A),  # an item id is not a product id
        ("get_item_details", "item_id", "1808611083"),  # a product id is not an item id
    ]:
        assert failure(tools, name, **{arg: value}).code is ErrorCode.NOT_FOUND


def test_product_types_are_sorted_by_name(tools: dict[str, Tool]) -> None:
    types = call(tools, "list_all_product_types")
    assert len(types) == 50
    assert list(types) == sorted(types)
    assert types["Jigsaw Puzzle"] == "1808611083"


def test_transfer_records_the_summary(tools: dict[str, Tool]) -> None:
    out = call(tools, "transfer_to_human_agents", summary="wants a refund to another card")
    assert out["transferred"] is True and out["summary"] == "wants a refund to another card"
    assert (
        failure(tools, "transfer_to_human_agents", summary="  ").code is ErrorCode.INVALID_ARGUMENTS
    )


# -- calculate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("3131.1 + 4777.75 + 367.38", 8276.23),
        ("155.33 - 147.05 + 268.77 - 235.13", 41.92),
        ("(2 + 3) * 4 / 3", 6.67),
        ("-(1.5 - 2.25)", 0.75),
        ("135.24 - 153.23", -17.99),
        ("0.001 - 0.002", 0.0),
    ],
)
def test_calculate_evaluates_arithmetic(expression: str, value: float) -> None:
    assert evaluate_expression(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "abs(-1)",
        "x + 1",
        "(1).real",
        "2 ** 3",
        "7 // 2",
        "7 % 2",
        "1e3",
        "+1",
        "1 / 0",
        "1 2",
        "()",
        "",
        "9" * 400 + " * 1",  # an integer too large for a float
        "9" * 300 + ".0 * " + "9" * 100,  # a product too large for a float
        "(" * 220 + "1" + ")" * 220,  # nested too deep for the parser
        "1" * 600,
    ],
)
def test_calculate_rejects_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(TetherError) as info:
        evaluate_expression(expression)
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_refunds_a_gift_card_at_once(db: RetailDB, tools: dict[str, Tool]) -> None:
    order = call(tools, "cancel_pending_order", order_id=OMAR_ORDER, reason="ordered by mistake")
    assert order["status"] == "cancelled" and order["cancel_reason"] == "ordered by mistake"
    assert order["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 1412.7,
        "payment_method_id": OMAR_GIFT,
    }
    assert db.order(OMAR_ORDER) == order
    assert balance(db, OMAR, OMAR_GIFT) == 1480.7


def test_cancel_refunds_a_card_without_touching_the_user(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    user_before = db.user("sofia_li_9219")
    order = call(tools, "cancel_pending_order", order_id=SOFIA_ORDER, reason="no longer needed")
    assert [p["transaction_type"] for p in order["payment_history"]] == ["payment", "refund"]
    assert order["payment_history"][1]["payment_method_id"] == SOFIA_CARD
    assert db.user("sofia_li_9219") == user_before


def test_cancel_after_a_payment_change_refunds_only_what_is_still_paid(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    call(
        tools,
        "modify_pending_order_payment",
        order_id=SOFIA_ORDER,
        payment_method_id=SOFIA_OTHER_CARD,
    )
    order = call(tools, "cancel_pending_order", order_id=SOFIA_ORDER, reason="no longer needed")
    refunds = [p for p in order["payment_history"] if p["transaction_type"] == "refund"]
    assert [(r["payment_method_id"], r["amount"]) for r in refunds] == [
        (SOFIA_CARD, 1058.79),  # from the payment change
        (SOFIA_OTHER_CARD, 1058.79),  # from the cancellation
    ]


def test_cancel_preconditions(db: RetailDB, tools: dict[str, Tool]) -> None:
    err = failure(
        tools, "cancel_pending_order", order_id=PROCESSED_ORDER, reason="no longer needed"
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "processed" in err.message
    err = failure(tools, "cancel_pending_order", order_id="#W0000000", reason="no longer needed")
    assert err.code is ErrorCode.NOT_FOUND
    # called without the schema check, the tool still refuses an unknown reason
    with pytest.raises(TetherError) as info:
        tools["cancel_pending_order"](order_id=OMAR_ORDER, reason="too expensive")
    assert info.value.code is ErrorCode.INVALID_ARGUMENTS
    call(tools, "cancel_pending_order", order_id=OMAR_ORDER, reason="no longer needed")
    again = failure(tools, "cancel_pending_order", order_id=OMAR_ORDER, reason="no longer needed")
    assert again.code is ErrorCode.PRECONDITION_FAILED
    assert balance(db, OMAR, OMAR_GIFT) == 1480.7  # refunded once, not twice


# -- addresses --------------------------------------------------------------------------------

NEW_ADDRESS = {
    "address1": "1 Main St",
    "address2": "",
    "city": "Austin",
    "state": "TX",
    "country": "USA",
    "zip": "78701",
}


def test_order_address_changes_while_status_contains_pending(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    call(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_B],
        new_item_ids=["6245746168"],
        payment_method_id=OMAR_GIFT,
    )
    order = call(tools, "modify_pending_order_address", order_id=OMAR_ORDER, **NEW_ADDRESS)
    assert order["status"] == "pending (item modified)"
    stored = db.order(OMAR_ORDER)
    assert stored is not None and stored["address"] == NEW_ADDRESS
    err = failure(tools, "modify_pending_order_address", order_id=SOPHIA_ORDER, **NEW_ADDRESS)
    assert err.code is ErrorCode.PRECONDITION_FAILED


def test_user_address_changes_and_orders_keep_theirs(db: RetailDB, tools: dict[str, Tool]) -> None:
    order_before = db.order(OMAR_ORDER)
    user = call(tools, "modify_user_address", user_id=OMAR, **NEW_ADDRESS)
    assert user["address"] == NEW_ADDRESS
    stored = db.user(OMAR)
    assert stored is not None and stored["address"] == NEW_ADDRESS
    assert db.order(OMAR_ORDER) == order_before
    err = failure(tools, "modify_user_address", user_id="nobody_0000", **NEW_ADDRESS)
    assert err.code is ErrorCode.NOT_FOUND


# -- payment change ---------------------------------------------------------------------------


def test_payment_change_charges_the_new_method_and_refunds_the_old(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    order = call(
        tools,
        "modify_pending_order_payment",
        order_id=OMAR_ORDER,
        payment_method_id="credit_card_5322562",
    )
    assert order["payment_history"][1:] == [
        {
            "transaction_type": "payment",
            "amount": 1412.7,
            "payment_method_id": "credit_card_5322562",
        },
        {"transaction_type": "refund", "amount": 1412.7, "payment_method_id": OMAR_GIFT},
    ]
    assert order["status"] == "pending"
    assert balance(db, OMAR, OMAR_GIFT) == 1480.7


def test_payment_change_to_a_gift_card_debits_it(db: RetailDB, tools: dict[str, Tool]) -> None:
    # omar_kim_3528's order #W1080318 costs 53.43; his gift card holds 91.00
    call(
        tools,
        "modify_pending_order_payment",
        order_id="#W1080318",
        payment_method_id="gift_card_3749819",
    )
    assert balance(db, "omar_kim_3528", "gift_card_3749819") == 37.57


def test_payment_change_preconditions(db: RetailDB, tools: dict[str, Tool]) -> None:
    cases = [
        (SOFIA_ORDER, SOFIA_CARD, "already paid"),
        (SOFIA_ORDER, OMAR_GIFT, "is not one of"),  # another customer's method
        ("#W2443586", "gift_card_2742113", "balance of 22.00"),  # 591.95 due, 22.00 on the card
        (SOPHIA_ORDER, SOPHIA_CARD, "delivered"),
    ]
    for order_id, method, message in cases:
        err = failure(
            tools, "modify_pending_order_payment", order_id=order_id, payment_method_id=method
        )
        assert err.code is ErrorCode.PRECONDITION_FAILED and message in err.message
    call(
        tools,
        "modify_pending_order_payment",
        order_id=SOFIA_ORDER,
        payment_method_id=SOFIA_OTHER_CARD,
    )
    err = failure(
        tools, "modify_pending_order_payment", order_id=SOFIA_ORDER, payment_method_id=SOFIA_CARD
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "exactly one payment" in err.message


# -- item changes on a pending order ----------------------------------------------------------


def test_item_change_swaps_lines_and_settles_the_difference(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    # each puzzle becomes another puzzle: 53.53 - 52.03 + 52.01 - 46.19 = 7.32 more
    order = call(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_A, PUZZLE_B],
        new_item_ids=["9237024510", "4068787148"],
        payment_method_id=OMAR_GIFT,
    )
    assert order["status"] == "pending (item modified)"
    assert order["payment_history"][-1] == {
        "transaction_type": "payment",
        "amount": 7.32,
        "payment_method_id": OMAR_GIFT,
    }
    lines = {line["item_id"]: line for line in order["items"]}
    assert PUZZLE_A not in lines and PUZZLE_B not in lines
    assert lines["9237024510"]["price"] == 53.53 and lines["4068787148"]["price"] == 52.01
    assert lines["4068787148"]["options"]["theme"]
    assert balance(db, OMAR, OMAR_GIFT) == 60.68
    # only once per order
    err = failure(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=["9237024510"],
        new_item_ids=["4572024853"],
        payment_method_id=OMAR_GIFT,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED


def test_item_change_to_a_cheaper_variant_refunds(db: RetailDB, tools: dict[str, Tool]) -> None:
    order = call(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_A],
        new_item_ids=["6245746168"],
        payment_method_id=OMAR_GIFT,
    )
    assert order["payment_history"][-1]["transaction_type"] == "refund"
    assert order["payment_history"][-1]["amount"] == 6.03
    assert balance(db, OMAR, OMAR_GIFT) == 74.03


def test_item_change_pairs_each_listed_item_with_its_own_line(tools: dict[str, Tool]) -> None:
    # PUZZLE_A becomes PUZZLE_B while the original PUZZLE_B line becomes another puzzle
    order = call(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_A, PUZZLE_B],
        new_item_ids=[PUZZLE_B, "9237024510"],
        payment_method_id="credit_card_5322562",
    )
    assert order["items"][0]["item_id"] == PUZZLE_B
    assert order["items"][4]["item_id"] == "9237024510"


@pytest.mark.parametrize(
    ("item_ids", "new_item_ids", "method", "code", "message"),
    [
        (
            [PUZZLE_A],
            ["9237024510", "4068787148"],
            OMAR_GIFT,
            ErrorCode.INVALID_ARGUMENTS,
            "entries",
        ),
        ([], [], OMAR_GIFT, ErrorCode.INVALID_ARGUMENTS, "at least one"),
        (["1151293680"], ["9237024510"], OMAR_GIFT, ErrorCode.PRECONDITION_FAILED, "not at all"),
        (
            [PUZZLE_A, PUZZLE_A],
            ["9237024510", "4068787148"],
            OMAR_GIFT,
            ErrorCode.PRECONDITION_FAILED,
            "listed 2 time(s)",
        ),
        ([PUZZLE_B], [PUZZLE_B], OMAR_GIFT, ErrorCode.PRECONDITION_FAILED, "the same"),
        ([PUZZLE_A], ["1151293680"], OMAR_GIFT, ErrorCode.PRECONDITION_FAILED, "not a variant"),
        ([PUZZLE_A], ["0000000000"], OMAR_GIFT, ErrorCode.NOT_FOUND, "no item"),
        ([PUZZLE_A], ["3614853563"], OMAR_GIFT, ErrorCode.PRECONDITION_FAILED, "not available"),
        ([PUZZLE_A], ["9237024510"], SOFIA_CARD, ErrorCode.PRECONDITION_FAILED, "is not one of"),
    ],
)
def test_item_change_preconditions(
    db: RetailDB,
    tools: dict[str, Tool],
    item_ids: list[str],
    new_item_ids: list[str],
    method: str,
    code: ErrorCode,
    message: str,
) -> None:
    before = db.order(OMAR_ORDER)
    err = failure(
        tools,
        "modify_pending_order_items",
        order_id=OMAR_ORDER,
        item_ids=item_ids,
        new_item_ids=new_item_ids,
        payment_method_id=method,
    )
    assert err.code is code and message in err.message
    assert db.order(OMAR_ORDER) == before


def test_item_change_needs_a_gift_card_that_covers_the_difference(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    # ava_lopez_2676's gift card holds 6.00; the new variant costs 8.40 more
    err = failure(
        tools,
        "modify_pending_order_items",
        order_id="#W8327915",
        item_ids=["2025713343"],
        new_item_ids=["7184044281"],
        payment_method_id="gift_card_4855547",
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "balance of 6.00" in err.message
    assert balance(db, "ava_lopez_2676", "gift_card_4855547") == 6.0
    err = failure(
        tools,
        "modify_pending_order_items",
        order_id=SOPHIA_ORDER,
        item_ids=["9370300555"],
        new_item_ids=["9237024510"],
        payment_method_id=SOPHIA_GIFT,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "delivered" in err.message


# -- returns and exchanges --------------------------------------------------------------------


def test_return_records_items_and_refund_method(db: RetailDB, tools: dict[str, Tool]) -> None:
    # a duplicated item may be returned as often as the order holds it
    order = call(
        tools,
        "return_delivered_order_items",
        order_id=HARPER_ORDER,
        item_ids=["8590708195", "6534134392", "8590708195"],
        payment_method_id=HARPER_PAYPAL,
    )
    assert order["status"] == "return requested"
    assert order["return_items"] == ["6534134392", "8590708195", "8590708195"]
    assert order["return_payment_method_id"] == HARPER_PAYPAL
    assert len(order["payment_history"]) == 1  # the refund is not paid out yet
    assert db.order(HARPER_ORDER) == order
    again = failure(
        tools,
        "return_delivered_order_items",
        order_id=HARPER_ORDER,
        item_ids=["6534134392"],
        payment_method_id=HARPER_PAYPAL,
    )
    assert again.code is ErrorCode.PRECONDITION_FAILED and "return requested" in again.message


def test_return_refunds_only_to_the_original_method_or_a_gift_card(tools: dict[str, Tool]) -> None:
    err = failure(
        tools,
        "return_delivered_order_items",
        order_id=HARPER_ORDER,
        item_ids=["6534134392"],
        payment_method_id=HARPER_CARD,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "original payment method" in err.message
    err = failure(
        tools,
        "return_delivered_order_items",
        order_id=HARPER_ORDER,
        item_ids=["8590708195"] * 3,
        payment_method_id=HARPER_PAYPAL,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "holds it 2 time(s)" in err.message
    err = failure(
        tools,
        "return_delivered_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_A],
        payment_method_id=OMAR_GIFT,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "pending" in err.message
    order = call(
        tools,
        "return_delivered_order_items",
        order_id=SOPHIA_ORDER,
        item_ids=["9370300555"],
        payment_method_id=SOPHIA_GIFT,
    )
    assert order["return_payment_method_id"] == SOPHIA_GIFT


def test_exchange_records_the_swap_without_moving_money(
    db: RetailDB, tools: dict[str, Tool]
) -> None:
    # keyboard 272.33 -> 269.46 and puzzle 45.90 -> 53.72: 4.95 more, within the 10.00 card
    order = call(
        tools,
        "exchange_delivered_order_items",
        order_id=SOPHIA_ORDER,
        item_ids=["9370300555", "1151293680"],
        new_item_ids=["4572024853", "9665000388"],
        payment_method_id=SOPHIA_GIFT,
    )
    assert order["status"] == "exchange requested"
    assert order["exchange_items"] == ["1151293680", "9370300555"]
    assert order["exchange_new_items"] == ["4572024853", "9665000388"]
    assert order["exchange_payment_method_id"] == SOPHIA_GIFT
    assert order["exchange_price_difference"] == 4.95
    assert balance(db, "sophia_jackson_6355", SOPHIA_GIFT) == 10.0
    assert order["items"][0]["item_id"] == "1151293680"  # lines unchanged
    again = failure(
        tools,
        "exchange_delivered_order_items",
        order_id=SOPHIA_ORDER,
        item_ids=["9635758562"],
        new_item_ids=["4107812777"],
        payment_method_id=SOPHIA_CARD,
    )
    assert again.code is ErrorCode.PRECONDITION_FAILED


def test_exchange_preconditions(db: RetailDB, tools: dict[str, Tool]) -> None:
    before = db.order(SOPHIA_ORDER)
    cases = [
        (["9635758562"], ["4153505238", "1775591963"], SOPHIA_CARD, ErrorCode.INVALID_ARGUMENTS),
        (
            ["9635758562"],
            ["1151293680"],
            SOPHIA_CARD,
            ErrorCode.PRECONDITION_FAILED,
        ),  # other product
        (["9370300555"], ["3614853563"], SOPHIA_CARD, ErrorCode.PRECONDITION_FAILED),  # unavailable
        (["9635758562"], ["4153505238"], OMAR_GIFT, ErrorCode.PRECONDITION_FAILED),  # not hers
        # running shoes 148.95 -> 158.67 is 9.72 and puzzle 45.90 -> 53.72 is 7.82: over 10.00
        (
            ["9635758562", "9370300555"],
            ["4153505238", "4572024853"],
            SOPHIA_GIFT,
            ErrorCode.PRECONDITION_FAILED,
        ),
    ]
    for item_ids, new_item_ids, method, code in cases:
        err = failure(
            tools,
            "exchange_delivered_order_items",
            order_id=SOPHIA_ORDER,
            item_ids=item_ids,
            new_item_ids=new_item_ids,
            payment_method_id=method,
        )
        assert err.code is code, (item_ids, new_item_ids, err)
    assert db.order(SOPHIA_ORDER) == before
    err = failure(
        tools,
        "exchange_delivered_order_items",
        order_id=OMAR_ORDER,
        item_ids=[PUZZLE_A],
        new_item_ids=["9237024510"],
        payment_method_id=OMAR_GIFT,
    )
    assert err.code is ErrorCode.PRECONDITION_FAILED and "pending" in err.message


# -- ownership --------------------------------------------------------------------------------


def test_ownership_maps_each_resource_to_its_customer(db: RetailDB) -> None:
    owners = RetailOwnership(db)
    assert owners.owner_of("user", OMAR) == OMAR
    assert owners.owner_of("order", OMAR_ORDER) == OMAR
    assert owners.owner_of("payment_method", OMAR_GIFT) == OMAR
    assert owners.owner_of("payment_method", SOFIA_CARD) == "sofia_li_9219"
    assert owners.owner_of("user", "nobody_0000") is None
    assert owners.owner_of("order", "#W0000000") is None
    assert owners.owner_of("payment_method", "gift_card_0000000") is None
    assert owners.owner_of("warehouse", "anything") is None
    assert owners.shared_payment_methods == {}


def test_ownership_refuses_a_payment_method_held_by_two_users(db: RetailDB) -> None:
    with db.transaction() as uow:
        user = uow.user("sofia_li_9219")
        assert user is not None
        user["payment_methods"][OMAR_GIFT] = {
            "source": "gift_card",
            "id": OMAR_GIFT,
            "balance": 1.0,
        }
        uow.put_user(user)
    owners = RetailOwnership(db)
    assert owners.owner_of("payment_method", OMAR_GIFT) is None
    assert owners.shared_payment_methods == {OMAR_GIFT: (OMAR, "sofia_li_9219")}
