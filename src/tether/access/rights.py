"""Rights: what an agent is granted, what a principal may do, and what a run gets (both)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tether.core.types import Agent, Principal, ToolSpec


@dataclass(frozen=True)
class Rights:
    """Tools and scopes; a run's effective rights are the agent's grants ∩ the principal's."""

    tools: tuple[str, ...]
    scopes: tuple[str, ...]


class RoleRights:
    """The scopes each principal role confers (e.g. customer -> retail:read, retail:write)."""

    def __init__(self, roles: Mapping[str, Iterable[str]]) -> None:
        self._roles = {role: frozenset(scopes) for role, scopes in roles.items()}

    def scopes_for(self, principal: Principal) -> frozenset[str]:
        """The union of the scopes of the principal's roles; unknown roles confer nothing."""
        out: frozenset[str] = frozenset()
        for role in principal.roles:
            out |= self._roles.get(role, frozenset())
        return out

    def to_dict(self) -> dict[str, list[str]]:
        return {role: sorted(scopes) for role, scopes in sorted(self._roles.items())}


def agent_grants(agent: Agent, specs: Iterable[ToolSpec]) -> Rights:
    """The agent's tools that exist, and its scopes (by default: what those tools require)."""
    granted = [s for s in specs if s.name in agent.tools]
    scopes = agent.scopes or tuple(sorted({sc for s in granted for sc in s.required_scopes}))
    return Rights(tuple(sorted(s.name for s in granted)), tuple(sorted(set(scopes))))


def effective_rights(
    agent: Agent, specs: Iterable[ToolSpec], principal_scopes: frozenset[str]
) -> Rights:
    """Agent grants ∩ principal rights: the shared scopes, and the granted tools whose required
    scopes all lie within them."""
    specs = list(specs)
    grants = agent_grants(agent, specs)
    scopes = frozenset(grants.scopes) & principal_scopes
    tools = [s.name for s in specs if s.name in grants.tools and set(s.required_scopes) <= scopes]
    return Rights(tuple(sorted(tools)), tuple(sorted(scopes)))
