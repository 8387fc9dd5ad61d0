"""The retail grounding probe set: well-formed RAGTruth data, split by source, labels that hold.

The probes are faithful and hallucinated answers about the retail desk's own evidence (tool
records and kb sections), so the checks also prove that every record is what the desk's tool
returns today and every passage is text the kb still holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tether.domains.retail.db import RetailDB
from tether.domains.retail.tools import RetailTools
from tether.grounding.ragtruth import load_dataset

PROBES = Path(str(resources.files("tether.domains.retail") / "data" / "grounding_probes"))
KB = Path(str(resources.files("tether.domains.retail") / "kb"))
HALVES = ("dev", "heldout")
# a second development set with its own sources and phrasings, so tuning does not fit one sample
EXTRA_DEV = "dev2"
# a small third development set over randomly drawn sources, written before the checks it
# measures changed: the out-of-sample figure of a change
DRAWN_DEV = "dev3"
# a fourth, drawn the same way over sources no other set uses, written before the checks that
# followed it changed
DRAWN_DEV4 = "dev4"
# a fifth, drawn the same way again, its wrong answers near misses on rules said in other words,
# conditions, comparisons and states
DRAWN_DEV5 = "dev5"
# a sixth, drawn the same way, its wrong answers near misses on rules restated and inverted,
# swapped conditions, comparisons of two cases or two record entries, counts of listed options
# and negations without a verb of their own
DRAWN_DEV6 = "dev6"
# a seventh, drawn the same way, its wrong answers near misses a support desk makes: an item's
# option, a count of items, shipments or reasons, the payment method, a timeline, a policy's
# condition and the outcomes of two orders swapped
DRAWN_DEV7 = "dev7"
# an eighth, drawn the same way, its wrong answers near misses said the way a desk answers:
# values named indirectly, facts denied in a subordinate clause, sums and differences, relative
# times, one record's fact given to another, a rule's condition or exception moved and additions
DRAWN_DEV8 = "dev8"
# a ninth, drawn the same way, its answers in a desk's many styles (lists, openers, hedges, numbers
# in words) and its wrong answers contradictions of every kind beside faithful ones of that shape
DRAWN_DEV9 = "dev9"
# a tenth, drawn the same way, its answers short and long, restating the question, combining two
# facts and writing amounts, dates and shares in varied forms; its wrong answers contradictions of
# every kind (negations in conditional, relative and "because" clauses, swaps within one record)
DRAWN_DEV10 = "dev10"
# an eleventh, drawn the same way, its answers written as a busy desk chats (terse, chatty, lists,
# steps, quoted policy lines, several records' facts summed up) and its wrong answers contradictions
# of every kind beside faithful ones of the same shape
DRAWN_DEV11 = "dev11"
# a twelfth, drawn the same way, its answers in the desk's many styles (terse, lists with ticks,
# numbered steps, restated questions, amounts in words) and its wrong answers contradictions of
# every kind beside faithful ones of the same shape
DRAWN_DEV12 = "dev12"
# a thirteenth, drawn the same way, its answers in the desk's many styles (terse, restated
# questions, lists with ticks, numbered items, amounts in words) and its wrong answers
# contradictions of every kind beside faithful ones of the same shape
DRAWN_DEV13 = "dev13"
# a fourteenth, drawn the same way, its questions in the customer's own words (their card, item or
# amount, a promise or a fee they were told of, a rule they have wrong) and its answers naming those
# back, correcting them or confirming what no passage supports, beside the usual near misses
DRAWN_DEV14 = "dev14"
# a fifteenth, drawn the same way, its customers naming their own things, reporting what an agent
# promised or a fee they were told of and getting a rule wrong, its answers naming those back,
# declining or correcting them, or confirming what no passage supports, beside the usual near misses
DRAWN_DEV15 = "dev15"
# a sixteenth, drawn the same way, its customers naming their own things, reporting a promise, a
# voucher or a callback they were told of and getting a rule wrong, its answers naming those back,
# declining or correcting them, or confirming what no passage supports, beside the usual near misses
DRAWN_DEV16 = "dev16"
# a seventeenth, drawn the same way, its customers naming their own things, reporting a promise, a
# credit or a discount they were told of, saying what the passages contradict and getting a rule
# wrong, its answers naming those back, declining or correcting them, or confirming them wrongly
DRAWN_DEV17 = "dev17"
# an eighteenth, drawn the same way, its customers naming their own things, reporting a variant
# held back, a waived difference, a colleague's power or an extra paper they were told of, asking
# for what the passages rule out and getting a rule wrong, its answers naming those back, declining
# or correcting them, or confirming them wrongly
DRAWN_DEV18 = "dev18"
# a nineteenth, drawn the same way, its customers naming their own things, reporting points
# instead of a refund, a shipping perk, a security question or a replacement sent first, holding
# what the passages rule out and getting a rule wrong, its answers naming those back, declining
# or correcting them, or confirming them wrongly
DRAWN_DEV19 = "dev19"
# a twentieth, drawn the same way, its customers naming their own things, reporting a sealed box,
# a birth date, a week-long verification, cash to the courier or a refund to a replacement card,
# holding what the passages rule out and getting a rule wrong, its answers naming those back,
# declining or correcting them, or confirming them wrongly
DRAWN_DEV20 = "dev20"
# a twenty-first, drawn the same way, its customers naming their own things, reporting a reason for
# a return, a swap at a store counter, a cancel-and-reorder to change payment or a caller's number
# as proof, holding what the passages rule out and getting a rule wrong, its answers naming those
# back, declining or correcting them, or confirming them wrongly
DRAWN_DEV21 = "dev21"
# a twenty-second, drawn the same way, its customers naming their own things, reporting originals
# kept after an exchange, a refund by bank transfer, a texted code as proof or office hours for a
# hand-over, holding what the passages rule out and getting a rule wrong, its answers naming those
# back, declining or correcting them, or confirming them wrongly
DRAWN_DEV22 = "dev22"
# a twenty-third, drawn the same way, its customers naming their own things, reporting a cash
# refund at a partner shop, a deadline for posting originals back, a second yes by e-mail or an
# order total as proof, holding what the passages rule out and getting a rule wrong, its answers
# naming those back, declining or correcting them, or confirming them wrongly
DRAWN_DEV23 = "dev23"
# a twenty-fourth, drawn the same way, its customers naming their own things, reporting a trade-in
# toward another product, a phone call and a doorstep pickup after an exchange, a refund to a
# relative's gift card or a split refund, holding what the passages rule out and getting a rule
# wrong, its answers naming those back, declining or correcting them, or confirming them wrongly
DRAWN_DEV24 = "dev24"
# a twenty-fifth, drawn the same way, its customers naming their own things, reporting a card charge
# gone the instant a payment moves, a letter and a returns box after an exchange, a refund to
# another wallet or a name and city as proof, holding what the passages rule out and getting a rule
# wrong, its answers naming those back, declining or correcting them, or confirming them wrongly
DRAWN_DEV25 = "dev25"
# a twenty-sixth, drawn the same way, its customers naming their own things, reporting a ten-day
# wait for a gift card refund, a human only after three failures, a refund to a partner's card or
# a split between a gift card and a card, holding what the passages rule out, its answers naming
# those back, declining or correcting them, or confirming them wrongly
DRAWN_DEV26 = "dev26"
# a twenty-seventh, drawn the same way, its customers naming their own things, reporting a serial
# number for each returned item, a cap on gift card refunds, a slower wait for large refunds or a
# cancelled order brought back within a day, its wrong answers leaning on negations in many forms,
# rules with their scope moved, plausible additions and states said in other words
DRAWN_DEV27 = "dev27"
# a twenty-eighth, drawn the same way, its customers naming their own things, reporting a manager's
# sign-off on a large refund, a gift card run below zero, a difference paid in instalments, a
# cancelled parcel that still arrives or a hand-over kept for premium members, its wrong answers
# leaning on negations in many forms, rules turned round, plausible additions and reworded states
DRAWN_DEV28 = "dev28"
# a twenty-ninth, drawn the same way, its customers naming their own things, reporting helmets
# barred from exchanges, business days that take in weekends, a paid faster refund, a gift card
# needing more than the exact difference or an exchanged order split in two, its wrong answers
# leaning on negations in many forms, rules with their scope moved, additions and reworded states
DRAWN_DEV29 = "dev29"
# a thirtieth, drawn the same way, its customers naming their own things, reporting a faster refund
# for one card brand, business days run from the order date, photos before the exchange e-mail, an
# exchange undone within a day, a spouse's name as proof or a courier and prices for a return, its
# wrong answers leaning on negations in many forms, rules turned round, additions and reworded states
DRAWN_DEV30 = "dev30"
# a thirty-first, drawn the same way, its customers naming their own things, reporting a refund
# given to charity or kept as store credit, a payment switch needing a call to the bank, refunds
# paid in halves or at month end, or a difference charged once the old item is back, its wrong
# answers leaning on negations in many forms, rules turned round, additions and reworded states
DRAWN_DEV31 = "dev31"
# a thirty-second, drawn the same way, its customers naming their own things, reporting a PayPal fee
# kept from a refund, a changed order made cancellable by changing it back, a posting address or an
# item's condition for a return, an original order to cancel after an exchange or sale items barred
# from exchanges, its wrong answers leaning on negations in many forms, rules turned round,
# additions and reworded states
DRAWN_DEV32 = "dev32"
# a thirty-third, drawn the same way, its customers naming their own things, reporting a PayPal
# transaction number or drop-off date for a return, a surname with a zip as proof, the full price
# charged before an exchange refund, sales tax on a difference or a payment switch barred after an
# hour, its wrong answers leaning on negations in many forms, rules turned round and reworded states
DRAWN_DEV33 = "dev33"
# a thirty-fourth, drawn the same way, its customers naming their own things, reporting a shipping
# charge kept from a cancellation refund, a card's billing zip as proof, a 90-day limit on orders, a
# silent hand-over or an e-mail queue for a person, or two gift cards pooled for one order, its wrong
# answers leaning on negations in many forms, rules turned round, additions and reworded states
DRAWN_DEV34 = "dev34"
# a thirty-fifth, drawn the same way after a thirty-fourth, its customers naming their own things,
# reporting an exchange limited to one changed option or to unworn shoes, an RMA number or arrival
# date for a return, a refund moved to another card when PayPal closes or onto a new gift card, or a
# hand-over answered by e-mail with a ticket, its wrong answers leaning on negations in many forms,
# rules turned round and additions
DRAWN_DEV35 = "dev35"
# a thirty-sixth, drawn the same way after a thirty-fifth, its customers naming their own things,
# reporting a shipping address only a person can change or a transfer that hands out a phone number, a
# new order to check out and refund during an exchange or a cooling-off before its e-mail, a gift card
# added after the order, a bonus for gift-card refunds, a bank transfer, or a fraud hold and a new code
# for a large gift-card refund, its wrong answers leaning on negations, rules turned round and states
DRAWN_DEV36 = "dev36"
# a thirty-seventh, drawn the same way after a thirty-sixth, its customers naming their own things,
# reporting a gift card number as proof, a street address on top of name and zip, a cut-off above
# which a refund can't go to a gift card, a refund wired to a bank account, exchanges open once an
# order is processed, all items exchanged or none, or a fee or a reason needed for a hand-over, its
# wrong answers leaning on negations in many forms, rules turned round and additions
DRAWN_DEV37 = "dev37"
# a thirty-eighth, drawn the same way after a thirty-seventh, its customers naming their own things,
# reporting PayPal refunds quicker than a card's or held until the order ships, an initial in place
# of a first name, order ids never given out, a gift card that need only cover the dearest item, a
# refund sent to the new payment method, or exchanges kept for faulty items or stretched to another
# kind of product, its wrong answers spread over every kind of near miss
DRAWN_DEV38 = "dev38"
# a thirty-ninth, drawn the same way after a thirty-eighth, its customers naming their own things,
# reporting a difference split between a gift card and a card or always charged to the original
# payment, photos and a receipt for a return, a gift card opened to take a refund, a person only
# when the desk can't help, a hand-over retold from scratch or made by phone, or a payment switch
# that leaves pending or refunds a gift card slowly, its wrong answers leaning on comparisons,
# states, timings and rules turned round
DRAWN_DEV39 = "dev39"
# a fortieth, drawn the same way after a thirty-ninth, its customers naming their own things,
# reporting a refund sent to a debit card or onto a gift card opened for it, a difference always
# charged to the original payment or lost when it is owed back, a gift card that need only hold
# something, an order placed again or refunded the same day after a payment switch, or a return
# status after an exchange, its wrong answers spread over every kind of near miss
DRAWN_DEV40 = "dev40"
# a forty-first, drawn the same way after a fortieth, its customers naming their own things,
# reporting a gift card that covers a difference, the difference tied to what paid for the order, a
# fresh order for an exchange, colour changes barred from exchanges, a shipped order exchanged
# early, packaging and serial numbers for a return, a refund to a cousin's card, a gift card refund
# taking days or a payment switch refunded only once the order ships, its wrong answers spread over
# every kind of near miss
DRAWN_DEV41 = "dev41"
# a forty-second, drawn the same way after a forty-first, its customers naming their own things,
# reporting a refund onto a gift card opened for it or a relative's card, photos, a receipt and a
# reason for a return, an order back to pending or a new order to place after an exchange, colour
# changes barred from exchanges or a sold-out variant exchanged once restocked, its wrong answers
# spread over every kind of near miss
DRAWN_DEV42 = "dev42"
# a forty-third, drawn the same way after a forty-second, its customers naming their own things,
# reporting a card refund back in a day or two, no refund on a payment switch, a new order or a text
# message after an exchange, a person only for urgent requests or a retold story after a transfer,
# pending orders beyond the desk, photos and a reason for a return or a refund onto a new gift card,
# its wrong answers spread over every kind of near miss
DRAWN_DEV43 = "dev43"
# a forty-fourth, drawn the same way after a forty-third, its customers naming their own things,
# reporting a user id as proof of identity, a relative's account opened to family, a small gift
# card that covers a difference, two exchanges or a return beside an exchange on one order, a
# sold-out variant exchanged later, or a cancelled order refunded to a gift card, its wrong
# answers spread over every kind of near miss
DRAWN_DEV44 = "dev44"
# a forty-fifth, drawn the same way after a forty-fourth, its customers naming their own things,
# reporting a refund onto a relative's card or a new gift card, two returns from one order, a
# payment split between two methods, an order back to processing after a switch, pending orders
# beyond the desk, a story retold after a transfer, a gift card refund taking days or a
# cancellation without a read-back, its wrong answers spread over every kind of near miss
DRAWN_DEV45 = "dev45"
# a forty-sixth, drawn the same way after a forty-fifth, its customers naming their own things,
# reporting exchanges only while pending or for any product, a sold-out size exchanged later, a
# person needed for a pending order's address or only when urgent, a story retold after a
# transfer, a new order or a return status after an exchange, or a gift card refund taking a week,
# its wrong answers spread over every kind of near miss
DRAWN_DEV46 = "dev46"
# a forty-seventh, drawn the same way after a forty-sixth, its customers naming their own things,
# reporting exchanges only for another colour, any kitchen item for another, a payment split
# between a gift card and PayPal or moved to a relative's card, a gift card refund taking days,
# part of the money back after a change, a user id or card digits to verify, its wrong answers
# spread over every kind of near miss
DRAWN_DEV47 = "dev47"
# a forty-eighth, drawn the same way after a forty-seventh, its customers naming their own
# things, reporting a person only when the desk can't help, a gift card covering part of an
# order, a difference only on the original card or needing a new order, only the order number
# needed or a refund sent anywhere, its wrong answers spread over every kind of near miss
DRAWN_DEV48 = "dev48"
# a forty-ninth, drawn the same way after a forty-eighth, its customers naming their own things,
# reporting a PayPal refund taking days, a short gift card covering part of an order, no new
# order after an exchange, or the desk cancelling a pending order itself, its wrong answers
# spread over every kind of near miss
DRAWN_DEV49 = "dev49"
# a fiftieth, drawn the same way after a forty-ninth, its customers naming their own things,
# reporting a gift card refund back at once, no exchange for another size once delivered, a
# short gift card that cannot take an order, or no new order after an exchange, its wrong
# answers spread over every kind of near miss
DRAWN_DEV50 = "dev50"
# a fifty-first, drawn the same way after a fiftieth, its customers naming their own things,
# reporting no new order after an exchange, earbuds exchanged for a speaker, a gift card refund
# back at once, or an order staying pending after a payment switch, its wrong answers spread
# over every kind of near miss, each in a different agent's voice
DRAWN_DEV51 = "dev51"
# a fifty-second, drawn the same way after a fifty-first, its customers naming their own
# things, reporting a half size up or a jacket for shoes, a cancellation after a colour change,
# a PayPal refund timing or a refund to a spouse's card, its wrong answers spread over every
# kind of near miss, each in a different agent's voice
DRAWN_DEV52 = "dev52"
# a fifty-third, drawn the same way after a fifty-second, its customers naming their own things,
# reporting a gift card covering the whole order, a user id alone not verifying, a PayPal refund
# timing or a new order needed for an exchange, its wrong answers spread over every kind of near
# miss, each in a different agent's voice
DRAWN_DEV53 = "dev53"
# the sets drawn after the first, in the order they were drawn
LATER_DRAWN = (
    DRAWN_DEV4,
    DRAWN_DEV5,
    DRAWN_DEV6,
    DRAWN_DEV7,
    DRAWN_DEV8,
    DRAWN_DEV9,
    DRAWN_DEV10,
    DRAWN_DEV11,
    DRAWN_DEV12,
    DRAWN_DEV13,
    DRAWN_DEV14,
    DRAWN_DEV15,
    DRAWN_DEV16,
    DRAWN_DEV17,
    DRAWN_DEV18,
    DRAWN_DEV19,
    DRAWN_DEV20,
    DRAWN_DEV21,
    DRAWN_DEV22,
    DRAWN_DEV23,
    DRAWN_DEV24,
    DRAWN_DEV25,
    DRAWN_DEV26,
    DRAWN_DEV27,
    DRAWN_DEV28,
    DRAWN_DEV29,
    DRAWN_DEV30,
    DRAWN_DEV31,
    DRAWN_DEV32,
    DRAWN_DEV33,
    DRAWN_DEV34,
    DRAWN_DEV35,
    DRAWN_DEV36,
    DRAWN_DEV37,
    DRAWN_DEV38,
    DRAWN_DEV39,
    DRAWN_DEV40,
    DRAWN_DEV41,
    DRAWN_DEV42,
    DRAWN_DEV43,
    DRAWN_DEV44,
    DRAWN_DEV45,
    DRAWN_DEV46,
    DRAWN_DEV47,
    DRAWN_DEV48,
    DRAWN_DEV49,
    DRAWN_DEV50,
    DRAWN_DEV51,
    DRAWN_DEV52,
    DRAWN_DEV53,
)
SETS = (*HALVES, EXTRA_DEV, DRAWN_DEV, *LATER_DRAWN)
TASKS = ("qa", "data2txt")
KINDS = {
    "faithful",
    "negation",
    "status",
    "swap",
    "quantity",
    "temporal",
    "policy_inversion",
    "comparison",
    "baseless",
}
LABEL_TYPES = {"Evident Conflict", "Baseless Info"}
PASSAGE = re.compile(r"^passage \d+: ", flags=re.MULTILINE)


@cache
def records(half: str, task: str) -> list[dict[str, Any]]:
    text = (PROBES / half / f"{task}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def responses(half: str) -> list[dict[str, Any]]:
    return [r for task in TASKS for source in records(half, task) for r in source["responses"]]


def source_ids(half: str) -> list[str]:
    return [s["source_id"] for task in TASKS for s in records(half, task)]


def squashed(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("half", SETS)
def test_each_half_loads_through_the_evaluation_harness(half: str) -> None:
    loaded = load_dataset(PROBES / half)
    assert set(loaded) == set(TASKS)
    raw = responses(half)
    examples = [*loaded["qa"], *loaded["data2txt"]]  # the order `responses` reads them in
    assert len(examples) == len(raw)
    # the harness reads a response as hallucinated exactly when the probe is not faithful
    assert [e.hallucinated for e in examples] == [r["kind"] != "faithful" for r in raw]


def test_the_set_is_large_and_about_half_faithful() -> None:
    every = [r for half in HALVES for r in responses(half)]
    assert len(every) >= 180
    share = sum(r["kind"] == "faithful" for r in every) / len(every)
    assert 0.4 <= share <= 0.6


def test_halves_share_no_source_and_are_roughly_equal() -> None:
    ids = {half: [s["source_id"] for task in TASKS for s in records(half, task)] for half in HALVES}
    assert all(len(set(v)) == len(v) for v in ids.values())
    assert not set(ids["dev"]) & set(ids["heldout"])
    sizes = [len(responses(half)) for half in HALVES]
    assert min(sizes) / max(sizes) >= 0.8


def test_the_second_dev_set_is_large_new_and_about_half_faithful() -> None:
    ids = source_ids(EXTRA_DEV)
    assert len(ids) == len(set(ids)) >= 24
    assert not set(ids) & {i for half in HALVES for i in source_ids(half)}
    every = responses(EXTRA_DEV)
    assert len(every) >= 140
    assert 0.4 <= sum(r["kind"] == "faithful" for r in every) / len(every) <= 0.6
    # qa and data2txt each get a real share, and qa keeps its own kind of error
    assert all(len(records(EXTRA_DEV, task)) >= 8 for task in TASKS)
    kinds = {
        task: {r["kind"] for s in records(EXTRA_DEV, task) for r in s["responses"]}
        for task in TASKS
    }
    assert "policy_inversion" in kinds["qa"]
    assert "policy_inversion" not in kinds["data2txt"]  # a record states facts, not rules


def test_the_drawn_dev_set_is_new_and_half_faithful() -> None:
    ids = source_ids(DRAWN_DEV)
    assert len(ids) == len(set(ids))
    assert not set(ids) & {i for half in (*HALVES, EXTRA_DEV) for i in source_ids(half)}
    every = responses(DRAWN_DEV)
    assert len(every) >= 40
    assert sum(r["kind"] == "faithful" for r in every) * 2 == len(every)


@pytest.mark.parametrize(
    ("half", "least"),
    [
        (DRAWN_DEV4, 40),
        (DRAWN_DEV5, 54),
        (DRAWN_DEV6, 54),
        (DRAWN_DEV7, 54),
        (DRAWN_DEV8, 54),
        (DRAWN_DEV9, 54),
        (DRAWN_DEV10, 54),
        (DRAWN_DEV11, 54),
        (DRAWN_DEV12, 54),
        (DRAWN_DEV13, 54),
        (DRAWN_DEV14, 54),
        (DRAWN_DEV15, 54),
        (DRAWN_DEV16, 54),
        (DRAWN_DEV17, 54),
        (DRAWN_DEV18, 54),
        (DRAWN_DEV19, 54),
        (DRAWN_DEV20, 54),
        (DRAWN_DEV21, 54),
        (DRAWN_DEV22, 54),
        (DRAWN_DEV23, 54),
        (DRAWN_DEV24, 54),
        (DRAWN_DEV25, 54),
        (DRAWN_DEV26, 54),
        (DRAWN_DEV27, 54),
        (DRAWN_DEV28, 54),
        (DRAWN_DEV29, 54),
        (DRAWN_DEV30, 54),
        (DRAWN_DEV31, 54),
        (DRAWN_DEV32, 54),
        (DRAWN_DEV33, 54),
        (DRAWN_DEV34, 54),
        (DRAWN_DEV35, 54),
        (DRAWN_DEV36, 54),
        (DRAWN_DEV37, 54),
        (DRAWN_DEV38, 54),
        (DRAWN_DEV39, 54),
        (DRAWN_DEV40, 54),
        (DRAWN_DEV41, 54),
        (DRAWN_DEV42, 54),
        (DRAWN_DEV43, 54),
        (DRAWN_DEV44, 54),
        (DRAWN_DEV45, 54),
        (DRAWN_DEV46, 54),
        (DRAWN_DEV47, 54),
        (DRAWN_DEV48, 54),
        (DRAWN_DEV49, 54),
        (DRAWN_DEV50, 54),
        (DRAWN_DEV51, 54),
        (DRAWN_DEV52, 54),
        (DRAWN_DEV53, 54),
    ],
)
def test_each_later_drawn_dev_set_is_new_and_half_faithful(half: str, least: int) -> None:
    """No source of a drawn set is a source of any set drawn or written before it; once every
    catalogue product is some set's (from dev46 on), its product is none of the held-out half's
    or the last ten sets'."""
    earlier = (*HALVES, EXTRA_DEV, DRAWN_DEV, *LATER_DRAWN[: LATER_DRAWN.index(half)])
    ids = source_ids(half)
    assert len(ids) == len(set(ids))
    reused = {i for i in ids if i.startswith("product-")} if int(half[3:]) >= 46 else set()
    assert not (set(ids) - reused) & {i for other in earlier for i in source_ids(other)}
    recent = (HALVES[1], *LATER_DRAWN[: LATER_DRAWN.index(half)][-10:])
    assert not reused & {i for other in recent for i in source_ids(other)}
    every = responses(half)
    assert len(every) >= least
    assert sum(r["kind"] == "faithful" for r in every) * 2 == len(every)
    kinds = {r["kind"] for s in records(half, "data2txt") for r in s["responses"]}
    assert "policy_inversion" not in kinds  # a record states facts, not rules


def sections(half: str) -> set[str]:
    return {
        squashed(passage)
        for source in records(half, "qa")
        for passage in PASSAGE.split(source["source"]["passages"])[1:]
    }


# the sets drawn from dev5 on, each listed once above
@pytest.mark.parametrize("half", LATER_DRAWN[LATER_DRAWN.index(DRAWN_DEV5) :])
def test_the_latest_dev_sets_use_no_kb_section_of_the_held_out_half(half: str) -> None:
    # every public section is used by some set, so these draw from those the held-out half lacks
    assert sections(half)
    assert not sections(half) & sections("heldout")


@pytest.mark.parametrize("half", SETS)
def test_each_half_covers_every_kind(half: str) -> None:
    kinds = Counter(r["kind"] for r in responses(half))
    assert set(kinds) == KINDS


@pytest.mark.parametrize("half", SETS)
def test_labels_are_exact_spans_and_only_on_hallucinated_answers(half: str) -> None:
    for response in responses(half):
        text, labels = response["response"], response["labels"]
        assert response["model"] == "probe"
        assert bool(labels) == (response["kind"] != "faithful"), text
        for label in labels:
            assert 0 <= label["start"] < label["end"] <= len(text), label
            assert text[label["start"] : label["end"]] == label["text"], label
            assert label["label_type"] in LABEL_TYPES, label


@pytest.mark.parametrize("half", SETS)
def test_records_are_what_the_desk_tools_return(half: str) -> None:
    tools = RetailTools(RetailDB.fresh_copy())
    lookups: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
        "order": ("get_order_details", lambda key: tools.get_order_details(f"#{key}")),
        "user": ("get_user_details", tools.get_user_details),
        "product": ("get_product_details", tools.get_product_details),
    }
    for source in records(half, "data2txt"):
        table, key = source["source_id"].split("-", 1)
        tool, lookup = lookups[table]
        # the line names the tool, so the evaluation reads the record with its field map
        assert source["tool"] == tool, source["source_id"]
        assert source["source"] == lookup(key), source["source_id"]


@pytest.mark.parametrize("half", SETS)
def test_passages_are_sections_of_the_public_kb(half: str) -> None:
    public = {
        path.name: squashed(re.sub(r"^#+ ", "", path.read_text(encoding="utf-8"), flags=re.M))
        for path in KB.glob("*.md")
        if "acl: [public]" in path.read_text(encoding="utf-8")
    }
    for source in records(half, "qa"):
        passages = PASSAGE.split(source["source"]["passages"])
        assert passages[0] == ""
        assert len(passages) >= 2
        for passage in passages[1:]:
            # a passage is a section: its heading and body, in one public article
            assert any(squashed(passage) in article for article in public.values()), passage
