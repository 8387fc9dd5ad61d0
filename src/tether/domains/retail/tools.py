"""The retail support desk's tools, with the semantics of RETAIL_TOOLS.md.

Every tool either returns JSON-serialisable data or raises a `TetherError` with a stable code
(see `tether.domains.retail.orders`). Write tools check every precondition before changing anything,
and commit their whole effect in one transaction.

`RetailTools` holds the read tools and the hand-off; the write tools are its mixin
(`tether.domains.retail.write_tools`) and `calculate`'s arithmetic is
`tether.domains.retail.arithmetic`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from tether import Envelope, RiskClass, Tool, make_tool
from tether.domains.retail.arithmetic import evaluate_expression
from tether.domains.retail.db import RetailDB
from tether.domains.retail.effects import recorded_write
from tether.domains.retail.orders import Record, invalid_arguments, not_found
from tether.domains.retail.write_tools import WriteToolsMixin

READ_SCOPE = "retail:read"
WRITE_SCOPE = "retail:write"


class RetailTools(WriteToolsMixin):
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

    # -- shared lookups ------------------------------------------------------------------------

    def _find_item(self, item_id: str) -> tuple[Record, Record] | None:
        for product in self.db.products():
            variant = product["variants"].get(item_id)
            if variant is not None:
                return product, variant
        return None


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
