"""Objects called by a short name a pack declares ("the vacuum" for "Vacuum Cleaner", "the
phone" for "Smartphone"), beside the last word of their names, which needs no declaring. Named
so, an object is held to its own price and its state like one named in full; a short name two
objects share, or one an object named in full holds, picks out neither. A pack without the
declaration reads the short name as no object at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.grounding.common import on_tool
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.grounding import GroundingPack, VerifierConfig
from tether.grounding.verifier import Verification

ORDER: dict[str, Any] = {
    "order_id": "#W2148041",
    "status": "delivered",
    "items": [
        {"name": "Wireless Earbuds", "price": 257.38, "options": {"color": "black"}},
        {"name": "Vacuum Cleaner", "price": 620.07, "options": {"type": "robotic"}},
        {"name": "Smartphone", "price": 1199.77, "options": {"color": "rose gold"}},
    ],
    "payment_history": [{"transaction_type": "payment", "amount": 2077.22}],
}
NAMES = {"Vacuum Cleaner": ("vacuum",), "Smartphone": ("phone",)}


def verified(answer: str, pack: GroundingPack, record: dict[str, Any] = ORDER) -> Verification:
    return on_tool(answer, record, "get_order_details", pack)


def declared() -> GroundingPack:
    return GroundingPack(config=VerifierConfig(strict=True), names=NAMES)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The vacuum is $620.07.", False),
        ("The robotic vacuum cost $620.07 and the earbuds $257.38.", False),
        ("The vacuum is $257.38.", True),  # the earbuds' price
        ("The earbuds cost $620.07 and the vacuum $257.38.", True),  # the two traded
        ("The phone came to $1,199.77.", False),
        ("The phone came to $620.07.", True),
        ("The vacuum costs $362.69 more than the earbuds.", False),
        ("The vacuum is dearer by $257.38.", True),  # a price, not the gap
    ],
)
def test_an_object_called_by_a_declared_short_name_is_held_to_its_price(
    answer: str, flagged: bool
) -> None:
    v = verified(answer, declared())
    assert v.flagged is flagged, v.claims


def test_without_the_declaration_the_short_name_binds_nothing() -> None:
    plain = GroundingPack(config=VerifierConfig(strict=True))
    v = verified("The vacuum is $257.38.", plain)
    assert not any("binding" in c.kinds for c in v.claims)  # no object is named
    assert "binding" in verified("The vacuum is $257.38.", declared()).contradicted[0].kinds


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The phone was not delivered.", True),
        ("The phone is still pending.", True),
        ("The phone arrived with the earbuds.", False),
        ("The vacuum and the phone were both delivered.", False),
    ],
)
def test_a_state_said_of_an_object_by_its_short_name_is_the_records(
    answer: str, flagged: bool
) -> None:
    v = verified(answer, declared())
    assert v.flagged is flagged, v.claims


def test_a_short_name_two_objects_share_picks_out_neither() -> None:
    # both are "cameras" by their last word and "cam" by the pack: neither is picked out
    record = {
        "order_id": "#W1",
        "status": "pending",
        "items": [
            {"name": "Action Camera", "price": 300.0},
            {"name": "Digital Camera", "price": 500.0},
        ],
    }
    pack = GroundingPack(
        config=VerifierConfig(strict=True),
        names={"Action Camera": ("cam",), "Digital Camera": ("cam",)},
    )
    for answer in ("The camera is $300.00.", "The cam is $500.00."):
        v = verified(answer, pack, record)
        assert not v.contradicted, v.claims


def test_the_pack_declaration_is_read_in_any_case_and_spacing() -> None:
    pack = GroundingPack(
        config=VerifierConfig(strict=True), names={"  VACUUM   cleaner ": (" Vacuum ", "  ")}
    )
    assert pack.verifier().vocabulary.names == {"vacuum cleaner": ("vacuum",)}
    assert verified("The vacuum is $257.38.", pack).flagged


def test_the_retail_pack_declares_its_catalogue_short_names() -> None:
    names = RETAIL.grounding.verifier().vocabulary.names
    assert names["vacuum cleaner"] == ("vacuum",)
    assert names["smartphone"] == ("phone",)


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The vacuum is the cheapest item.", True),  # the earbuds are
        ("The phone is the dearest item.", False),
        ("The vacuum costs more than the phone.", True),
        ("The phone costs more than the vacuum and the earbuds together.", False),
    ],
)
def test_a_comparison_of_objects_called_by_short_names_is_judged(
    answer: str, flagged: bool
) -> None:
    v = verified(answer, declared())
    assert v.flagged is flagged, v.claims
    # without the declaration the pack cannot tell which object "the vacuum" is
    plain = verified(answer, GroundingPack(config=VerifierConfig(strict=True)))
    assert not any("binding" in c.kinds for c in plain.contradicted) or "vacuum" not in answer


@pytest.mark.parametrize(
    "names",
    [
        {"Vacuum Cleaner": "vacuum"},  # one word, which would be read letter by letter
        {"Vacuum Cleaner": ("vacuum", 3)},
        {4: ("vacuum",)},
        {"Vacuum Cleaner": None},
        "vacuum",
    ],
)
def test_short_names_that_are_not_words_are_refused_with_a_code(names: Any) -> None:
    with pytest.raises(TetherError) as raised:
        GroundingPack(names=names)
    assert raised.value.code is ErrorCode.CONFIG_INVALID


@pytest.mark.parametrize("values", [{"size": "large"}, {"size": {"large": 3}}, {"size": None}])
def test_field_values_that_are_not_words_are_refused_with_a_code(values: Any) -> None:
    with pytest.raises(TetherError) as raised:
        GroundingPack(values=values)
    assert raised.value.code is ErrorCode.CONFIG_INVALID
