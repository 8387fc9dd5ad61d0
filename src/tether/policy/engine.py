"""The policy decision point: a loaded Cedar policy set answering one request at a time.

Cedar decides permit or deny; tether adds a third effect. A request denied only by forbids
that carry `@escalate` is an escalation (a person may approve it); any plain forbid makes it a
denial; no matching permit is a denial too (default deny). An evaluation error fails closed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cedarpy

from tether.core.types import Effect
from tether.policy.source import LoadedPolicies, PolicyMeta, load_policies


def uid(entity_type: str, entity_id: str) -> dict[str, str]:
    """A Cedar entity uid."""
    return {"type": entity_type, "id": entity_id}


def ref(entity_type: str, entity_id: str) -> dict[str, dict[str, str]]:
    """A reference to an entity, as an attribute or context value."""
    return {"__entity": uid(entity_type, entity_id)}


def entity(entity_type: str, entity_id: str, **attrs: Any) -> dict[str, Any]:
    """A Cedar entity with attributes and no parents."""
    return {"uid": uid(entity_type, entity_id), "attrs": attrs, "parents": []}


def plain(value: Any) -> Any:
    """A context value with entity references written as `Type::id`, for verdict facts."""
    if isinstance(value, dict):
        inner = value.get("__entity")
        if isinstance(inner, dict) and len(value) == 1:
            return f"{inner['type']}::{inner['id']}"
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class PolicyRequest:
    """Who wants to do what to which resource, the facts about it, and the entities it reads."""

    principal: tuple[str, str]  # (type, id)
    action: str
    resource: tuple[str, str]
    context: Mapping[str, Any]
    entities: Sequence[Mapping[str, Any]]

    def cedar(self) -> dict[str, Any]:
        """The request in the shape cedarpy takes."""
        return {
            "principal": uid(*self.principal),
            "action": uid("Action", self.action),
            "resource": uid(*self.resource),
            "context": dict(self.context),
        }

    def describe(self) -> dict[str, Any]:
        """The request as verdict facts: names and context, entity refs spelled out."""
        return {
            "principal": "::".join(self.principal),
            "action": self.action,
            "resource": "::".join(self.resource),
            "context": plain(dict(self.context)),
        }


@dataclass(frozen=True)
class PolicyDecision:
    """The engine's answer: the effect, the policies that determined it, any errors."""

    effect: Effect
    determining: tuple[PolicyMeta, ...] = ()
    errors: tuple[str, ...] = ()
    matched: tuple[PolicyMeta, ...] = field(default=())  # every policy that applied

    @property
    def policy_ids(self) -> list[str]:
        """The determining policies' ids."""
        return [m.id for m in self.determining]

    @property
    def rules(self) -> list[str]:
        """The rules of the determining policies, each once."""
        return list(dict.fromkeys(m.rule for m in self.determining))


class PolicyEngine:
    """Decides requests against one loaded policy set.

    The policies were checked against the schema when they were loaded. By default a decision
    then skips re-checking each request against it (the action hierarchy comes from a parsed
    base instead), which halves its cost; a request the binding got wrong still fails closed,
    because an evaluation error denies. `validate_requests=True` checks every request's
    context and entities against the schema too, as the policy tests do.
    """

    def __init__(self, policies: LoadedPolicies, validate_requests: bool = False) -> None:
        self.policies = policies
        self.validate_requests = validate_requests
        # the schema's actions with their groups: every request's entities start from these
        self._actions = cedarpy.Entities.from_json_str("[]", policies.schema)

    @classmethod
    def from_files(
        cls, schema: Path, files: Sequence[Path], validate_requests: bool = False
    ) -> PolicyEngine:
        """Load, check and index a policy set (raises POLICY_INVALID)."""
        return cls(load_policies(schema, files), validate_requests)

    def decide(self, request: PolicyRequest) -> PolicyDecision:
        """Evaluate one request."""
        entities = json.dumps(list(request.entities))
        try:
            if self.validate_requests:
                result = cedarpy.is_authorized(
                    request.cedar(),
                    self.policies.policy_set,
                    entities,
                    schema=self.policies.schema,
                )
            else:
                result = cedarpy.is_authorized(
                    request.cedar(),
                    self.policies.policy_set,
                    self._actions.with_added_json_str(entities),
                )
        except ValueError as exc:  # malformed entities: refuse rather than guess
            return PolicyDecision(Effect.DENY, (), (str(exc),), ())
        errors = tuple(str(e) for e in result.diagnostics.errors)
        matched = tuple(self.policies.ordered(result.diagnostics.reasons))
        if errors or result.decision is cedarpy.Decision.NoDecision:
            return PolicyDecision(Effect.DENY, (), errors or ("no decision",), matched)
        if result.allowed:
            return PolicyDecision(Effect.ALLOW, matched, (), matched)
        hard = tuple(m for m in matched if m.effect == "forbid" and not m.escalate)
        soft = tuple(m for m in matched if m.effect == "forbid" and m.escalate)
        if hard:
            return PolicyDecision(Effect.DENY, hard + soft, (), matched)
        if soft:
            return PolicyDecision(Effect.ESCALATE, soft, (), matched)
        return PolicyDecision(Effect.DENY, (), (), matched)  # nothing permits it
