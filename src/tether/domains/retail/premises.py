"""Premise verification of actions: before a retail write runs, its premises are checked
against the store, and a failed premise is a deny Verdict listing what was checked and why.

The premises are those RETAIL_TOOLS.md gives each write: the order exists and has the status
the write needs (exactly ``pending``, containing ``pending``, or exactly ``delivered``), every
listed item is in the order as often as listed, each new item is an available variant of the
same product, the payment method belongs to the order's owner (for a refund: the original
method or a gift card), and a gift card's balance covers what it is charged. The check reads
the store; it never writes, and it never raises on a failed premise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from tether import ErrorCode, GuardContext, TetherError, ToolCall, Verdict, recorded_read
from tether.domains.retail.db import RetailDB
from tether.domains.retail.orders import (
    Record,
    pair_swaps,
    price_difference,
    require_items_in_order,
)


@dataclass(frozen=True)
class Premise:
    """One premise of a write: what must hold, whether it does, and the facts read."""

    name: str
    holds: bool
    facts: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The premise as JSON-ready data."""
        out: dict[str, Any] = {"premise": self.name, "holds": self.holds, "facts": dict(self.facts)}
        if self.reason:
            out["reason"] = self.reason
        return out


class _Failed(Exception):
    """Stops a tool's premise list at the first premise later ones depend on."""


class _Premises:
    """The premises of one call, collected in order."""

    def __init__(self, db: RetailDB) -> None:
        self.db = db
        self.found: list[Premise] = []

    def add(self, name: str, holds: bool, reason: str = "", **facts: Any) -> None:
        self.found.append(Premise(name, holds, facts, "" if holds else reason))

    def require(self, name: str, holds: bool, reason: str = "", **facts: Any) -> None:
        self.add(name, holds, reason, **facts)
        if not holds:
            raise _Failed

    def order(self, order_id: str, status: str, *, exact: bool) -> Record:
        order = self.db.order(order_id)
        self.require(
            "the order exists", order is not None, f"no order has the id {order_id!r}",
            order_id=order_id,
        )  # fmt: skip
        assert order is not None
        actual = str(order["status"])
        holds = actual == status if exact else status in actual
        wanted = f"is exactly '{status}'" if exact else f"contains '{status}'"
        self.require(
            f"the order's status {wanted}",
            holds,
            f"order {order_id} has status '{actual}'; this write needs a status that {wanted}",
            order_id=order_id,
            status=actual,
        )
        return order

    def owner(self, order: Record) -> Record:
        user = self.db.user(str(order["user_id"]))
        self.require(
            "the order's owner exists", user is not None,
            f"the owner {order['user_id']} of order {order['order_id']} does not exist",
            user_id=order["user_id"],
        )  # fmt: skip
        assert user is not None
        return user

    def method(self, user: Record, method_id: str) -> Record:
        methods = user["payment_methods"]
        self.require(
            "the payment method belongs to the order's owner",
            method_id in methods,
            f"payment method {method_id} is not one of {user['user_id']}'s methods",
            payment_method_id=method_id,
            user_id=user["user_id"],
            methods=sorted(methods),
        )
        method: Record = methods[method_id]
        return method

    def items(self, order: Record, item_ids: list[str]) -> None:
        held = [str(line["item_id"]) for line in order["items"]]
        try:
            require_items_in_order(order, item_ids)
        except TetherError as exc:
            self.require(
                "each item is in the order (duplicates counted)", False, exc.message,
                item_ids=item_ids, order_items=held,
            )  # fmt: skip
        self.add("each item is in the order (duplicates counted)", True, item_ids=item_ids)

    def swaps(
        self, order: Record, item_ids: list[str], new_ids: list[str], *, require_change: bool
    ) -> list[tuple[int, Record]]:
        name = "each new item is an available variant of the same product"
        try:
            swaps = pair_swaps(
                order,
                item_ids,
                new_ids,
                product_of=self.db.product,
                item_exists=self._item_exists,
                require_change=require_change,
            )
        except TetherError as exc:
            self.require(name, False, exc.message, new_item_ids=new_ids, **exc.details)
            raise  # unreachable: require raised
        pairs = [
            {"item_id": order["items"][i]["item_id"], "new_item_id": v["item_id"],
             "available": v["available"], "price": v["price"]}
            for i, v in swaps
        ]  # fmt: skip
        self.add(name, True, swaps=pairs)
        return swaps

    def covers(self, user: Record, method_id: str, amount: float) -> None:
        method = user["payment_methods"].get(method_id, {})
        if method.get("source") != "gift_card" or amount <= 0:
            return
        balance = float(method.get("balance", 0.0))
        self.require(
            "the gift card's balance covers the amount",
            balance >= amount,
            f"gift card {method_id} has a balance of {balance:.2f}, short of {amount:.2f}",
            payment_method_id=method_id,
            balance=balance,
            amount=round(amount, 2),
        )

    def _item_exists(self, item_id: str) -> bool:
        return recorded_read(
            "retail.item_exists",
            item_id,
            lambda: any(item_id in p["variants"] for p in self.db.products()),
        )


def _cancel(p: _Premises, args: Mapping[str, Any]) -> None:
    p.order(str(args["order_id"]), "pending", exact=True)


def _address(p: _Premises, args: Mapping[str, Any]) -> None:
    p.order(str(args["order_id"]), "pending", exact=False)


def _payment(p: _Premises, args: Mapping[str, Any]) -> None:
    order = p.order(str(args["order_id"]), "pending", exact=False)
    method_id = str(args["payment_method_id"])
    user = p.owner(order)
    p.method(user, method_id)
    history = order["payment_history"]
    single = len(history) == 1 and history[0]["transaction_type"] == "payment"
    p.require(
        "the order has exactly one payment", single,
        f"order {order['order_id']} has {len(history)} payment-history entries",
        entries=len(history),
    )  # fmt: skip
    old = str(history[0]["payment_method_id"])
    p.require(
        "the new method differs from the one that paid", old != method_id,
        f"order {order['order_id']} is already paid with {method_id}", paid_with=old,
    )  # fmt: skip
    p.covers(user, method_id, float(history[0]["amount"]))


def _swap_items(
    exact_status: str, require_change: bool
) -> Callable[[_Premises, Mapping[str, Any]], None]:
    def check(p: _Premises, args: Mapping[str, Any]) -> None:
        order = p.order(str(args["order_id"]), exact_status, exact=True)
        item_ids = [str(i) for i in args["item_ids"]]
        new_ids = [str(i) for i in args["new_item_ids"]]
        p.items(order, item_ids)
        swaps = p.swaps(order, item_ids, new_ids, require_change=require_change)
        user = p.owner(order)
        method_id = str(args["payment_method_id"])
        p.method(user, method_id)
        p.covers(user, method_id, price_difference(order, swaps))

    return check


def _return(p: _Premises, args: Mapping[str, Any]) -> None:
    order = p.order(str(args["order_id"]), "delivered", exact=True)
    method_id = str(args["payment_method_id"])
    method = p.method(p.owner(order), method_id)
    original = str(order["payment_history"][0]["payment_method_id"])
    p.require(
        "the refund goes to the original payment method or a gift card",
        method_id == original or method.get("source") == "gift_card",
        f"a refund goes to the order's original payment method ({original}) or to a gift card",
        original=original, payment_method_id=method_id,
    )  # fmt: skip
    p.items(order, [str(i) for i in args["item_ids"]])


def _user_address(p: _Premises, args: Mapping[str, Any]) -> None:
    user_id = str(args["user_id"])
    p.require(
        "the user exists", p.db.user(user_id) is not None, f"no user has the id {user_id!r}",
        user_id=user_id,
    )  # fmt: skip


PREMISES: dict[str, Callable[[_Premises, Mapping[str, Any]], None]] = {
    "cancel_pending_order": _cancel,
    "modify_pending_order_address": _address,
    "modify_pending_order_payment": _payment,
    "modify_pending_order_items": _swap_items("pending", require_change=True),
    "return_delivered_order_items": _return,
    "exchange_delivered_order_items": _swap_items("delivered", require_change=False),
    "modify_user_address": _user_address,
}


def check_premises(db: RetailDB, tool: str, arguments: Mapping[str, Any]) -> list[Premise]:
    """Every premise of `tool` with `arguments` checked so far; a failure ends the list."""
    rule = PREMISES.get(tool)
    if rule is None:
        return []
    premises = _Premises(db)
    with suppress(_Failed):
        rule(premises, arguments)
    return premises.found


class PremiseCheck:
    """Tool check: a retail write runs only if its premises hold in the store right now."""

    name = "premises"

    def __init__(self, db: RetailDB) -> None:
        self.db = db

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        if call.name not in PREMISES:
            return Verdict.allow(self.name, premises=[])
        try:
            premises = check_premises(self.db, call.name, call.arguments)
        except (KeyError, TypeError, ValueError) as exc:
            # malformed arguments are the schema check's to report; say so rather than guess
            return Verdict.allow(self.name, premises=[], skipped=f"arguments unreadable: {exc}")
        failed = [p for p in premises if not p.holds]
        facts = [p.to_dict() for p in premises]
        if failed:
            return Verdict.deny(
                self.name,
                ErrorCode.PREMISE_FAILED,
                "; ".join(p.reason for p in failed),
                premises=facts,
                failed=[p.name for p in failed],
            )
        return Verdict.allow(self.name, premises=facts)
