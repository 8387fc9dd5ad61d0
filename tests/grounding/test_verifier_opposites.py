"""A record's value said as its "-less" opposite ("wireless" for a wired mouse) is a swap, and
a state said of the record past an aside that names a sum ("the tablet, for which you paid
$962.34, hasn't been processed") is said of the record, not of the money."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.types import Evidence
from tether.domains.retail.pack import RETAIL
from tether.grounding.antonyms import _opposite
from tether.grounding.verifier import Verification

ORDER: dict[str, Any] = {
    "order_id": "#W8921199",
    "status": "processed",
    "items": [
        {"name": "Gaming Mouse", "item_id": "1", "price": 158.89,
         "options": {"color": "RGB", "sensor type": "optical", "connectivity": "wired"}},
        {"name": "Vacuum Cleaner", "item_id": "2", "price": 510.0,
         "options": {"type": "canister", "bagged/bagless": "bagless"}},
    ],
    "fulfillments": [{"tracking_id": ["619979868825"], "item_ids": ["1", "2"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 668.89, "payment_method_id": "paypal_1"}
    ],
}  # fmt: skip


def desk(answer: str) -> Verification:
    evidence = [Evidence("tool:1", "tool:get_order_details", json.dumps(ORDER))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


def test_a_less_form_is_the_opposite_of_its_root() -> None:
    assert _opposite("wireless", "wired") and _opposite("wired", "wireless")
    assert _opposite("cordless", "corded") and _opposite("bagged", "bagless")
    assert not _opposite("wireless", "wireless")
    assert not _opposite("stainless", "steel")
    assert not _opposite("less", "")  # no root


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The gaming mouse is a wired RGB one with an optical sensor.", False),
        ("The gaming mouse is a wireless RGB one with an optical sensor.", True),
        ("The mouse connects without a cable: it's wireless.", True),
        ("The gaming mouse isn't wireless.", False),  # the opposite denied
        ("The vacuum cleaner is a bagless canister model.", False),
        ("The vacuum cleaner is a bagged canister model.", True),
        ("The vacuum is bagless rather than bagged.", False),  # both named: one set against
    ],
)
def test_an_option_said_as_its_opposite_is_a_swap(answer: str, flagged: bool) -> None:
    assert desk(answer).flagged is flagged


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The mouse, for which you paid $158.89 by PayPal, hasn't been processed yet.", True),
        ("The mouse, for which you paid $158.89 by PayPal, has been processed.", False),
        ("The mouse hasn't been processed, but the $158.89 you paid has.", True),
    ],
)
def test_a_sum_in_an_aside_is_not_the_subject_of_the_state(answer: str, flagged: bool) -> None:
    assert desk(answer).flagged is flagged
