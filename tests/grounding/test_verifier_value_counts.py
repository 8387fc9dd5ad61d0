"""Counts of the variants holding a value: "the four black ones", "the other two Wi-Fi
cameras", and how many of them are in stock ("two of the three green ones are available").
Such a count is judged against the variants holding every value said beside it, not against
any count the record holds; a wrong one is contradicted, a right one passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.value_counts import check_value_counts, check_whole_list_in_stock


def _variant(n: int, color: str, battery: str, water: str, available: bool) -> dict[str, Any]:
    options = {"color": color, "battery life": battery, "water resistance": water}
    item_id = f"40000000{n:02d}"
    return {"item_id": item_id, "options": options, "available": available, "price": 200 + n}


# black: 3, none in stock; green: 3, one in stock (the 20-hour, non-water-resistant one);
# blue: 2, both in stock
SPEAKER: dict[str, Any] = {
    "name": "Bluetooth Speaker",
    "product_id": "4000000000",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant(1, "black", "10 hours", "yes", False),
            _variant(2, "black", "20 hours", "no", False),
            _variant(3, "black", "20 hours", "yes", False),
            _variant(4, "green", "10 hours", "yes", False),
            _variant(5, "green", "20 hours", "no", True),
            _variant(6, "green", "20 hours", "yes", False),
            _variant(7, "blue", "10 hours", "no", True),
            _variant(8, "blue", "20 hours", "yes", True),
        )
    },
}


LAMP: dict[str, Any] = {
    "name": "Desk Lamp",
    "product_id": "4100000000",
    "variants": {
        "4100000001": {"item_id": "4100000001", "available": True, "price": 144.07,
                       "options": {"color": "white", "power source": "battery"}},
        "4100000002": {"item_id": "4100000002", "available": False, "price": 150.01,
                       "options": {"color": "silver", "power source": "battery"}},
        "4100000003": {"item_id": "4100000003", "available": True, "price": 139.99,
                       "options": {"color": "white", "power source": "AC adapter"}},
    },
}  # fmt: skip


def verdicts(answer: str, record: dict[str, Any] = SPEAKER) -> tuple[bool, list[str]]:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(record))]
    found = RETAIL.grounding.verifier().verify_items(answer, evidence)
    return found.flagged, [r for c in found.claims for r in c.reasons]


@pytest.mark.parametrize(
    "answer",
    [
        "The speaker comes in eight variants. All three black ones are unavailable.",
        "Of the three green ones, only the one with a 20-hour battery can be ordered.",
        "Both blue speakers are available, and one of the three green ones is available too.",
        "The blue 10-hour speaker is available; the other two 20-hour ones in blue and green can "
        "be ordered as well.",
        "Two of the three green speakers are out of stock.",
        "Of the three green ones, two are not available.",  # denied: what is not in stock
        # the state is said in another clause: the count of the group is still judged
        "Every blue speaker is available; of the three black ones, none is.",
    ],
)
def test_a_count_of_the_variants_holding_a_value_that_holds_passes(answer: str) -> None:
    flagged, why = verdicts(answer)
    assert not flagged, why


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("All four black ones are unavailable.", "3 of variants are black, not 4"),
        ("Of the two green ones, one is available.", "3 of variants are green, not 2"),
        ("Two of the three green ones are available.", "1 of the green ones are available, not 2"),
        (
            "Of the three green speakers, two are available.",
            "1 of the green ones are available, not 2",
        ),
        (
            "Of the three black ones, only the one with a 10-hour battery can be ordered.",
            "0 of the black ones are available, not 1",
        ),
        (
            "Two of the three black speakers are out of stock.",
            "3 of the black ones are unavailable",
        ),
        ("Of the three green ones, one is not available.", "2 of the green ones are unavailable"),
    ],
)
def test_a_count_of_the_variants_holding_a_value_that_is_wrong_is_contradicted(
    answer: str, reason: str
) -> None:
    flagged, why = verdicts(answer)
    assert flagged and any(reason in r for r in why), why


def test_a_count_of_a_valued_group_vouches_for_its_own_number_only() -> None:
    # a count of the whole list that holds vouches for the claim's other counts; a count of
    # the black ones does not: "seven colours" is a number the record never gives
    flagged, why = verdicts(
        "All three black ones are unavailable; the speaker comes in seven colours."
    )
    assert flagged and any("7" in r for r in why), why


def test_the_other_ones_leave_out_the_one_named_before() -> None:
    # three green variants; "the other two" are the two besides the one named
    assert not verdicts("The green 20-hour, splash-free one can be ordered; the other two green "
                        "ones can't.")[0]  # fmt: skip
    flagged, why = verdicts(
        "The green 10-hour one is sold out, and so are the other three green ones."
    )
    assert flagged and any("not 3" in r for r in why), why


def test_a_value_said_as_the_first_part_of_a_compound_counts_its_group() -> None:
    said = "Of the two battery-powered lamps, only the white one can be ordered."
    assert not verdicts(said, LAMP)[0]
    flagged, why = verdicts("All three battery-powered lamps are white or silver.", LAMP)
    assert flagged and any("2 of variants are battery, not 3" in r for r in why), why


def test_a_value_compounded_with_its_fields_name_counts_its_group() -> None:
    # "-color" names the field the value is of: "black-color speakers" are the three black
    # ones, and "battery-source lamps" the two with a "power source" of battery
    assert not verdicts("The three black-color speakers are all sold out.")[0]
    flagged, why = verdicts("The four black-color speakers are all sold out.")
    assert flagged and any("3 of variants are black, not 4" in r for r in why), why
    assert not verdicts(
        "Of the two battery-source lamps, only the white one can be ordered.", LAMP
    )[0]
    # a tail that names no field is no part of the value: nothing is counted
    flagged, why = verdicts("The four black-ish speakers are all sold out.")
    assert not any("of variants are black" in r for r in why), why


def test_a_passive_can_be_ordered_says_in_stock() -> None:
    flagged, why = verdicts("The black 10-hour speaker can be ordered today.")
    assert flagged and any("available is False" in r for r in why), why
    assert not verdicts("The blue 10-hour speaker can be ordered today.")[0]


@pytest.mark.parametrize(
    "clause",
    [
        "one with green lenses and one with blue",  # a single object, not a count of lenses
        "two with green straps",  # a phrase of its own, not words describing a group
        "two black or green ones",  # two values of one field: no one group
    ],
)
def test_no_count_of_a_valued_group_is_read_where_none_is_said(clause: str) -> None:
    evidence = EvidenceSet.from_items(
        [Evidence("tool:1", "tool:get_product_details", json.dumps(SPEAKER))]
    )
    assert check_value_counts(clause, evidence.views) == []


@pytest.mark.parametrize(
    ("clause", "holds"),
    [
        ("eight variants, three of which you can order", True),
        ("The speaker comes in eight variants and three of them can be ordered.", True),
        ("eight variants, six of which you can order", False),
        ("The speaker comes in eight variants and four of them can be ordered.", False),
        ("It has eight versions; five are unavailable.", True),
        ("It has eight versions; four are unavailable.", False),
    ],
)
def test_the_whole_list_counted_by_its_members_word_is_judged_on_how_many_are_in_stock(
    clause: str, holds: bool
) -> None:
    evidence = EvidenceSet.from_items(
        [Evidence("tool:1", "tool:get_product_details", json.dumps(SPEAKER))]
    )
    found = check_whole_list_in_stock(clause, evidence.views)
    assert [f.status for f in found] == ["supported" if holds else "contradicted"], found


def test_a_count_of_members_no_list_of_that_length_holds_is_not_read_as_the_whole() -> None:
    # seven is no list's length here: the seven may be of another list, or of a group
    evidence = EvidenceSet.from_items(
        [Evidence("tool:1", "tool:get_product_details", json.dumps(SPEAKER))]
    )
    clause = "seven variants, six of which you can order"
    assert check_whole_list_in_stock(clause, evidence.views) == []


@pytest.mark.parametrize(
    "answer",
    [
        "Green, three variants, one available.",
        "Blue, two variants, both available:\n+ 10 hours, not water resistant\n+ 20 hours, water "
        "resistant",
        "Black, three variants; none can be ordered.",
    ],
)
def test_a_count_after_the_value_it_counts_as_the_topic_that_holds_passes(answer: str) -> None:
    flagged, why = verdicts(answer)
    assert not flagged, why


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Green, two variants, one available.", "3 of variants are green, not 2"),
        ("Blue, three variants, all available.", "2 of variants are blue, not 3"),
        ("Green, three variants, two available.", "1 of the green ones are available, not 2"),
    ],
)
def test_a_count_after_the_value_it_counts_as_the_topic_that_is_wrong_is_contradicted(
    answer: str, reason: str
) -> None:
    flagged, why = verdicts(answer)
    assert flagged and any(reason in r for r in why), why


def test_a_value_of_a_number_and_a_noun_is_no_count() -> None:
    # "black, 20 hours": a battery life the variants hold, not twenty of anything
    evidence = EvidenceSet.from_items(
        [Evidence("tool:1", "tool:get_product_details", json.dumps(SPEAKER))]
    )
    assert check_value_counts("black, 10 hours, water resistant", evidence.views) == []


def _helmet(n: int, size: str, available: bool) -> dict[str, Any]:
    options = {"size": size, "color": ("red", "blue", "white")[n % 3], "ventilation": "low"}
    return {"item_id": f"77{n:02d}", "options": options, "available": available,
            "price": 150.0 + n}  # fmt: skip


HELMET: dict[str, Any] = {
    "name": "Cycling Helmet",
    "product_id": "7765186836",
    "variants": {
        v["item_id"]: v
        for v in (
            *(_helmet(n, "S", n < 5) for n in range(6)),
            *(_helmet(10 + n, "M", n < 4) for n in range(7)),
        )
    },
}


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # a one-letter size said after its field's name
        ("Size S: five of six available.", False),
        ("Size S: four of six available.", True),
        ("Size M: four of seven available.", False),
        ("Size M: four of six available.", True),
    ],
)
def test_a_one_letter_value_after_its_fields_name_labels_a_count(
    answer: str, flagged: bool
) -> None:
    assert verdicts(answer, HELMET)[0] is flagged


LAMPS: dict[str, Any] = {
    **LAMP,
    "variants": {
        **LAMP["variants"],
        "4100000004": {"item_id": "4100000004", "available": True, "price": 146.5,
                       "options": {"color": "white", "power source": "battery"}},
    },
}  # fmt: skip


def test_a_lines_label_narrows_the_groups_it_counts() -> None:
    # battery lamps: three, two of them white ("White: two battery-powered ones")
    assert not verdicts("White: two battery-powered ones, both available.", LAMPS)[0]
    flagged, why = verdicts("White: three battery-powered ones.", LAMPS)
    assert flagged and any("2 of variants are" in r for r in why), why
    # without the label the battery-powered ones are every colour's
    assert not verdicts("There are three battery-powered ones.", LAMPS)[0]
