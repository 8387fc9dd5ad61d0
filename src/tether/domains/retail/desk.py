"""The retail support desk: its agent, its customers, and the desk built over a store."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tether import Agent, ErrorCode, Limits, Principal, TetherError
from tether.domains.retail.db import RetailDB
from tether.domains.retail.knowledge import load_packaged_kb
from tether.domains.retail.tools import READ_SCOPE, TOOL_NAMES, WRITE_SCOPE
from tether.grounding import Bm25Retriever, chunk_document
from tether.sdk import Desk, build_desk

AGENT_NAME = "retail-desk"

INSTRUCTIONS = """\
You are the customer support agent of an online retail store. You act for one customer, who
is already signed in; you may look up and change only that customer's profile, orders and
payment methods. Confirm the customer's identity with a lookup (e-mail, or name and zip)
before using customer-specific tools. Before any change (cancel, modify, return, exchange,
address update) list exactly what will happen and wait for an explicit yes. Use one tool at
a time. Answer only from the policy evidence and tool results you were given, and transfer
the customer to a human agent when the request is outside what the tools allow."""

RETAIL_TOOLS = TOOL_NAMES

RETAIL_AGENT = Agent(
    name=AGENT_NAME,
    instructions=INSTRUCTIONS,
    tools=RETAIL_TOOLS,
    # its packaged policy, the store's retail records once ingested (`tether ingest db:retail`)
    # and the folders its operator ingests; never another pack's knowledge in a shared store
    grounding_sources=("kb://retail", "db:retail", "file://"),
    require_grounding=True,
    retrieval_k=3,
    limits=Limits(max_steps=40, max_seconds=120.0),
    scopes=(READ_SCOPE, WRITE_SCOPE),
)

# What each principal role may do in the store; a run gets the agent's grants ∩ these.
RETAIL_ROLES: dict[str, tuple[str, ...]] = {"customer": (READ_SCOPE, WRITE_SCOPE)}


class RetailCustomers:
    """Customer principals come from the store's own user records (authoritative data)."""

    def __init__(self, db: RetailDB) -> None:
        self._db = db

    def resolve(self, principal_id: str) -> Principal:
        if not isinstance(principal_id, str) or self._db.user(principal_id) is None:
            raise TetherError(ErrorCode.UNKNOWN_PRINCIPAL, f"no customer with id {principal_id!r}")
        return Principal(id=principal_id, tenant="retail", roles=("customer",))


@lru_cache(maxsize=1)
def retail_retriever() -> Bm25Retriever:
    """The knowledge-base index, built once per process from the packaged documents."""
    chunks = [c for doc in load_packaged_kb() for c in chunk_document(doc)]
    return Bm25Retriever(chunks)


def open_retail_desk(
    store: Any = None, db: RetailDB | None = None, agent: Agent = RETAIL_AGENT, **options: Any
) -> Desk:
    """The retail desk over `store`, through the builder: the retail data lives beside the
    runs unless `db` is given; `agent` replaces the packaged one (e.g. with other limits);
    `options` go to `tether.sdk.build_desk` (clock, ids, settings, approvals, ...)."""
    from tether.domains.retail.pack import RETAIL

    return build_desk(RETAIL, store, agents=(agent,), data=db, **options)
