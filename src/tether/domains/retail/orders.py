"""The order and payment rules the retail write tools apply, as functions over plain records.

Each check raises a `TetherError` whose code tells the model what went wrong: NOT_FOUND (no
such record), PRECONDITION_FAILED (the record's state forbids the change) or INVALID_ARGUMENTS
(the arguments themselves are wrong). Nothing here touches the store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from tether import ErrorCode, TetherError

Record = dict[str, Any]


def not_found(message: str, **details: Any) -> TetherError:
    """A NOT_FOUND error: the named record does not exist."""
    return TetherError(ErrorCode.NOT_FOUND, message, details)


def precondition_failed(message: str, **details: Any) -> TetherError:
    """A PRECONDITION_FAILED error: the records' state forbids the change."""
    return TetherError(ErrorCode.PRECONDITION_FAILED, message, details)


def invalid_arguments(message: str, **details: Any) -> TetherError:
    """An INVALID_ARGUMENTS error: the arguments are wrong whatever the records hold."""
    return TetherError(ErrorCode.INVALID_ARGUMENTS, message, details)


def cents(amount: float) -> float:
    """The amount rounded to cents (never -0.0)."""
    return round(amount, 2) + 0.0


def transaction(kind: str, amount: float, method_id: str) -> Record:
    """One payment-history entry: kind is 'payment' or 'refund'."""
    return {"transaction_type": kind, "amount": amount, "payment_method_id": method_id}


def address(
    address1: str, address2: str, city: str, state: str, country: str, zip: str
) -> dict[str, str]:
    """An address record, keys in the order the data uses."""
    return dict(
        address1=address1, address2=address2, city=city, country=country, state=state, zip=zip
    )


def require_status(order: Record, status: str, *, exact: bool) -> None:
    """The order's status must equal `status` (exact) or contain it."""
    actual = str(order["status"])
    if actual == status if exact else status in actual:
        return
    wanted = f"'{status}'" if exact else f"containing '{status}'"
    raise precondition_failed(
        f"order {order['order_id']} has status '{actual}', this needs a status {wanted}",
        order_id=order["order_id"],
        status=actual,
    )


def require_items_in_order(order: Record, item_ids: list[str]) -> None:
    """Every listed item is in the order, as many times as it is listed."""
    if not item_ids:
        raise invalid_arguments("item_ids must list at least one item")
    held = Counter(str(line["item_id"]) for line in order["items"])
    for item_id, count in Counter(item_ids).items():
        if held[item_id] < count:
            have = f"{held[item_id]} time(s)" if held[item_id] else "not at all"
            raise precondition_failed(
                f"item {item_id} is listed {count} time(s) but order {order['order_id']} "
                f"holds it {have}",
                item_id=item_id,
            )


def pair_swaps(
    order: Record,
    item_ids: list[str],
    new_item_ids: list[str],
    *,
    product_of: Callable[[str], Record | None],
    item_exists: Callable[[str], bool],
    require_change: bool,
) -> list[tuple[int, Record]]:
    """Pair each listed item with its own order line and the available variant replacing it.

    Returns (line index, new variant) pairs; `product_of` reads a product by id and
    `item_exists` tells an unknown item id from a variant of another product.
    """
    if len(item_ids) != len(new_item_ids):
        raise invalid_arguments(
            f"item_ids has {len(item_ids)} entries but new_item_ids has {len(new_item_ids)}"
        )
    require_items_in_order(order, item_ids)
    used: set[int] = set()
    swaps: list[tuple[int, Record]] = []
    for old_id, new_id in zip(item_ids, new_item_ids, strict=True):
        # duplicates take successive lines, so each line is swapped at most once
        index = next(
            i
            for i, line in enumerate(order["items"])
            if line["item_id"] == old_id and i not in used
        )
        used.add(index)
        line = order["items"][index]
        product = product_of(str(line["product_id"]))
        if product is None:
            raise not_found(f"no product has the id {line['product_id']!r}")
        variant: Record | None = product["variants"].get(new_id)
        if variant is None:
            if not item_exists(new_id):
                raise not_found(f"no item has the id {new_id!r}", item_id=new_id)
            raise precondition_failed(
                f"item {new_id} is not a variant of {line['name']} (product {line['product_id']})",
                item_id=new_id,
            )
        if require_change and new_id == old_id:
            raise precondition_failed(f"new item {new_id} is the same as the item it replaces")
        if not variant["available"]:
            raise precondition_failed(f"item {new_id} is not available", item_id=new_id)
        swaps.append((index, variant))
    return swaps


def price_difference(order: Record, swaps: list[tuple[int, Record]]) -> float:
    """What the new variants cost more (positive) or less (negative) than the lines they replace."""
    return cents(sum(float(new["price"]) - float(order["items"][i]["price"]) for i, new in swaps))


def owned_method(user: Record, payment_method_id: str) -> Record:
    """The user's payment method with this id; another user's method is refused."""
    method: Record | None = user["payment_methods"].get(payment_method_id)
    if method is None:
        raise precondition_failed(
            f"payment method {payment_method_id} is not one of {user['user_id']}'s methods",
            payment_method_id=payment_method_id,
        )
    return method


def is_gift_card(user: Record, method_id: str) -> bool:
    """True when the user holds this method and it is a gift card."""
    method = user["payment_methods"].get(method_id)
    return method is not None and method.get("source") == "gift_card"


def require_gift_card_cover(user: Record, method_id: str, amount: float) -> None:
    """A gift card charged a positive amount must hold at least that much."""
    if amount <= 0 or not is_gift_card(user, method_id):
        return
    balance = float(user["payment_methods"][method_id]["balance"])
    if balance < amount:
        raise precondition_failed(
            f"gift card {method_id} has a balance of {balance:.2f}, short of {amount:.2f}",
            payment_method_id=method_id,
        )


def move_gift_card(user: Record, method_id: str, amount: float) -> bool:
    """Credit (or debit, if negative) a gift card; False when the method is not a gift card."""
    if not is_gift_card(user, method_id):
        return False
    method = user["payment_methods"][method_id]
    method["balance"] = cents(float(method["balance"]) + amount)
    return True


def refunds_due(history: list[Record]) -> list[tuple[str, float]]:
    """One refund per payment, less what was already refunded to that method.

    For a single payment this is simply its amount; after a payment-method change it keeps a
    cancellation from refunding the replaced method a second time.
    """
    refunded: dict[str, float] = defaultdict(float)
    for entry in history:
        if entry["transaction_type"] == "refund":
            refunded[str(entry["payment_method_id"])] += float(entry["amount"])
    due: list[tuple[str, float]] = []
    for entry in history:
        if entry["transaction_type"] != "payment":
            continue
        method_id, amount = str(entry["payment_method_id"]), float(entry["amount"])
        offset = min(amount, refunded[method_id])
        refunded[method_id] -= offset
        if cents(amount - offset) > 0:
            due.append((method_id, cents(amount - offset)))
    return due
