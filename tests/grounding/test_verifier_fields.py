"""Records checked as records: fields from a tool's output schema, values bound to the right
item of a list, comparisons and superlatives by price, sums of money by field name, and states
read through the order a record passes through them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.grounding.common import context
from tether.core.errors import TetherError
from tether.core.types import Effect, Evidence, ModelTurn, TurnKind
from tether.domains.retail.pack import RETAIL, RETAIL_AGENT
from tether.grounding import FieldMap, FieldSpec, GroundingPack, VerifierConfig
from tether.grounding.sources import list_counts
from tether.grounding.verifier import Verification
from tether.grounding.verify import ClaimCheck
from tether.sdk.desk import default_answer_checks
from tether.sdk.domain import DomainParts

TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "ticket_id": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "closed"]},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
ORDER: dict[str, Any] = {
    "order_id": "#W100",
    "status": "delivered",
    "items": [
        {"name": "Desk Lamp", "item_id": "1", "price": 135.24, "options": {"color": "black"}},
        {"name": "Tea Kettle", "item_id": "2", "price": 98.82, "options": {"color": "white"}},
        {"name": "Backpack", "item_id": "3", "price": 198.0, "options": {"color": "grey"}},
    ],
    "fulfillments": [{"tracking_id": ["443180443110"], "item_ids": ["1", "2", "3"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 432.06}],
}
WALLET = {
    "user_id": "ava_1",
    "payment_methods": {
        "gift_card_1": {"source": "gift_card", "id": "gift_card_1", "balance": 60.0},
    },
}


def strict() -> GroundingPack:
    return GroundingPack(config=VerifierConfig(strict=True))


def check(answer: str, record: dict[str, Any], tool: str = "get_order_details") -> Verification:
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return strict().verifier().verify_items(answer, evidence)


def test_a_tool_without_a_field_map_gets_one_from_its_output_schema() -> None:
    ticket = {"ticket_id": "T-100", "state": "open", "notes": ["called back"]}
    evidence = [Evidence("tool:1", "tool:get_ticket", json.dumps(ticket))]
    verifier = GroundingPack().verifier(schemas={"get_ticket": TICKET_SCHEMA})
    assert any(m.tool == "get_ticket" for m in verifier.fields)
    wrong = verifier.verify_items("Ticket T-100 is closed.", evidence)
    (claim,) = wrong.claims
    assert claim.status == "contradicted" and claim.field == "tool:1:state"
    assert wrong.flagged
    right = verifier.verify_items("Ticket T-100 is open.", evidence)
    assert not right.flagged and right.claims[0].field == "tool:1:state"


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Your order #W100 holds a black Desk Lamp and a white Tea Kettle.", False),
        ("Your order #W100 holds a white Desk Lamp.", True),  # the kettle is the white one
        ("The Desk Lamp in order #W100 isn't black.", True),
        ("The Tea Kettle costs $135.24.", True),  # the lamp's price
        ("The Tea Kettle costs $98.82.", False),
    ],
)
def test_values_are_judged_against_the_item_they_are_said_of(answer: str, flagged: bool) -> None:
    assert check(answer, ORDER).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The Tea Kettle is cheaper than the Desk Lamp.", False),
        ("The Tea Kettle is more expensive than the Desk Lamp.", True),
        ("The Backpack is the most expensive item in order #W100.", False),
        ("The Desk Lamp is the cheapest item in order #W100.", True),
    ],
)
def test_comparisons_and_superlatives_follow_the_prices(answer: str, flagged: bool) -> None:
    assert check(answer, ORDER).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Order #W100 has shipped.", False),  # delivered implies shipped
        ("Order #W100 hasn't shipped yet.", True),
        ("Order #W100 is still pending.", True),
        ("Order #W100 has no tracking number.", True),
        ("Order #W100 contains three items.", False),
        ("Order #W100 contains two items.", True),
    ],
)
def test_states_and_counts_read_the_record_as_a_whole(answer: str, flagged: bool) -> None:
    assert check(answer, ORDER).flagged is flagged


def test_a_sum_said_with_a_field_name_must_be_that_field() -> None:
    assert not check("Your gift card has a balance of $60.", WALLET, "get_user_details").flagged
    wrong = check("Your gift card has a balance of $6.", WALLET, "get_user_details")
    assert wrong.flagged
    assert any("balance" in (c.field or "") for c in wrong.claims)


def test_an_agent_sets_its_own_operating_point() -> None:
    evidence = {"tool:1": Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))}
    answer = ModelTurn(TurnKind.ANSWER, text="Order #W100 has been delivered.")
    check = ClaimCheck(RETAIL.grounding.verifier())

    def verdict(agent: Any) -> Any:
        return check(context(list(evidence.values()), agent), answer)

    relaxed = verdict(RETAIL_AGENT)
    pack_point = RETAIL.grounding.config.operating_point
    assert relaxed.facts["operating_point"] == pack_point and relaxed.effect is Effect.ALLOW
    # the same faithful answer, for an agent that flags anything scoring above 0.001
    strict_agent = replace(RETAIL_AGENT, verifier_operating_point=0.001)
    tight = verdict(strict_agent)
    assert tight.facts["operating_point"] == 0.001 and tight.effect is Effect.DENY
    with pytest.raises(TetherError, match="verifier_operating_point"):
        replace(RETAIL, agents=(replace(RETAIL_AGENT, verifier_operating_point=1.5),))


def test_the_desk_checks_a_contradiction_phrased_as_a_question() -> None:
    pending = {**ORDER, "status": "pending"}
    evidence = {"tool:1": Evidence("tool:1", "tool:get_order_details", json.dumps(pending))}
    parts = DomainParts(tools=(), principals=None, rights={})  # type: ignore[arg-type]
    claims = next(c for c in default_answer_checks(RETAIL, parts, "refuse") if c.name == "claims")
    ctx = context(list(evidence.values()), RETAIL_AGENT)
    asked = ModelTurn(TurnKind.ANSWER, text="Order #W100 was delivered, right?")
    assert claims(ctx, asked).effect is Effect.DENY
    offer = ModelTurn(TurnKind.ANSWER, text="Order #W100 is pending. Anything else I can do?")
    assert claims(ctx, offer).effect is Effect.ALLOW


def test_the_evaluation_reads_a_record_through_the_tools_field_map() -> None:
    # "phase" is no status by its name: only the pack's field map says it is one
    pack = GroundingPack(
        fields=(FieldMap("get_shipment", (FieldSpec("phase", "status", ("shipment",)),)),)
    )
    record = {"shipment_ref": "S-9", "phase": "pending"}
    verifier = pack.verifier()
    claim = "The shipment has been delivered."
    assert verifier.verify_source("data2txt", record, claim, "get_shipment").contradicted
    assert not verifier.verify_source("data2txt", record, claim).contradicted
    run = verifier.verify_items(
        claim, [Evidence("tool:1", "tool:get_shipment", json.dumps(record))]
    )
    assert run.contradicted and run.claims[0].field == "tool:1:phase"


PROFILE = {
    "user_id": "ava_1",
    "name": {"first_name": "Ava", "last_name": "Li"},
    "address": {"address1": "713 Hillcrest Drive", "city": "New York", "zip": "10126"},
    "email": "ava.li@example.com",
}
UNSHIPPED = {**ORDER, "status": "pending", "fulfillments": []}


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        # none said, in other words, of a field that holds one
        ("Order #W100 was never given a tracking number.", ORDER, True),
        ("Order #W100 wasn't assigned a tracking number.", ORDER, True),
        ("Your address is 713 Hillcrest Drive, New York, though there's no e-mail address on file.",
         PROFILE, True),
        # the same words where the field is empty, or said as the record has it
        ("Order #W100 was never given a tracking number.", UNSHIPPED, False),
        ("Order #W100 was given a tracking number.", ORDER, False),
        ("Your address is 713 Hillcrest Drive, New York, and your e-mail address is on file.",
         PROFILE, False),
    ],
)  # fmt: skip
def test_none_said_of_a_field_that_holds_one(
    answer: str, record: dict[str, Any], flagged: bool
) -> None:
    v = check(answer, record, "get_user_details" if record is PROFILE else "get_order_details")
    assert v.flagged is flagged, v.claims


GEAR: dict[str, Any] = {
    "order_id": "#W200",
    "status": "delivered",
    "items": [
        {"name": "Headphones", "item_id": "1", "price": 353.76,
         "options": {"type": "over-ear", "connectivity": "wired"}},
        {"name": "Laptop", "item_id": "2", "price": 1054.43, "options": {"ram": "32GB"}},
    ],
    "fulfillments": [{"tracking_id": ["983210342778"], "item_ids": ["1", "2"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 1408.19}],
}  # fmt: skip
WALLET_OWNER = {
    "user_id": "ava_2",
    "address": {"address1": "109 Sunset Drive", "city": "Dallas"},
    "payment_methods": {"gift_card_2": {"source": "gift_card", "id": "gift_card_2"}},
}


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        # a figure denied beside the one the record holds, in the same unit
        ("The laptop isn't a 16GB one, it has 32GB of RAM.", GEAR, False),
        ("The laptop isn't a 16GB one.", GEAR, True),
        ("The laptop isn't a 16GB one, it has 64GB of RAM.", GEAR, True),
        # the prices' total said as their sum, not as a price
        ("The $1,408.19 payment was exactly the two prices added up.", GEAR, False),
        ("The $1,408.91 payment was exactly the two prices added up.", GEAR, True),
        ("The laptop's price is $1,408.19.", GEAR, True),
        # "over-ear" is the headphones' type, and "under tracking number" no amount
        ("Both items went under tracking number 983210342778, the over-ear headphones included.",
         GEAR, False),
        # a payment said to have failed that the record holds
        ("The $1,408.19 payment was declined.", GEAR, True),
        ("The $1,408.19 payment went through.", GEAR, False),
        # none of what the account keeps, "saved" or not
        ("Your profile in Dallas is set up without any saved payment method.", WALLET_OWNER, True),
        ("Your profile in Dallas has a gift card saved as its payment method.", WALLET_OWNER,
         False),
    ],
)  # fmt: skip
def test_figures_totals_and_acts_read_as_the_record_holds_them(
    answer: str, record: dict[str, Any], flagged: bool
) -> None:
    tool = "get_user_details" if record is WALLET_OWNER else "get_order_details"
    v = check(answer, record, tool)
    assert v.flagged is flagged, v.claims


CHAIRS: dict[str, Any] = {
    "name": "Office Chair",
    "product_id": "479",
    "variants": {
        "1": {"item_id": "1", "options": {"color": "gray", "material": "mesh"}, "available": True,
              "price": 483.95},
        "2": {"item_id": "2", "options": {"color": "gray", "material": "leather"}, "available": True,
              "price": 508.21},
        "3": {"item_id": "3", "options": {"color": "red", "material": "leather"}, "available": False,
              "price": 466.44},
        "4": {"item_id": "4", "options": {"color": "red", "material": "mesh"}, "available": True,
              "price": 544.29},
    },
}  # fmt: skip
TWO_ORDERS = {**PROFILE, "orders": ["#W8413387", "#W1111111"]}


@pytest.mark.parametrize(
    ("answer", "record", "tool", "flagged"),
    [
        # two denials that make one "every … can be ordered"
        ("There's no gray chair you can't order.", CHAIRS, "get_product_details", False),
        ("There's no red chair you can't order.", CHAIRS, "get_product_details", True),
        ("There isn't a single variant you can't order right now.", CHAIRS,
         "get_product_details", True),
        # a field said to be lacking, and a count said with "there's"
        ("Your profile lacks an e-mail address.", PROFILE, "get_user_details", True),
        ("There's one order on your profile, #W8413387.", TWO_ORDERS, "get_user_details", True),
        ("There are two orders on your profile.", TWO_ORDERS, "get_user_details", False),
        # the prices' total said with the plural of its field's name
        ("It came to $1,408.19, the two prices to the cent.", GEAR, "get_order_details", False),
        ("It came to $1,408.91, the two prices to the cent.", GEAR, "get_order_details", True),
    ],
)  # fmt: skip
def test_denials_counts_and_totals_in_other_words(
    answer: str, record: dict[str, Any], tool: str, flagged: bool
) -> None:
    v = check(answer, record, tool)
    assert v.flagged is flagged, v.claims


REFUNDED_ORDER: dict[str, Any] = {
    "order_id": "#W300",
    "status": "cancelled",
    "items": [{"name": "Jigsaw Puzzle", "item_id": "1", "price": 46.0}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 46.0, "payment_method_id": "gift_card_1"},
        {"transaction_type": "refund", "amount": 46.0, "payment_method_id": "gift_card_1"},
    ],
}


@pytest.mark.parametrize(
    ("answer", "record", "flagged"),
    [
        # money said not to have come back, or not to have been taken, that the record holds
        ("It was cancelled, but the $46 never came back to your gift card.", REFUNDED_ORDER, True),
        ("It was cancelled, and the $46 came back to your gift card.", REFUNDED_ORDER, False),
        ("The items are on their way, though the card hasn't taken the $1,408.19 yet.", GEAR,
         True),
        ("The card has taken the $1,408.19.", GEAR, False),
        ("The items are on their way, though the $1,408.19 charge to your card failed to go "
         "through.", GEAR, True),
    ],
)  # fmt: skip
def test_money_said_not_to_have_moved(answer: str, record: dict[str, Any], flagged: bool) -> None:
    v = check(answer, record)
    assert v.flagged is flagged, v.claims


THREE: dict[str, Any] = {
    "order_id": "#W400",
    "status": "pending",
    "items": [
        {"name": "Tablet", "item_id": "1", "price": 938.92},
        {"name": "Skateboard", "item_id": "2", "price": 195.15},
        {"name": "Jigsaw Puzzle", "item_id": "3", "price": 53.72},
    ],
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # one named item against two others together
        ("The tablet costs $690.05 more than the skateboard and the puzzle together ($248.87).",
         False),
        ("The tablet costs $690.06 more than the skateboard and the puzzle together ($248.87).",
         True),
    ],
)  # fmt: skip
def test_one_item_against_the_others_together(answer: str, flagged: bool) -> None:
    v = check(answer, THREE)
    assert v.flagged is flagged, v.claims


TWO_CARDS = {
    **PROFILE,
    "payment_methods": {
        "credit_card_1": {"source": "credit_card", "brand": "visa", "last_four": "1111"},
        "credit_card_2": {"source": "credit_card", "brand": "mastercard", "last_four": "2222"},
    },
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # how many members a list of the record holds is a number the record gives
        ("Neither a gift card nor PayPal is on this profile, only the two cards.", False),
        ("Only the three cards are on this profile.", True),
        ("Neither a gift card nor PayPal is on this profile, only the five cards.", True),
    ],
)
def test_a_list_counted_by_its_members(answer: str, flagged: bool) -> None:
    v = check(answer, TWO_CARDS, "get_user_details")
    assert v.flagged is flagged, v.claims


def test_list_counts_are_lists_and_objects_of_like_objects() -> None:
    record = {
        "items": [{"price": 1}, {"price": 2}, {"price": 3}],
        "payment_methods": {"a": {"source": "paypal"}, "b": {"source": "gift_card"}},
        "address": {"city": "Austin", "zip": "78701", "state": "TX", "country": "USA"},
    }
    # the address is one object of four fields, not a list of four
    assert list_counts(record) == {2.0, 3.0}


SUNGLASSES: dict[str, Any] = {
    "order_id": "#W500",
    "status": "processed",
    "items": [
        {"name": "Sunglasses", "item_id": "1", "price": 290.94,
         "options": {"frame color": "black", "lens type": "polarized"}},
    ],
    "fulfillments": [{"tracking_id": ["715911584249"], "item_ids": ["1"]}],
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a denial before a colon bears on what it says, not on the value after the colon
        ("Your order is processed but not delivered yet: the black sunglasses have tracking "
         "number 715911584249.", False),
        ("The sunglasses are not black.", True),
    ],
)  # fmt: skip
def test_a_denial_ends_at_its_colon(answer: str, flagged: bool) -> None:
    v = check(answer, SUNGLASSES)
    assert v.flagged is flagged, v.claims


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a name said to be absent after an article adds no name
        ("Neither a gift card nor a PayPal account is saved; the Visa and the Mastercard are.",
         False),
        ("A PayPal account is saved beside the Visa and the Mastercard.", True),
    ],
)  # fmt: skip
def test_a_name_said_to_be_absent(answer: str, flagged: bool) -> None:
    evidence = [Evidence("tool:1", "tool:get_user_details", json.dumps(TWO_CARDS))]
    assert RETAIL.grounding.verifier().verify_items(answer, evidence).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a labelled line counting the ones holding its label's value, and those in stock
        ("Gray: both orderable.", False),
        ("Red: two variants, one orderable.", False),
        ("Red: two variants, two orderable.", True),
        ("Gray: three variants, all orderable.", True),
        # double denials and a range the claim holds for
        ("None of the gray chairs is unavailable.", False),
        ("None of the red chairs is unavailable.", True),
        ("You won't find a red chair that can't be ordered, whether mesh or leather.", True),
        ("Every gray chair can be ordered, whether mesh or leather.", False),
    ],
)
def test_labelled_counts_and_double_denials(answer: str, flagged: bool) -> None:
    v = check(answer, CHAIRS, "get_product_details")
    assert v.flagged is flagged, v.claims
