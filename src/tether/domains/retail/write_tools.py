"""The retail support desk's write tools, with the semantics of RETAIL_TOOLS.md.

Each one checks every precondition before changing anything, commits its whole effect in one
transaction and honours the envelope's idempotency key. `RetailTools`
(`tether.domains.retail.tools`) holds them, beside the read tools.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from tether import current_idempotency_key
from tether.domains.retail.db import RetailDB, UnitOfWork
from tether.domains.retail.orders import (
    Record,
    address,
    invalid_arguments,
    is_gift_card,
    move_gift_card,
    not_found,
    owned_method,
    pair_swaps,
    precondition_failed,
    price_difference,
    refunds_due,
    require_gift_card_cover,
    require_items_in_order,
    require_status,
    transaction,
)

CancelReason = Literal["no longer needed", "ordered by mistake"]
CANCEL_REASONS: tuple[str, ...] = ("no longer needed", "ordered by mistake")

P = ParamSpec("P")
R = TypeVar("R")


def honours_idempotency_key(
    method: Callable[Concatenate[WriteToolsMixin, P], R],
) -> Callable[Concatenate[WriteToolsMixin, P], R]:
    """Make a write tool honour the envelope's idempotency key.

    The change and its result are committed in one transaction together with the key; a call
    that finds its key already recorded returns the recorded result and changes nothing, so a
    retry or a resumed run never applies the same write twice.
    """

    @functools.wraps(method)
    def write(self: WriteToolsMixin, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = current_idempotency_key()
        if key is None:
            return method(self, *args, **kwargs)
        with self.db.transaction() as uow:  # the method's own transaction joins this one
            recorded: R | None = uow.recorded_result(key)
            if recorded is not None:
                return recorded
            result = method(self, *args, **kwargs)
            uow.record_result(key, method.__name__, result)
        return result

    return write


class WriteToolsMixin:
    """The write tools, for `RetailTools` (which provides what is declared)."""

    if TYPE_CHECKING:
        db: RetailDB

        def _find_item(self, item_id: str) -> tuple[Record, Record] | None: ...

    @honours_idempotency_key
    def cancel_pending_order(self, order_id: str, reason: CancelReason) -> dict[str, Any]:
        """Cancel an order whose status is exactly 'pending', for the reason 'no longer needed' or
        'ordered by mistake'. Each payment is refunded to its method: gift cards at once, other
        methods within 5 to 7 business days. Needs the customer's explicit confirmation.
        """
        if reason not in CANCEL_REASONS:
            raise invalid_arguments(
                f"the reason must be one of {list(CANCEL_REASONS)}", reason=reason
            )
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "pending", exact=True)
            user = self._owner(uow, order)
            refunds = refunds_due(order["payment_history"])
            for method_id, amount in refunds:
                order["payment_history"].append(transaction("refund", amount, method_id))
                move_gift_card(user, method_id, amount)
            order["status"] = "cancelled"
            order["cancel_reason"] = reason
            uow.put_order(order)
            if any(is_gift_card(user, method_id) for method_id, _ in refunds):
                uow.put_user(user)
        return order

    @honours_idempotency_key
    def modify_pending_order_address(
        self,
        order_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> dict[str, Any]:
        """Change the shipping address of an order whose status contains 'pending'. Needs the
        customer's explicit confirmation.
        """
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "pending", exact=False)
            order["address"] = address(address1, address2, city, state, country, zip)
            uow.put_order(order)
        return order

    @honours_idempotency_key
    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> dict[str, Any]:
        """Pay an order whose status contains 'pending' with another of the customer's payment
        methods: the new method is charged and the original one refunded (gift card balances
        move at once). Only possible while the order has a single payment. Needs the customer's
        explicit confirmation.
        """
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "pending", exact=False)
            user = self._owner(uow, order)
            owned_method(user, payment_method_id)
            history = order["payment_history"]
            if len(history) != 1 or history[0]["transaction_type"] != "payment":
                raise precondition_failed(
                    f"order {order_id} must have exactly one payment to change its method",
                    order_id=order_id,
                )
            old_method_id = str(history[0]["payment_method_id"])
            amount = float(history[0]["amount"])
            if old_method_id == payment_method_id:
                raise precondition_failed(
                    f"order {order_id} is already paid with {payment_method_id}",
                    payment_method_id=payment_method_id,
                )
            require_gift_card_cover(user, payment_method_id, amount)
            history.append(transaction("payment", amount, payment_method_id))
            history.append(transaction("refund", amount, old_method_id))
            move_gift_card(user, payment_method_id, -amount)
            move_gift_card(user, old_method_id, amount)
            uow.put_order(order)
            uow.put_user(user)
        return order

    @honours_idempotency_key
    def modify_pending_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> dict[str, Any]:
        """Swap items of an order whose status is exactly 'pending' for other available variants of
        the same products (item_ids[i] becomes new_item_ids[i]); the price difference is charged
        to, or refunded to, the given payment method. Can be done only once per order, so
        collect every change first. Needs the customer's explicit confirmation.
        """
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "pending", exact=True)
            swaps = self._swaps(uow, order, item_ids, new_item_ids, require_change=True)
            user = self._owner(uow, order)
            owned_method(user, payment_method_id)
            difference = price_difference(order, swaps)
            require_gift_card_cover(user, payment_method_id, difference)
            kind = "payment" if difference > 0 else "refund"
            order["payment_history"].append(transaction(kind, abs(difference), payment_method_id))
            for index, new in swaps:
                line = order["items"][index]
                line.update(item_id=new["item_id"], price=new["price"], options=new["options"])
            order["status"] = "pending (item modified)"
            uow.put_order(order)
            if move_gift_card(user, payment_method_id, -difference):
                uow.put_user(user)
        return order

    @honours_idempotency_key
    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str
    ) -> dict[str, Any]:
        """Request the return of items of an order whose status is exactly 'delivered'. The refund
        goes to the order's original payment method or to one of the customer's gift cards. Only
        one return or exchange per delivered order, so collect every item first. Needs the
        customer's explicit confirmation.
        """
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "delivered", exact=True)
            user = self._owner(uow, order)
            method = owned_method(user, payment_method_id)
            original = order["payment_history"][0]["payment_method_id"]
            if method["source"] != "gift_card" and payment_method_id != original:
                raise precondition_failed(
                    "a refund goes to the order's original payment method "
                    f"({original}) or to a gift card",
                    payment_method_id=payment_method_id,
                )
            require_items_in_order(order, item_ids)
            order["status"] = "return requested"
            order["return_items"] = sorted(item_ids)
            order["return_payment_method_id"] = payment_method_id
            uow.put_order(order)
        return order

    @honours_idempotency_key
    def exchange_delivered_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> dict[str, Any]:
        """Request the exchange of items of an order whose status is exactly 'delivered' for other
        available variants of the same products (item_ids[i] becomes new_item_ids[i]); the price
        difference is settled with the given payment method. Only one return or exchange per
        delivered order, so collect every item first. Needs the customer's explicit
        confirmation.
        """
        with self.db.transaction() as uow:
            order = self._order(uow, order_id)
            require_status(order, "delivered", exact=True)
            swaps = self._swaps(uow, order, item_ids, new_item_ids, require_change=False)
            user = self._owner(uow, order)
            owned_method(user, payment_method_id)
            difference = price_difference(order, swaps)
            require_gift_card_cover(user, payment_method_id, difference)
            order["status"] = "exchange requested"
            order["exchange_items"] = sorted(item_ids)
            order["exchange_new_items"] = sorted(new_item_ids)
            order["exchange_payment_method_id"] = payment_method_id
            order["exchange_price_difference"] = difference
            uow.put_order(order)
        return order

    @honours_idempotency_key
    def modify_user_address(
        self,
        user_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> dict[str, Any]:
        """Change a customer's default address (orders keep their own shipping address). Needs the
        customer's explicit confirmation.
        """
        with self.db.transaction() as uow:
            user = uow.user(user_id)
            if user is None:
                raise not_found(f"no user has the id {user_id!r}", user_id=user_id)
            user["address"] = address(address1, address2, city, state, country, zip)
            uow.put_user(user)
        return user

    # -- shared lookups ------------------------------------------------------------------------

    def _swaps(
        self,
        uow: UnitOfWork,
        order: Record,
        item_ids: list[str],
        new_item_ids: list[str],
        *,
        require_change: bool,
    ) -> list[tuple[int, Record]]:
        return pair_swaps(
            order,
            item_ids,
            new_item_ids,
            product_of=uow.product,
            item_exists=lambda item_id: self._find_item(item_id) is not None,
            require_change=require_change,
        )

    @staticmethod
    def _order(uow: UnitOfWork, order_id: str) -> Record:
        order = uow.order(order_id)
        if order is None:
            raise not_found(f"no order has the id {order_id!r}", order_id=order_id)
        return order

    @staticmethod
    def _owner(uow: UnitOfWork, order: Record) -> Record:
        user = uow.user(order["user_id"])
        if user is None:
            raise not_found(f"the owner of order {order['order_id']} does not exist")
        return user
