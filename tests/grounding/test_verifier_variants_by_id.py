"""A variant named by its id ("item 7717598293 is available") is the one whose availability is
checked, and a bracket that only names and prices one ("the one with the rotisserie (item
7717598293, $985.66) is available") keeps the clause whole. A superlative said among "the ones
you can buy" is judged among the variants in stock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.grounding.common import flagged
from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.comparisons import check_comparisons
from tether.grounding.meaning import clauses


def _variant(item: str, kind: str, feature: str, price: float, available: bool) -> dict[str, Any]:
    return {
        "item_id": item,
        "options": {"type": kind, "size": "medium", "features": feature},
        "available": available,
        "price": price,
    }


GRILL: dict[str, Any] = {
    "name": "Grill",
    "product_id": "6819683148",
    "variants": {
        v["item_id"]: v
        for v in (
            _variant("7717598293", "electric", "rotisserie", 985.66, False),
            _variant("5666020311", "electric", "side burner", 1058.86, False),
            _variant("7082455361", "charcoal", "rotisserie", 962.69, True),
            _variant("7848293342", "charcoal", "side burner", 942.71, True),
        )
    },
}


def on_grill(answer: str) -> bool:
    return flagged(answer, GRILL, "get_product_details")


@pytest.mark.parametrize(
    "answer",
    [
        "Item 7717598293 is available to order.",
        "Item 7082455361 can't be ordered right now.",
        "The one with the rotisserie (item 7717598293, $985.66) is available to order.",
        "For a medium electric grill, the one with the rotisserie (item 7717598293, $985.66) is "
        "available to order, while the side-burner version ($1,058.86) is not.",
    ],
)
def test_a_variant_named_by_its_id_is_checked_for_stock(answer: str) -> None:
    assert on_grill(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Item 7082455361 is available to order.",
        "Item 7717598293 is sold out.",
        "The charcoal one with the rotisserie (item 7082455361, $962.69) can be ordered.",
    ],
)
def test_the_near_miss_a_true_stock_said_by_id_passes(answer: str) -> None:
    assert not on_grill(answer)


def test_a_bracket_of_words_still_parts_the_clause() -> None:
    """The near miss of the aside: "(not the electric one)" is said, not a name or a price."""
    assert len(clauses("The rotisserie one (item 7717598293, $985.66) is sold out.")) == 1
    assert len(clauses("The rotisserie one (not the electric one) is available.")) > 1


def _superlative(answer: str) -> list[str]:
    evidence = [Evidence("tool:1", "tool:get_product_details", json.dumps(GRILL))]
    views = RETAIL.grounding.verifier().evidence(evidence).views
    return [f.status for f in check_comparisons(answer, views)]


def test_a_superlative_among_the_ones_you_can_buy_is_judged_among_those_in_stock() -> None:
    # the cheapest of all is the charcoal side burner ($942.71), which is in stock; among the
    # two in stock the charcoal rotisserie ($962.69) is the dearer
    assert _superlative("Among the ones you can buy, the side-burner one is cheapest.") == [
        "supported"
    ]
    assert _superlative("Among the ones you can buy, the charcoal rotisserie is cheapest.") == [
        "contradicted"
    ]
    # the dearest of those in stock, though two sold-out ones cost more
    assert _superlative("Among the ones you can buy, the charcoal rotisserie is dearest.") == [
        "supported"
    ]
