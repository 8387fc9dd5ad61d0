"""The builder: one call assembles a governed desk for a domain pack.

`build_desk(domain, store)` wires the store, the domain's tools, access (capability tokens,
audit), policy, grounding, approvals and observability, with the default guard chain:

    tool calls: schema → grant + token → ownership → policy → the domain's premises
    answers:    citations → claims → the domain's answer checks → policy

`tool_checks` / `answer_checks` receive that default list and return the chain to use, to add
or replace a check explicitly. Fail closed: a domain without a policy binding gets a check that
refuses every write unless the agent sets `allow_writes_without_policy`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from tether.access.checks import GrantCheck, OwnershipCheck
from tether.access.control import AccessControl
from tether.access.rights import RoleRights
from tether.access.settings import AccessSettings
from tether.approvals.routing import EscalationConfig
from tether.approvals.service import ApprovalService, ModelFactory
from tether.core.clock import Clock, IdSource, RandomIds, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import AnswerCheck, GuardContext, ToolCheck
from tether.core.types import Agent, RiskClass, ToolCall, Verdict
from tether.grounding.citations import CitationCheck
from tether.grounding.embeddings import Embedder, embedder_from_env
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor, ensure_ingested
from tether.grounding.on_fail import claims_on_fail as on_fail_from_env
from tether.grounding.verify import ClaimCheck
from tether.models.factory import release_model
from tether.observe.hub import Observability, default_observability
from tether.policy.check import PolicyAnswerCheck, PolicyCheck
from tether.policy.sentences import assertive_sentences
from tether.release.binding import ReleaseInForce
from tether.release.store import ReleaseStore
from tether.runtime.loop import Runtime
from tether.sdk.domain import DeskContext, Domain, DomainParts
from tether.sdk.loader import PACK_FAILURES, pack_code, pack_error
from tether.sdk.release import desk_bundle
from tether.store.runs import RunStore
from tether.store.startup import setting_up
from tether.tools.checks import SchemaCheck
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.registry import Tool, ToolRegistry
from tether.tools.shared_state import shared_state_from_env

ChainHook = Callable[[list[Any]], Sequence[Any]]


class WritesNeedPolicy:
    """The policy step of a domain that declares no policy: reads pass, a write or
    irreversible call is refused unless the agent explicitly allows writes without policy."""

    name = "policy"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        tool = ctx.tools.get(call.name)
        if tool is None or tool.spec.risk is RiskClass.READ:
            return Verdict.allow(self.name, policy="none")
        if ctx.agent.allow_writes_without_policy:
            return Verdict.allow(self.name, policy="none", writes="allowed by the agent")
        return Verdict.deny(
            self.name,
            ErrorCode.POLICY_DENIED,
            f"{call.name} changes data and the domain declares no policy that permits it",
            policy="none",
        )


@dataclass
class Desk:
    """A governed runtime for one domain, over one store, and what was wired into it."""

    domain: Domain
    store: RunStore
    runtime: Runtime
    access: AccessControl | None = None
    observability: Observability = field(default_factory=default_observability)
    retriever: StoreRetriever | None = None  # the ingested corpus, expanded through the graph
    approvals: ApprovalService | None = None  # escalated calls wait for a person's decision
    data: Any = None  # the domain's own handle (e.g. its database)
    parts: DomainParts | None = None
    release: ReleaseInForce | None = None  # the release its runs record

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


def build_desk(
    domain: Domain,
    store: RunStore | None = None,
    *,
    agents: Sequence[Agent] | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    settings: AccessSettings | None = None,
    observability: Observability | None = None,
    claims_on_fail: str | None = None,
    approvals: bool = False,
    escalations: EscalationConfig | None = None,
    fresh: bool = False,
    data: Any = None,
    embedder: Embedder | None = None,
    tool_checks: ChainHook | None = None,
    answer_checks: ChainHook | None = None,
    rights: RoleRights | Mapping[str, Sequence[str]] | None = None,
    observation: Callable[[Mapping[str, Any]], str] | None = None,
    model: Mapping[str, Any] | None = None,
) -> Desk:
    """A desk for `domain` over `store` (default: `TETHER_DATABASE_URL` or the local file).

    `agents` replaces the pack's agents (e.g. one with other limits) and `rights` its role
    rights (role -> scopes); `observation` renders a tool outcome for the model (default:
    compact JSON); `model` the model settings a release names, which its runs then use
    (default: the model the environment configures, or the one each request names); `fresh`
    asks the pack for
    a fresh copy of its data and `data` hands it one the caller holds. Access (run tokens,
    audit, operator keys) lives in the same store; `settings` default to the environment.
    A failing claim is handled as `claims_on_fail` says (revise, refuse, escalate; default
    `TETHER_CLAIMS_ON_FAIL` or revise). With `approvals`, an escalated call suspends its run
    until a person decides; without, the run ends in an escalation.
    """
    store = store or RunStore.open()
    clock = clock or SystemClock()
    # processes starting together on one SQLite file take turns making the pack's tables and
    # data and the access tables and keys; the later ones find them made
    crew = tuple(agents) if agents is not None else domain.agents
    with setting_up(store.engine):
        parts = setup_parts(domain, DeskContext(store, clock, fresh, data))
        _check_grants(domain, crew, parts)
        chosen = rights if rights is not None else parts.rights
        roles = chosen if isinstance(chosen, RoleRights) else RoleRights(chosen)
        access = AccessControl.open(store.engine, roles, settings, clock)
    tools = ToolRegistry(parts.tools)
    access.governor.bind_resources(parts.owners, parts.ownership)  # the token's resource claim
    obs = observability or default_observability()
    retriever = _retriever(domain, parts, store, embedder)
    on_fail = claims_on_fail or on_fail_from_env()
    release = ReleaseInForce(
        ReleaseStore(store.engine, access.audit),
        lambda: desk_bundle(domain, parts, crew, on_fail, model=model),
        clock,
    )
    runtime = Runtime(
        store=store,
        agents={a.name: a for a in crew},
        tools=tools,
        principals=parts.principals,
        retriever=retriever,
        tool_checks=_chain(default_tool_checks(domain, parts, access), tool_checks),
        answer_checks=_chain(
            default_answer_checks(domain, parts, on_fail),
            answer_checks,
        ),
        # breakers and buckets are the pack's own: another pack's tool may share a name
        executor=EnvelopeExecutor(shared_state_from_env(pack=domain.name)),
        clock=clock,
        ids=ids or RandomIds(),
        default_agent=crew[0].name,
        access=access.governor,
        observers=obs.observers(store.engine),
        domain={"name": domain.name, "version": domain.version},
        shared_reads=parts.shared_reads or nullcontext,
        release=release,
        release_model=release_model(model),  # CONFIG_INVALID when this process cannot build it
    )
    if observation is not None:
        runtime = dataclasses.replace(runtime, observation=observation)
    keeper = runtime.keeper  # shared by the runtimes of pinned releases
    obs.metrics.runs_past_limit.set_function(lambda: float(len(keeper.past_bound())))
    desk = Desk(
        domain,
        store,
        runtime,
        access,
        obs,
        retriever,
        data=parts.data,
        parts=parts,
        release=release,
    )
    if approvals:
        desk.enable_approvals(escalations)
    if domain.on_desk is not None:
        try:
            with pack_code():
                domain.on_desk(desk)
        except PACK_FAILURES as exc:  # the hook is the pack's code, as its setup is
            raise pack_error(domain.name, exc) from None
    return desk


def setup_parts(domain: Domain, ctx: DeskContext) -> DomainParts:
    """The pack's parts over `ctx`; a failing or wrong-shaped setup is DOMAIN_INVALID naming
    the pack's file, never a bare exception."""
    try:
        with pack_code():
            parts = domain.setup(ctx)
    except PACK_FAILURES as exc:
        raise pack_error(domain.name, exc) from None
    if not isinstance(parts, DomainParts):
        raise TetherError(
            ErrorCode.DOMAIN_INVALID,
            f"domain {domain.name}: setup returned {type(parts).__name__}, not DomainParts",
        )
    problems = _shape_problems(parts)
    if problems:
        raise TetherError(
            ErrorCode.DOMAIN_INVALID,
            f"domain {domain.name}: setup returned DomainParts with " + "; ".join(problems),
        )
    return parts


def _sequence(value: object) -> TypeGuard[Sequence[Any]]:
    """A sequence of items; a str is not one here (its letters are not names)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _names(value: object) -> bool:
    return _sequence(value) and all(isinstance(v, str) for v in value)


def _shape_problems(parts: DomainParts) -> list[str]:
    """What in the parts has the wrong shape, checked here so that it is reported as the
    pack's error rather than failing later inside the registry or the role rights."""
    problems = []
    tools = parts.tools
    if not _sequence(tools) or not all(isinstance(t, Tool) for t in tools):
        problems.append("tools: must be a list of @tool functions")
    if not callable(getattr(parts.principals, "resolve", None)):
        problems.append("principals: must be a directory with resolve(principal_id)")
    rights = parts.rights
    if not isinstance(rights, Mapping) or not all(
        isinstance(role, str) and _names(scopes) for role, scopes in rights.items()
    ):
        problems.append("rights: must map each role to a list of scopes")
    for name in ("knowledge", "premises", "answer_checks"):
        if not _sequence(getattr(parts, name)):
            problems.append(f"{name}: must be a list")
    for name in ("ownership", "sources"):
        if not isinstance(getattr(parts, name), Mapping):
            problems.append(f"{name}: must be a mapping")
    return problems


def _check_grants(domain: Domain, crew: Sequence[Agent], parts: DomainParts) -> None:
    """Every tool an agent is granted is one the pack registers: a grant naming nothing is a
    typo or a tool the pack forgot, refused before the desk serves a run."""
    registered = {t.name for t in parts.tools}
    problems = [
        f"agent {agent.name} grants {', '.join(sorted(missing))}"
        for agent in crew
        if (missing := set(agent.tools) - registered)
    ]
    if problems:
        raise TetherError(
            ErrorCode.DOMAIN_INVALID,
            f"domain {domain.name}: tools no part registers: " + "; ".join(problems),
            {"registered": sorted(registered)},
        )


def default_tool_checks(
    domain: Domain, parts: DomainParts, access: AccessControl | None
) -> list[ToolCheck]:
    """schema → grant + token → ownership → policy → premises."""
    checks: list[ToolCheck] = [
        SchemaCheck(),
        GrantCheck(access.tokens if access is not None else None),
    ]
    if parts.owners is not None:
        checks.append(OwnershipCheck(parts.owners, selectors=parts.ownership))
    if parts.policy is not None and domain.policies is not None:
        checks.append(PolicyCheck(domain.policies.engine(), parts.policy))
    else:
        checks.append(WritesNeedPolicy())
    checks.extend(parts.premises)
    return checks


def default_answer_checks(domain: Domain, parts: DomainParts, on_fail: str) -> list[AnswerCheck]:
    """citations → claims → the domain's answer checks → policy."""
    checks: list[AnswerCheck] = [
        CitationCheck(assertive=assertive_sentences),
        # the verifier reads the whole answer, as `tether eval grounding` does: it sets aside
        # questions and courtesies itself, unless they carry a contradiction
        ClaimCheck(
            domain.grounding.verifier(schemas={t.name: t.spec.output_schema for t in parts.tools}),
            on_fail=on_fail,
        ),
    ]
    checks.extend(parts.answer_checks)
    if parts.policy is not None and domain.policies is not None:
        checks.append(PolicyAnswerCheck(domain.policies.engine(), parts.policy))
    return checks


def _chain(default: list[Any], hook: ChainHook | None) -> tuple[Any, ...]:
    return tuple(default if hook is None else hook(list(default)))


def _retriever(
    domain: Domain, parts: DomainParts, store: RunStore, embedder: Embedder | None
) -> StoreRetriever:
    """The store's ingested corpus; the pack's knowledge is ingested before the first search
    if the store lacks it (or holds an older version); nothing touches the store before."""
    engine = store.engine

    def setup() -> None:
        ingestor = Ingestor(engine, entity_ids=domain.entity_ids)
        for source in parts.knowledge:
            ensure_ingested(ingestor, source)

    return StoreRetriever(
        engine,
        embedder=embedder or embedder_from_env(),
        graph=parts.graph,
        setup=setup,
        entity_ids=domain.entity_ids,
    )
