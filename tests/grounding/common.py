"""Helpers the grounding tests share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tether.core.guard import GuardContext
from tether.core.types import Agent, Evidence, Principal
from tether.domains.retail.pack import RETAIL
from tether.grounding import HARD_KINDS, GroundingPack, VerifierConfig
from tether.grounding.verifier import Verification

# an order of three items with one payment, as `get_order_details` returns it
THREE_ITEMS: dict[str, Any] = {
    "order_id": "#W8921199",
    "status": "processed",
    "items": [
        {"name": "Smart Thermostat", "item_id": "1", "price": 255.98},
        {"name": "Gaming Mouse", "item_id": "2", "price": 158.89},
        {"name": "Wristwatch", "item_id": "3", "price": 2127.62},
    ],
    "fulfillments": [{"tracking_id": ["619979868825"], "item_ids": ["1", "2", "3"]}],
    "payment_history": [{"transaction_type": "payment", "amount": 2542.49}],
}


# the kb's rule for moving a pending order to another payment method
MOVE = (
    "You can move the order to one other payment method that you already hold. The order stays "
    "pending, and the first payment is returned: at once to a gift card, or within 5 to 7 "
    "business days to a credit card or PayPal."
)


def flagged(answer: str, record: dict[str, Any], tool: str = "get_order_details") -> bool:
    """Whether the retail desk's verifier flags `answer` against one record `tool` returned."""
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    return RETAIL.grounding.verifier().verify_items(answer, evidence).flagged


def desk(answer: str, passage: str) -> Verification:
    """`answer` verified by the retail desk's verifier against one kb passage."""
    evidence = [Evidence("kb:1", "kb:policy", passage)]
    return RETAIL.grounding.verifier().verify_items(answer, evidence)


class NoTools:
    """A tool lookup that knows no tool: answer checks read evidence, not tools."""

    def get(self, name: str) -> None:
        return None


def context(evidence: list[Evidence], agent: Agent | None = None) -> GuardContext:
    """The guard context of an answer check over `evidence`."""
    return GuardContext(
        run_id="run-1",
        principal=Principal("sara_doe_496"),
        agent=agent or Agent("retail", "help", ()),
        tools=NoTools(),
        evidence={e.id: e for e in evidence},
    )


def strict() -> GroundingPack:
    """A strict pack that treats flipped polarity as a contradiction, as the retail desk does."""
    return GroundingPack(config=VerifierConfig(strict=True, hard=(*HARD_KINDS, "polarity")))


def on_record(answer: str, record: dict[str, Any]) -> Verification:
    """`answer` verified against one tool record."""
    evidence = [Evidence("tool:1", "tool:get_details", json.dumps(record))]
    return strict().verifier().verify_items(answer, evidence)


def on_tool(
    answer: str, record: dict[str, Any], tool: str, pack: GroundingPack | None = None
) -> Verification:
    """`answer` verified against one record of the retail tool `tool` by the retail pack (or
    `pack`), the check having run to its end (no verifier code)."""
    evidence = [Evidence("tool:1", f"tool:{tool}", json.dumps(record))]
    v = (pack or RETAIL.grounding).verifier().verify_items(answer, evidence)
    assert v.code is None, v.problems
    return v


def on_text(answer: str, *passages: str) -> Verification:
    """`answer` verified against knowledge-base passages."""
    evidence = [Evidence(f"kb:{n}", f"kb:{n}", p) for n, p in enumerate(passages)]
    return strict().verifier().verify_items(answer, evidence)


def contradicted(v: Verification, kind: str) -> bool:
    """Whether a claim of `v` is contradicted by a check of `kind`."""
    return any(c.status == "contradicted" and kind in c.kinds for c in v.claims)


def growth(small: Callable[[], object], large: Callable[[], object], runs: int = 5) -> float:
    """How much longer `large` takes than `small`: the best of `runs` timings each, in this
    thread's CPU time (time spent waiting for a core on a busy machine does not count), taken
    in turn so that a busy spell of the machine slows both alike."""
    best = [float("inf"), float("inf")]
    for _ in range(runs):
        for index, call in enumerate((small, large)):
            started = time.thread_time()
            call()
            best[index] = min(best[index], time.thread_time() - started)
    return best[1] / best[0]


def kb_flagged(answer: str, passage: str, question: str = "") -> bool:
    """Whether the retail desk's verifier flags `answer` against one kb passage, the customer
    having asked `question`."""
    evidence = [Evidence("kb:1", "kb:policy", passage)]
    return RETAIL.grounding.verifier().verify_items(answer, evidence, question=question).flagged


def product(name: str, keys: tuple[str, ...], *rows: tuple[Any, ...]) -> dict[str, Any]:
    """A product as `get_product_details` returns it: each row is an item id, one value per
    option in `keys`, whether it is available and its price."""
    variants = {}
    for item, *values, available, price in rows:
        options = dict(zip(keys, values, strict=True))
        variants[item] = {
            "item_id": item,
            "options": options,
            "available": available,
            "price": price,
        }
    return {"name": name, "product_id": "1000000001", "variants": variants}


# an order of a puzzle and two watches of one name told apart by their straps
TWO_WATCHES: dict[str, Any] = {
    "order_id": "#W4219264",
    "items": [
        {"name": "Jigsaw Puzzle", "item_id": "7869640094", "price": 47.59},
        {"name": "Wristwatch", "item_id": "8886009523", "price": 1944.02,
         "options": {"strap material": "silicone", "dial color": "blue"}},
        {"name": "Wristwatch", "item_id": "9112290483", "price": 1925.16,
         "options": {"strap material": "metal", "dial color": "blue"}},
    ],
    "status": "pending",
    "payment_history": [{"transaction_type": "payment", "amount": 3916.77}],
}  # fmt: skip
