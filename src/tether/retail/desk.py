"""The retail support desk: the demo domain wired into a governed runtime."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache

from tether.access.checks import GrantCheck, OwnershipCheck
from tether.access.control import AccessControl
from tether.access.rights import RoleRights
from tether.access.settings import AccessSettings
from tether.approvals.routing import EscalationConfig
from tether.approvals.service import ApprovalService, ModelFactory
from tether.core.clock import Clock, IdSource, RandomIds, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Limits, Principal
from tether.grounding.bm25 import Bm25Retriever
from tether.grounding.citations import CitationCheck
from tether.grounding.documents import chunk_document, load_packaged_kb
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.retail_desk import retail_grounding
from tether.observe.hub import Observability, default_observability
from tether.policy.retail import retail_policy_checks
from tether.retail.db import RetailDB
from tether.retail.ownership import RetailOwnership
from tether.retail.tools import READ_SCOPE, TOOL_NAMES, WRITE_SCOPE, build_tools
from tether.runtime.loop import Runtime
from tether.store.runs import RunStore
from tether.tools.checks import SchemaCheck
from tether.tools.registry import ToolRegistry

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
    grounding_sources=("kb://retail",),
    require_grounding=True,
    retrieval_k=3,
    limits=Limits(max_steps=40, max_seconds=120.0),
    scopes=(READ_SCOPE, WRITE_SCOPE),
)

# What each principal role may do in the store; a run gets the agent's grants ∩ these.
RETAIL_ROLES = RoleRights({"customer": (READ_SCOPE, WRITE_SCOPE)})


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


@dataclass
class RetailDesk:
    """Everything the demo needs: the run store, the retail data and the runtime over them."""

    store: RunStore
    db: RetailDB
    runtime: Runtime
    access: AccessControl | None = None
    observability: Observability = field(default_factory=default_observability)
    retriever: StoreRetriever | None = None  # the ingested corpus, expanded through the graph
    approvals: ApprovalService | None = None  # escalated calls wait for a person's decision

    @classmethod
    def open(
        cls,
        store: RunStore,
        db: RetailDB | None = None,
        agent: Agent = RETAIL_AGENT,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        settings: AccessSettings | None = None,
        rights: RoleRights = RETAIL_ROLES,
        observability: Observability | None = None,
        claims_on_fail: str | None = None,
        approvals: bool = False,
        escalations: EscalationConfig | None = None,
    ) -> RetailDesk:
        """Wire a desk over `store`; the retail data lives beside the runs unless `db` is given.

        Access (run tokens, audit trail, operator keys) lives in the same store; `settings`
        default to the environment (`TETHER_TOKEN_TTL`, `TETHER_REDIS_URL`, ...). Metrics,
        KPIs, logs and traces go to `observability` (default: the process's). Answers are
        grounded in the store's ingested corpus; a failing claim is handled as `claims_on_fail`
        says (revise, refuse, escalate; default `TETHER_CLAIMS_ON_FAIL` or revise). With
        `approvals`, an escalated call suspends its run until a person decides (see
        `enable_approvals`); without, the run ends in an escalation."""
        if db is None:
            db = RetailDB(store.engine)
            db.create_tables()
            db.load_packaged()
        tools = ToolRegistry(build_tools(db))
        clock = clock or SystemClock()
        access = AccessControl.open(store.engine, rights, settings, clock)
        policy_check, answer_policy = retail_policy_checks(db)
        obs = observability or default_observability()
        grounding = retail_grounding(store.engine, db, on_fail=claims_on_fail)
        runtime = Runtime(
            store=store,
            agents={agent.name: agent},
            tools=tools,
            principals=RetailCustomers(db),
            retriever=grounding.retriever,
            tool_checks=(
                SchemaCheck(),
                GrantCheck(access.tokens),  # the agent's grant and the run's signed token
                OwnershipCheck(RetailOwnership(db)),
                policy_check,  # the store's rules, tether's safeguards, the house rules
                grounding.premises,  # the write's premises, read from the store right now
            ),
            answer_checks=(CitationCheck(), grounding.claims, answer_policy),
            clock=clock,
            ids=ids or RandomIds(),
            default_agent=agent.name,
            access=access.governor,
            observers=obs.observers(store.engine),
        )
        desk = cls(store, db, runtime, access, obs, grounding.retriever)
        if approvals:
            desk.enable_approvals(escalations)
        return desk

    def enable_approvals(
        self, escalations: EscalationConfig | None = None, models: ModelFactory | None = None
    ) -> ApprovalService:
        """Durable approvals on this desk (once): escalated calls suspend their run and open a
        request; deciding one resumes the run with its own script, else `models()`. Queues and
        webhooks come from `escalations` (default: `TETHER_ESCALATIONS`, ...)."""
        if self.approvals is not None:
            self.approvals.models = self.approvals.models or models
            return self.approvals
        access = self.access or AccessControl.open(self.store.engine, clock=self.runtime.clock)
        self.approvals = ApprovalService.open(
            self.store.engine,
            access.audit,
            access.tokens,
            lambda: self.runtime,  # the runtime in force when a run resumes
            escalations,
            models,
            self.runtime.clock,
            self.observability.metrics.approval_waited,
        )
        self.runtime = dataclasses.replace(self.runtime, approvals=self.approvals.gate)
        return self.approvals
