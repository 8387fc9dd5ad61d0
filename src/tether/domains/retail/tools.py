"""The retail support desk's tools, with the semantics of RETAIL_TOOLS.md.

Every tool either returns JSON-serialisable data or raises a `TetherError` with a stable code
(see `tether.domains.retail.orders`). Write tools check every precondition before changing anything,
and commit their whole effect in one transaction.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import operator
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from tether import Envelope, RiskClass, Tool, current_idempotency_key, make_tool
from tether.domains.retail.db import RetailDB, UnitOfWork
from tether.domains.retail.effects import recorded_write
from tether.domains.retail.orders import (
    Record,
    address,
    cents,
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

READ_SCOPE = "retail:read"
WRITE_SCOPE = "retail:write"
_PARSING = threading.Lock()
MAX_EXPRESSION_CHARS = 500

_CALC_CHARS = frozenset("0123456789+-*/(). ")
_BINARY_OPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate_expression(expression: str) -> float:
    """Evaluate arithmetic (numbers, + - * /, parentheses, unary minus) without eval."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise invalid_arguments(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    bad = sorted(set(expression) - _CALC_CHARS)
    if bad:
        raise invalid_arguments(
            f"the expression may hold only digits, + - * / ( ) . and spaces; found {bad}"
        )
    try:
        with _PARSING:  # CPython 3.11's parser is not safe in two threads at once
            tree = ast.parse(expression.strip(), mode="eval")
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise invalid_arguments("the expression divides by zero") from None
    except (SyntaxError, RecursionError, MemoryError, OverflowError, ValueError):
        raise invalid_arguments(f"the expression {expression!r} is not valid arithmetic") from None
    if not math.isfinite(value):
        raise invalid_arguments("the expression's value is too large")
    return cents(value)


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        return _BINARY_OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    raise invalid_arguments(f"the expression uses an unsupported construct ({type(node).__name__})")


P = ParamSpec("P")
R = TypeVar("R")


def honours_idempotency_key(
    method: Callable[Concatenate[RetailTools, P], R],
) -> Callable[Concatenate[RetailTools, P], R]:
    """Make a write tool honour the envelope's idempotency key.

    The change and its result are committed in one transaction together with the key; a call
    that finds its key already recorded returns the recorded result and changes nothing, so a
    retry or a resumed run never applies the same write twice.
    """

    @functools.wraps(method)
    def write(self: RetailTools, /, *args: P.args, **kwargs: P.kwargs) -> R:
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


class RetailTools:
    """The tool functions, bound to one store; `build_tools` turns them into `Tool`s."""

    def __init__(self, db: RetailDB) -> None:
        self.db = db

    # -- read tools ----------------------------------------------------------------------------

    def find_user_id_by_email(self, email: str) -> str:
        """Find a customer's user id from their e-mail address (compared case-insensitively). Use
        it to authenticate the customer before anything customer-specific.
        """
        found = self.db.user_id_by_email(email)
        if found is not None:
            return found
        raise not_found(f"no user has the e-mail address {email!r}", email=email)

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """Find a customer's user id from their first and last name (both compared ignoring
        case) and the exact zip code of their address. Use it to authenticate a customer who
        cannot give their e-mail.
        """
        first, last = first_name.lower(), last_name.lower()
        for user in self.db.users():
            name = user["name"]
            if (
                str(name["first_name"]).lower() == first
                and str(name["last_name"]).lower() == last
                and user["address"]["zip"] == zip
            ):
                return str(user["user_id"])
        raise not_found(
            f"no user named {first_name} {last_name} has the zip code {zip}",
            first_name=first_name,
            last_name=last_name,
            zip=zip,
        )

    def get_user_details(self, user_id: str) -> dict[str, Any]:
        """Get a customer's profile: name, default address, e-mail, payment methods (with gift card
        balances and card brands) and the ids of their orders.
        """
        user = self.db.user(user_id)
        if user is None:
            raise not_found(f"no user has the id {user_id!r}", user_id=user_id)
        return user

    def get_order_details(self, order_id: str) -> dict[str, Any]:
        """Get an order (its id starts with '#', like '#W0000000'): owner, shipping address, items
        (name, product id, item id, price, options), status, fulfilments with tracking ids, and
        payment history.
        """
        order = self.db.order(order_id)
        if order is None:
            raise not_found(f"no order has the id {order_id!r}", order_id=order_id)
        return order

    def get_product_details(self, product_id: str) -> dict[str, Any]:
        """Get a product type and all its variants: each variant's item id, options, availability
        and price. A product id is not an item id.
        """
        product = self.db.product(product_id)
        if product is None:
            raise not_found(f"no product has the id {product_id!r}", product_id=product_id)
        return product

    def get_item_details(self, item_id: str) -> dict[str, Any]:
        """Get one item (a variant of a product) by its item id: options, availability and price,
        with the product it belongs to.
        """
        found = self._find_item(item_id)
        if found is None:
            raise not_found(f"no item has the id {item_id!r}", item_id=item_id)
        product, variant = found
        return {**variant, "product_id": product["product_id"], "product_name": product["name"]}

    def list_all_product_types(self) -> dict[str, str]:
        """List every product type the store sells, as product name mapped to product id, sorted by
        name.
        """
        pairs = sorted((str(p["name"]), str(p["product_id"])) for p in self.db.products())
        return dict(pairs)

    def calculate(self, expression: str) -> float:
        """Compute an arithmetic expression made of numbers, + - * /, parentheses and spaces; the
        result is rounded to 2 decimals.
        """
        return evaluate_expression(expression)

    def transfer_to_human_agents(self, summary: str) -> dict[str, Any]:
        """Hand the conversation to a human agent, with a summary of the customer's request. Use it
        only when the request is outside what the tools allow or the customer asks for a human.
        """
        if not summary.strip():
            raise invalid_arguments("the hand-off needs a summary of the customer's request")
        return {
            "transferred": True,
            "summary": summary,
            "message": "Transfer successful: a human agent will take over this conversation.",
        }

    # -- write tools ---------------------------------------------------------------------------

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

    def _find_item(self, item_id: str) -> tuple[Record, Record] | None:
        for product in self.db.products():
            variant = product["variants"].get(item_id)
            if variant is not None:
                return product, variant
        return None

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


_READ_TOOLS = (
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_user_details",
    "get_order_details",
    "get_product_details",
    "get_item_details",
    "list_all_product_types",
    "calculate",
)
_WRITE_TOOLS = (
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_pending_order_items",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "modify_user_address",
)
TOOL_NAMES: tuple[str, ...] = (*_READ_TOOLS, *_WRITE_TOOLS, "transfer_to_human_agents")
_RESOURCE_KINDS: Mapping[str, str] = {
    "user_id": "user",
    "order_id": "order",
    "payment_method_id": "payment_method",
}


def build_tools(db: RetailDB) -> list[Tool]:
    """The retail tools over one store, in a stable order (reads, writes, hand-off)."""
    impl = RetailTools(db)
    reconcile = recorded_write(db)  # every write records its result under its key
    return [
        replace(
            t, fn=getattr(impl, t.name), reconcile=reconcile if t.name in _WRITE_TOOLS else None
        )
        for t in _tool_templates()
    ]


@lru_cache(maxsize=1)
def _tool_templates() -> tuple[Tool, ...]:
    """Specs and input models do not depend on the store, so they are built once per process."""
    unbound = RetailTools.__new__(RetailTools)  # methods only serve for their signatures here
    tools: list[Tool] = []
    for name in (*_READ_TOOLS, *_WRITE_TOOLS, "transfer_to_human_agents"):
        fn = getattr(unbound, name)
        write = name in _WRITE_TOOLS
        params = inspect.signature(fn).parameters
        resources = {arg: kind for arg, kind in _RESOURCE_KINDS.items() if arg in params}
        # the first docstring paragraph, on one line, is what the model reads
        description = " ".join((inspect.getdoc(fn) or "").split("\n\n")[0].split())
        tools.append(
            make_tool(
                fn,
                name=name,
                description=description,
                risk=RiskClass.WRITE if write else RiskClass.READ,
                scopes=(WRITE_SCOPE if write else READ_SCOPE,),
                resources=resources,
                handoff=name == "transfer_to_human_agents",
                idempotent=write,  # every write honours the idempotency key
                # a read is a lookup in the desk's own in-process database: it returns at once,
                # and handing it to a worker thread and back would cost more than the lookup
                envelope=Envelope.default(writes=write, idempotent=write, inline=not write),
            )
        )
    return tuple(tools)
