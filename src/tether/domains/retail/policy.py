"""The retail desk's binding of the policy engine: entities read from the retail store at
decision time, context facts from the validators, and the packaged policy files.

`store.cedar` holds the store's written rules, `safety.cedar` tether's safeguards for what
leaves the system, and `house.cedar` the demo store's house rules.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tether import GuardContext, Message, OutputTrust, ToolCall, recorded_read
from tether.domains.retail.db import RetailDB
from tether.domains.retail.ownership import RetailOwnership
from tether.domains.retail.policy_facts import (
    ITEM_MODIFICATION,
    LOOKUPS,
    SWAPS,
    WRITES,
    Catalog,
    SwapFacts,
    Variant,
    identifies,
    identity,
    list_arg,
    money,
    recorded_variant,
    swap_facts,
    text_arg,
)
from tether.policy import (
    UNTRUSTED,
    Conversation,
    PolicyAnswerCheck,
    PolicyCheck,
    PolicyEngine,
    PolicyRequest,
    ToolExchange,
    action_counters,
    argument_provenance,
    cents,
    entity,
    find_pii,
    ref,
    strings_in,
    tool_exchanges,
)

Record = dict[str, Any]
STORE = ("Store", "retail")
ORDER_TOOLS_ARG = "order_id"
USER_TOOLS = frozenset({"get_user_details", "modify_user_address"})
_TRACKED = frozenset(LOOKUPS) | WRITES  # the calls whose results the facts read

SCHEMA_FILE = "retail.cedarschema"
STORE_RULES = ("store.cedar",)
DESK_RULES = ("store.cedar", "safety.cedar", "house.cedar")


def policy_dir() -> Path:
    """The packaged retail policy folder (schema, policy files, test cases)."""
    return Path(str(resources.files("tether.domains.retail") / "policies"))


@lru_cache(maxsize=4)
def retail_engine(files: tuple[str, ...] = DESK_RULES) -> PolicyEngine:
    """An engine over packaged policy files, loaded and checked once per process."""
    root = policy_dir()
    return PolicyEngine.from_files(root / SCHEMA_FILE, [root / f for f in files])


def _kind(method_id: str) -> str:
    for kind in ("gift_card", "credit_card", "paypal"):
        if method_id.startswith(kind):
            return kind
    return "unknown"


_NO_SWAP = SwapFacts().to_context()
_NO_PII = find_pii([], ()).to_context()


def _base_context(auth: str, exchanges: Sequence[ToolExchange]) -> dict[str, Any]:
    """The facts every request carries, at their neutral values."""
    return {
        "authenticated": auth != "none",
        "authMethod": auth,
        "confirmed": False,
        "confirmation": "",
        "resourceExists": False,
        "reason": "",
        "amountCents": 0,
        "chargeCents": 0,
        "newItems": [],
        "swap": dict(_NO_SWAP),
        "counters": action_counters(exchanges, WRITES, None, ITEM_MODIFICATION).to_context(),
        "untrustedArguments": [],
        "outgoing": dict(_NO_PII),
    }


class _Entities:
    """Collects the Cedar entities of one request, each uid once."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, entity_type: str, entity_id: str, **attrs: Any) -> dict[str, Any]:
        key = (entity_type, entity_id)
        if key not in self.items:
            self.items[key] = entity(entity_type, entity_id, **attrs)
        return ref(entity_type, entity_id)

    def customer(self, user_id: str) -> dict[str, Any]:
        return self.add("Customer", user_id)

    def item(self, variant: Variant, item_id: str) -> dict[str, Any] | None:
        found = variant(item_id)
        if found is None:
            return None
        product = self.add("Product", found.product_id, name=found.product_name)
        return self.add(
            "Item",
            item_id,
            product=product,
            available=found.available,
            priceCents=cents(found.price),
        )


class RetailPolicyBinding:
    """Builds policy requests for the retail desk's tool calls and answers."""

    def __init__(
        self,
        db: RetailDB,
        ownership: RetailOwnership | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.db = db
        self.ownership = ownership or RetailOwnership(db)
        self._catalog = catalog  # products never change, so one catalogue may serve many stores
        self._by_email: dict[str, str] | None = None
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        """The catalogue, read from the store on first use."""
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog(self.db.products())
            return self._catalog

    # -- tool calls ------------------------------------------------------------------------

    def request_for_call(
        self, ctx: GuardContext, call: ToolCall, messages: Sequence[Message]
    ) -> PolicyRequest:
        """Entities and facts for one proposed tool call."""
        pid = ctx.principal.id
        args: Mapping[str, Any] = call.arguments if isinstance(call.arguments, Mapping) else {}
        user = self.db.user(pid)
        ents = _Entities()
        ents.customer(pid)
        exchanges = tool_exchanges(messages, _TRACKED)
        context = _base_context(identity(pid, user, exchanges, messages), exchanges)
        context["reason"] = text_arg(args, "reason")
        resource: tuple[str, str] = STORE
        order: Record | None = None
        if call.name in LOOKUPS:
            found = self._identified(call.name, args, pid, user)
            if found is not None:
                context["lookupCustomer"] = ents.customer(found)
        elif call.name in USER_TOOLS:
            user_id = text_arg(args, "user_id")
            resource = ("Customer", user_id)
            is_own = user_id == pid and user is not None
            context["resourceExists"] = is_own or self.db.user(user_id) is not None
            ents.customer(user_id)
        elif ORDER_TOOLS_ARG in args:
            order_id = text_arg(args, ORDER_TOOLS_ARG)
            resource = ("Order", order_id)
            order = self.db.order(order_id)
            if order is not None:
                context["resourceExists"] = True
                self._order_entity(ents, order, pid, user)
        if call.name == "transfer_to_human_agents":
            own = [str(user["email"])] if user else []
            context["outgoing"] = find_pii(strings_in(dict(args)), own).to_context()
        if call.name in WRITES:
            self._write_facts(ctx, call, args, messages, exchanges, user, order, ents, context)
        return PolicyRequest(
            ("Customer", pid), call.name, resource, context, list(ents.items.values())
        )

    def _write_facts(
        self,
        ctx: GuardContext,
        call: ToolCall,
        args: Mapping[str, Any],
        messages: Sequence[Message],
        exchanges: Sequence[ToolExchange],
        user: Record | None,
        order: Record | None,
        ents: _Entities,
        context: dict[str, Any],
    ) -> None:
        pid = ctx.principal.id
        order_id = text_arg(args, ORDER_TOOLS_ARG) or None
        # the runtime owns confirmations: the user confirmed exactly this call, this turn
        if ctx.is_confirmed(call):
            assert ctx.confirmed is not None
            context["confirmed"] = True
            context["confirmation"] = f"the customer confirmed pending action {ctx.confirmed.nonce}"
        else:
            context["confirmed"] = False
            context["confirmation"] = "the customer has not confirmed this exact change"
        context["counters"] = action_counters(
            exchanges, WRITES, order_id, ITEM_MODIFICATION
        ).to_context()
        swap = SwapFacts()
        if call.name in SWAPS:
            old, new = list_arg(args, "item_ids"), list_arg(args, "new_item_ids")
            variant = recorded_variant(lambda: self.catalog)
            swap = swap_facts(order, old, new, variant)
            refs = [ents.item(variant, i) for i in new]
            context["newItems"] = [r for r in refs if r is not None]
        context["swap"] = swap.to_context()
        context["amountCents"], context["chargeCents"] = money(call.name, order, args, swap)
        method_id = text_arg(args, "payment_method_id")
        if method_id:
            method = self._method(ents, method_id, pid, user)
            if method is not None:
                context["paymentMethod"] = method
        context["untrustedArguments"] = sorted(
            name
            for name, source in argument_provenance(
                messages, args, self._trusted(ctx), self._closed(ctx, call.name)
            ).items()
            if source == UNTRUSTED
        )

    # -- answers ---------------------------------------------------------------------------

    def request_for_answer(
        self, ctx: GuardContext, text: str, messages: Sequence[Message]
    ) -> PolicyRequest:
        """An answer is the `answer` action on the store, with the PII found in its text."""
        pid = ctx.principal.id
        user = self.db.user(pid)
        ents = _Entities()
        ents.customer(pid)
        exchanges = tool_exchanges(messages, _TRACKED)
        context = _base_context(identity(pid, user, exchanges, messages), exchanges)
        context["resourceExists"] = True
        own = [str(user["email"])] if user else []
        context["outgoing"] = find_pii([text], own).to_context()
        return PolicyRequest(("Customer", pid), "answer", STORE, context, list(ents.items.values()))

    # -- entities from the store -----------------------------------------------------------

    def _identified(
        self, tool: str, args: Mapping[str, Any], pid: str, user: Record | None
    ) -> str | None:
        """Whom a lookup's arguments identify: the principal, somebody else, or nobody."""
        if user is not None and identifies(user, tool, args):
            return pid
        if LOOKUPS[tool] == "email":
            email = text_arg(args, "email").lower()
            return recorded_read("retail.user_by_email", email, lambda: self._emails().get(email))
        key = json.dumps([tool, dict(args)], sort_keys=True, default=str)
        return recorded_read("retail.user_identified", key, lambda: self._scan(tool, args))

    def _scan(self, tool: str, args: Mapping[str, Any]) -> str | None:
        # names and zip codes can change (a new default address), so read the records
        for other in self.db.users():
            if identifies(other, tool, args):
                return str(other["user_id"])
        return None

    def _emails(self) -> dict[str, str]:
        """E-mail address to user id; no tool changes an e-mail address, so it is read once."""
        with self._lock:
            if self._by_email is None:
                self._by_email = {}
                for u in self.db.users():
                    self._by_email.setdefault(str(u["email"]).lower(), str(u["user_id"]))
            return self._by_email

    def _order_entity(self, ents: _Entities, order: Record, pid: str, user: Record | None) -> None:
        owner_id = str(order["user_id"])
        owner = ents.customer(owner_id)
        history = order["payment_history"]
        original_id = str(history[0]["payment_method_id"]) if history else "none"
        original = self._method(ents, original_id, pid, user, owner_id) or ents.add(
            "PaymentMethod", original_id, owner=owner, kind=_kind(original_id), balanceCents=0
        )
        ents.add(
            "Order",
            str(order["order_id"]),
            owner=owner,
            status=str(order["status"]),
            totalCents=sum(cents(float(line["price"])) for line in order["items"]),
            originalPayment=original,
        )

    def _method(
        self,
        ents: _Entities,
        method_id: str,
        pid: str,
        user: Record | None,
        owner_hint: str | None = None,
    ) -> dict[str, Any] | None:
        """The payment method as an entity, with its owner; None if nobody holds it."""
        held = (user or {}).get("payment_methods", {}).get(method_id)
        if held is not None:
            owner = ents.customer(pid)
            balance = cents(held.get("balance", 0)) if held.get("source") == "gift_card" else 0
            return ents.add(
                "PaymentMethod",
                method_id,
                owner=owner,
                kind=str(held.get("source")),
                balanceCents=balance,
            )
        owner_id = self.ownership.owner_of("payment_method", method_id) or owner_hint
        if owner_id is None:
            return None
        owner = ents.customer(owner_id)
        return ents.add(
            "PaymentMethod", method_id, owner=owner, kind=_kind(method_id), balanceCents=0
        )

    @staticmethod
    def _trusted(ctx: GuardContext) -> Any:
        def trusted(tool_name: str) -> bool:
            tool = ctx.tools.get(tool_name)
            return tool is not None and tool.spec.output_trust is OutputTrust.TRUSTED

        return trusted

    @staticmethod
    def _closed(ctx: GuardContext, tool_name: str) -> dict[str, list[str]]:
        tool = ctx.tools.get(tool_name)
        if tool is None:
            return {}
        props = tool.spec.input_schema.get("properties", {})
        return {k: list(v["enum"]) for k, v in props.items() if isinstance(v, dict) and "enum" in v}


def retail_policy_checks(
    db: RetailDB,
    files: tuple[str, ...] = DESK_RULES,
    conversation: Conversation | None = None,
    ownership: RetailOwnership | None = None,
) -> tuple[PolicyCheck, PolicyAnswerCheck]:
    """The desk's policy checks for tool calls and for answers, over one retail store."""
    engine = retail_engine(files)
    binding = RetailPolicyBinding(db, ownership)
    return (
        PolicyCheck(engine, binding, conversation),
        PolicyAnswerCheck(engine, binding, conversation),
    )
