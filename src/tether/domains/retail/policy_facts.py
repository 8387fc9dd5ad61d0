"""Facts about retail proposals, computed from the store's records: who a lookup identifies,
whether the customer is verified, what an item swap amounts to, how much money moves, and
which details a confirmation must have shown. Pure functions over plain records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tether import Message, recorded_read
from tether.policy import ToolExchange, cents

Record = dict[str, Any]

LOOKUPS: Mapping[str, str] = {
    "find_user_id_by_email": "email",
    "find_user_id_by_name_zip": "name_zip",
}
WRITES = frozenset(
    {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
    }
)
ITEM_MODIFICATION = "modify_pending_order_items"
SWAPS = frozenset({"modify_pending_order_items", "exchange_delivered_order_items"})
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")


def text_arg(arguments: Mapping[str, Any], name: str) -> str:
    """A string argument, or '' when it is absent or not a string."""
    value = arguments.get(name)
    return value if isinstance(value, str) else ""


def list_arg(arguments: Mapping[str, Any], name: str) -> list[str]:
    """A list-of-strings argument, keeping only its strings."""
    value = arguments.get(name)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# -- identity --------------------------------------------------------------------------------


def identifies(user: Record, tool: str, arguments: Mapping[str, Any]) -> bool:
    """Whether a lookup's arguments identify this user, by the lookup tool's own matching."""
    if LOOKUPS.get(tool) == "email":
        return text_arg(arguments, "email").lower() == str(user["email"]).lower()
    if LOOKUPS.get(tool) == "name_zip":
        name = user["name"]
        return (
            text_arg(arguments, "first_name").lower() == str(name["first_name"]).lower()
            and text_arg(arguments, "last_name").lower() == str(name["last_name"]).lower()
            and text_arg(arguments, "zip") == str(user["address"]["zip"])
        )
    return False


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def identity(
    principal_id: str,
    user: Record | None,
    exchanges: Sequence[ToolExchange],
    messages: Sequence[Message],
) -> str:
    """How the customer was verified: `lookup:email` / `lookup:name_zip` (a lookup returned
    their id), `stated:email` / `stated:name_zip` (their own messages state the e-mail, or the
    name and zip, on their record), or `none`."""
    for ex in exchanges:
        if ex.ok and ex.call.name in LOOKUPS and ex.output == principal_id:
            return f"lookup:{LOOKUPS[ex.call.name]}"
    if user is None:
        return "none"
    said = "\n".join(m.content for m in messages if m.role == "user")
    if str(user["email"]).lower() in said.lower():
        return "stated:email"
    words = _words(said)
    name = user["name"]
    needed = _words(f"{name['first_name']} {name['last_name']}") | {str(user["address"]["zip"])}
    if needed <= words:
        return "stated:name_zip"
    return "none"


# -- items and money -------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogItem:
    """One variant of a product, as the catalogue lists it."""

    item_id: str
    product_id: str
    product_name: str
    available: bool
    price: float


class Catalog:
    """Every variant by item id. The tools never change products, so it is read once."""

    def __init__(self, products: Iterable[Record]) -> None:
        self.items: dict[str, CatalogItem] = {}
        self.products: dict[str, str] = {}
        for product in products:
            pid, pname = str(product["product_id"]), str(product["name"])
            self.products[pid] = pname
            for item_id, variant in product["variants"].items():
                self.items[str(item_id)] = CatalogItem(
                    str(item_id), pid, pname, bool(variant["available"]), float(variant["price"])
                )


Variant = Callable[[str], CatalogItem | None]


def recorded_variant(catalog: Callable[[], Catalog]) -> Variant:
    """A variant by item id as a check sees it: kept with the check's step, so that a replay
    reads its availability and price as they were, and never opens the catalogue."""

    def variant(item_id: str) -> CatalogItem | None:
        def fetch() -> dict[str, Any] | None:
            found = catalog().items.get(item_id)
            return None if found is None else asdict(found)

        kept = recorded_read("retail_products.item", item_id, fetch)
        return None if kept is None else CatalogItem(**kept)

    return variant


@dataclass(frozen=True)
class SwapFacts:
    """What swapping items for other variants amounts to (see `swap_facts`)."""

    count: int = 0
    same_product: bool = True
    all_available: bool = True
    all_in_order: bool = True
    price_difference_cents: int = 0

    def to_context(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "sameProduct": self.same_product,
            "allAvailable": self.all_available,
            "allInOrder": self.all_in_order,
            "priceDifferenceCents": self.price_difference_cents,
        }


def order_lines(order: Record, item_ids: Sequence[str]) -> tuple[list[Record | None], bool]:
    """The order line each listed item takes (duplicates take successive lines), and whether
    every listed item was found."""
    used: set[int] = set()
    lines: list[Record | None] = []
    for item_id in item_ids:
        index = next(
            (
                i
                for i, line in enumerate(order["items"])
                if line["item_id"] == item_id and i not in used
            ),
            None,
        )
        if index is not None:
            used.add(index)
        lines.append(None if index is None else order["items"][index])
    return lines, all(line is not None for line in lines)


def swap_facts(
    order: Record | None, item_ids: Sequence[str], new_item_ids: Sequence[str], variant: Variant
) -> SwapFacts:
    """What swapping item_ids[i] for new_item_ids[i] amounts to, against the order's lines."""
    lines, in_order = order_lines(order, item_ids) if order else ([None] * len(item_ids), False)
    same = available = len(item_ids) == len(new_item_ids) and bool(item_ids)
    difference = 0.0
    for old_id, line, new_id in zip(item_ids, lines, new_item_ids, strict=False):
        new = variant(new_id)
        old_product = (
            str(line["product_id"]) if line else getattr(variant(old_id), "product_id", None)
        )
        same = same and new is not None and new.product_id == old_product
        available = available and new is not None and new.available
        if new is not None and line is not None:
            difference += new.price - float(line["price"])
    return SwapFacts(len(item_ids), same, available, in_order, cents(round(difference, 2)))


def refund_due(order: Record) -> float:
    """What cancelling the order would refund: payments less what was already refunded."""
    paid = sum(
        float(p["amount"]) for p in order["payment_history"] if p["transaction_type"] == "payment"
    )
    back = sum(
        float(p["amount"]) for p in order["payment_history"] if p["transaction_type"] == "refund"
    )
    return round(paid - back, 2)


def money(
    tool: str, order: Record | None, arguments: Mapping[str, Any], swap: SwapFacts
) -> tuple[int, int]:
    """(amountCents, chargeCents): the money the action moves, and what the named payment
    method must cover."""
    if order is None:
        return 0, 0
    if tool == "cancel_pending_order":
        return cents(refund_due(order)), 0
    if tool == "modify_pending_order_payment":
        history = order["payment_history"]
        amount = cents(float(history[0]["amount"])) if history else 0
        return amount, amount
    if tool in SWAPS:
        diff = swap.price_difference_cents
        return abs(diff), max(diff, 0)
    if tool == "return_delivered_order_items":
        lines, _ = order_lines(order, list_arg(arguments, "item_ids"))
        return sum(cents(float(line["price"])) for line in lines if line), 0
    return 0, 0


# -- confirmation details --------------------------------------------------------------------


def method_spellings(method_id: str, user: Record | None) -> tuple[str, ...]:
    """Ways a payment method may be shown to its owner: its id, or what identifies it to them
    (a card's last four digits; 'PayPal'; 'gift card' when they hold only one)."""
    method = (user or {}).get("payment_methods", {}).get(method_id)
    if method is None:
        return (method_id,)
    kind = method.get("source")
    if kind == "credit_card":
        return method_id, str(method.get("last_four", method_id))
    if kind == "paypal":
        return method_id, "paypal"
    cards = (
        [m for m in user["payment_methods"].values() if m.get("source") == "gift_card"]
        if user
        else []
    )
    return (method_id, "gift card") if len(cards) == 1 else (method_id,)


def _id_spellings(value: str) -> tuple[str, ...]:
    return (value, value.lstrip("#")) if value.startswith("#") else (value,)


def describe_change(tool: str, arguments: Mapping[str, Any]) -> str:
    """A plain statement of a change and its details, as an agent reads it back before asking
    for a yes (used to replay compliant conversations)."""
    parts = [f"I am about to run {tool.replace('_', ' ')} with these details:"]
    for name, value in arguments.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {shown};")
    parts.append("Shall I go ahead?")
    return " ".join(parts)
