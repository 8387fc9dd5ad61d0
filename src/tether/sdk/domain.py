"""A domain pack's declaration: what a domain gives the runtime, through the public API only.

A pack is a `Domain` value found by name (entry point group `tether.domains`, a
`module:attr` reference, `TETHER_DOMAIN` or `tether.toml`). Its static part (name, version,
agents, policy files, scenarios) is read without touching a store; `setup` builds the parts
that live over a store (tools over the domain's data, the principal directory, ownership,
the policy binding, knowledge and premise checks) when a desk is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from tether.access.checks import ResourceOwners
from tether.core.clock import Clock
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import AnswerCheck, ToolCheck
from tether.core.types import Agent
from tether.grounding.connectors import Connector
from tether.grounding.graph import NO_ENTITY_IDS, EntityGraph, EntityIds
from tether.grounding.verifier import NEUTRAL, GroundingPack
from tether.policy.check import PolicyBinding
from tether.policy.engine import PolicyEngine
from tether.runtime.seams import PrincipalDirectory
from tether.store.runs import RunStore
from tether.tools.registry import Tool

if TYPE_CHECKING:
    from tether.sdk.desk import Desk


@dataclass(frozen=True)
class DeskContext:
    """What a pack builds its parts over: the system of record, the clock, and whether the
    desk wants a fresh copy of the domain's data (demo scenarios, policy cases, chaos runs)."""

    store: RunStore
    clock: Clock
    fresh: bool = False
    data: Any = None  # a data handle the caller already holds (e.g. a test's own database)

    @property
    def engine(self) -> Engine:
        return self.store.engine


@dataclass(frozen=True)
class PolicySet:
    """A domain's Cedar policies: the schema, the policy files, and the cases that test them.
    `files` are the ones a desk enforces; `cases` is a folder of `tether policy test` YAML."""

    schema: Path
    files: tuple[Path, ...]
    cases: Path | None = None

    def engine(self) -> PolicyEngine:
        """A decision point over these files, loaded and checked once per process (raises
        POLICY_INVALID)."""
        return _engine(self.schema, self.files)


@lru_cache(maxsize=16)
def _engine(schema: Path, files: tuple[Path, ...]) -> PolicyEngine:
    return PolicyEngine.from_files(schema, list(files))


@dataclass
class DomainParts:
    """What a pack builds over a store; the builder assembles the guard chain from it.

    `policy` turns proposals into policy requests (with `PolicySet` on the domain); without
    it, writes are refused unless the agent sets `allow_writes_without_policy`. `owners`
    answers who owns a resource kind that tools name (see `ToolSpec.resources`);
    `ownership` adds callbacks for what a path cannot express. `knowledge` is ingested into
    the system of record before the first search; `graph` expands queries through the
    domain's entities. `premises` are tool checks run last, against the live data. `data`
    is the pack's own handle (e.g. its database), exposed as `Desk.data`. `shared_reads`
    opens a block in which the pack's lookups share what they read: the runtime holds one
    open while it checks a proposal and while it expands retrieval through the graph.
    """

    tools: Sequence[Tool]
    principals: PrincipalDirectory
    rights: Mapping[str, Sequence[str]]  # principal role -> the scopes it confers
    owners: ResourceOwners | None = None
    ownership: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    policy: PolicyBinding | None = None
    knowledge: Sequence[Connector] = ()
    graph: EntityGraph | None = None
    premises: Sequence[ToolCheck] = ()
    answer_checks: Sequence[AnswerCheck] = ()  # after citations and claims, before policy
    data: Any = None
    sources: Mapping[str, Callable[[], Connector]] = field(default_factory=dict)
    shared_reads: Callable[[], AbstractContextManager[object]] | None = None


@dataclass(frozen=True)
class Domain:
    """A domain pack: its agents, its policies, and how to build its parts over a store.

    `harnesses` are the pack's own evaluations and drills, by name (e.g. `"eval policy"`,
    `"chaos"`), each a callable the CLI runs with the desk's store and its options.
    `grounding` tunes the answer verifier for the domain (see `GroundingPack`).
    """

    name: str
    version: str
    agents: tuple[Agent, ...]
    setup: Callable[[DeskContext], DomainParts]
    description: str = ""
    policies: PolicySet | None = None
    entity_ids: EntityIds = NO_ENTITY_IDS
    scenarios: Path | None = None  # a folder of scenario YAML files
    harnesses: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    principal_hint: str = ""  # an example principal id, for help texts and the dashboard
    on_desk: Callable[[Desk], None] | None = None  # last touch once a desk is built
    grounding: GroundingPack = NEUTRAL  # the verifier's operating point, vocabulary, fields
    # labelled answers over the domain's records and knowledge (RAGTruth JSONL: qa.jsonl,
    # data2txt.jsonl) a release's evaluation suite scores the verifier on
    grounding_probes: Path | None = None

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise TetherError(
                ErrorCode.DOMAIN_INVALID, f"domain {self.name!r}: " + "; ".join(problems)
            )

    def _problems(self) -> list[str]:
        problems = []
        name = self.name
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            problems.append(f"name {name!r} must be letters, digits, '-' or '_'")
        version = self.version
        # recorded with every run and compared by releases: one printable line, not blank
        if not isinstance(version, str) or not version.strip() or not version.isprintable():
            problems.append(f"version {version!r} must be a non-blank line of printable text")
        if not callable(self.setup):
            problems.append("setup is not callable")
        if not isinstance(self.agents, tuple) or not all(isinstance(a, Agent) for a in self.agents):
            problems.append("agents must be a tuple of tether.Agent")
            return problems  # what follows reads the agents
        if not self.agents:
            problems.append("it declares no agent")
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            problems.append(f"agent names repeat: {names}")
        for agent in self.agents:
            problems.extend(f"agent {agent.name}: {p}" for p in _agent_problems(agent))
        return problems

    @property
    def default_agent(self) -> Agent:
        """The first agent the pack declares."""
        return self.agents[0]

    def agent(self, name: str | None) -> Agent:
        """The agent by name (the default one for None); UNKNOWN_AGENT otherwise."""
        if name is None:
            return self.default_agent
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise TetherError(
            ErrorCode.UNKNOWN_AGENT, f"domain {self.name!r} has no agent named {name!r}"
        )

    def tool_names(self) -> tuple[str, ...]:
        """Every tool any of the pack's agents may use."""
        return tuple(sorted({t for a in self.agents for t in a.tools}))


def _agent_problems(agent: Agent) -> list[str]:
    problems = []
    tools = agent.tools
    # a str is the missing comma of ("find_book"): its letters would be the grant
    if not isinstance(tools, tuple) or not all(isinstance(t, str) and t for t in tools):
        problems.append("tools must be a tuple of tool names")
    point = agent.verifier_operating_point
    if point is not None and (
        isinstance(point, bool) or not isinstance(point, int | float) or not 0.0 < point <= 1.0
    ):
        problems.append("verifier_operating_point must be a number in (0, 1]")
    return problems
