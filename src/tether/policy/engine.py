"""The policy decision point: a loaded Cedar policy set answering one request at a time.

Cedar decides permit or deny; tether adds a third effect. A request denied only by forbids
that carry `@escalate` is an escalation (a person may approve it); any plain forbid makes it a
denial; no matching permit is a denial too (default deny). An evaluation error fails closed.

Every request is first checked against the schema (its action, principal and resource types,
every context attribute and every entity), and one that does not match is denied as an invalid
request naming what is wrong, even where no policy reads the faulty part: a binding that forgot
a fact must not pass because today's policies happen not to ask for it.

A request that passed that check is decided on its action's slice of the set (`slices`): the
policies its action can match, given only the context attributes they read, which decides as
the whole set does at a third of Cedar's cost. Where the slice meets an error, the whole set
decides, so an error reads exactly as the whole set reports it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cedarpy

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Effect
from tether.policy.conformance import RequestValidator
from tether.policy.schema import PolicySchema, SchemaUnsupported
from tether.policy.slices import ActionSlice, PolicySlices
from tether.policy.source import LoadedPolicies, PolicyMeta, load_policies

# how Cedar words a request that does not fit the schema, when it validates one itself
_CEDAR_INVALID = ("failed to build request", "failed to parse entities", "while parsing context")
# entity sets kept parsed per engine (each a few kilobytes at most)
PARSED_ENTITY_SETS = 256


def uid(entity_type: str, entity_id: str) -> dict[str, str]:
    """A Cedar entity uid."""
    return {"type": entity_type, "id": entity_id}


def ref(entity_type: str, entity_id: str) -> dict[str, dict[str, str]]:
    """A reference to an entity, as an attribute or context value."""
    return {"__entity": uid(entity_type, entity_id)}


def entity(entity_type: str, entity_id: str, **attrs: Any) -> dict[str, Any]:
    """A Cedar entity with attributes and no parents."""
    return {"uid": uid(entity_type, entity_id), "attrs": attrs, "parents": []}


_NESTED = (dict, list, tuple)


def plain(value: Any) -> Any:
    """A context value with entity references written as `Type::id`, for verdict facts."""
    # scalars are copied without a call: every decision's facts pass through here
    if isinstance(value, dict):
        inner = value.get("__entity")
        if isinstance(inner, dict) and len(value) == 1:
            return f"{inner['type']}::{inner['id']}"
        return {k: plain(v) if isinstance(v, _NESTED) else v for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) if isinstance(v, _NESTED) else v for v in value]
    return value


@dataclass(frozen=True)
class PolicyRequest:
    """Who wants to do what to which resource, the facts about it, and the entities it reads.

    `problems` are what the binding could not establish (a lookup that failed, a fact it could
    not read); a request with any is refused as invalid without being evaluated.
    """

    principal: tuple[str, str]  # (type, id)
    action: str
    resource: tuple[str, str]
    context: Mapping[str, Any]
    entities: Sequence[Mapping[str, Any]]
    problems: tuple[str, ...] = ()

    def cedar(self, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The request in the shape cedarpy takes, with `context` in place of its own if given."""
        return {
            "principal": uid(*self.principal),
            "action": uid("Action", self.action),
            "resource": uid(*self.resource),
            "context": dict(self.context if context is None else context),
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
    """The engine's answer: the effect, the policies that determined it, any errors.

    `invalid_request` marks a denial because the request did not match the schema (or its
    binding reported problems); `errors` then names each mismatch.
    """

    effect: Effect
    determining: tuple[PolicyMeta, ...] = ()
    errors: tuple[str, ...] = ()
    matched: tuple[PolicyMeta, ...] = field(default=())  # every policy that applied
    invalid_request: bool = False

    @property
    def policy_ids(self) -> list[str]:
        """The determining policies' ids."""
        return [m.id for m in self.determining]

    @property
    def rules(self) -> list[str]:
        """The rules of the determining policies, each once."""
        return list(dict.fromkeys(m.rule for m in self.determining))


def _invalid(problems: Sequence[str]) -> PolicyDecision:
    return PolicyDecision(Effect.DENY, (), tuple(problems), (), invalid_request=True)


class PolicyEngine:
    """Decides requests against one loaded policy set.

    By default every request is validated against the schema before it is evaluated. The
    schema is read once into plain types and each request checked by predicates compiled from
    them: on the retail desk that adds about an eighth to a decision, where handing the schema
    to Cedar on every call adds about a quarter (`benchmarks/policy.py`). A schema this reader
    does not model is left to Cedar's validation. `validate_requests=False` is an explicit
    opt-out, for a caller that validated the request itself.
    """

    def __init__(self, policies: LoadedPolicies, validate_requests: bool = True) -> None:
        self.policies = policies
        self.validate_requests = validate_requests
        # the schema's actions with their groups: every request's entities start from these
        self._actions = cedarpy.Entities.from_json_str("[]", policies.schema)
        # parsed entity sets by their JSON text: the checks of one run (and the runs of one
        # principal) send the same entities again and again; a handle is immutable, so shared
        self._parsed: OrderedDict[str, cedarpy.Entities] = OrderedDict()
        self._parsed_lock = threading.Lock()
        self._validator: RequestValidator | None = None
        self._slices: PolicySlices | None = None
        self._unsupported = ""
        try:
            self._validator = RequestValidator(PolicySchema.of(policies.schema))
        except SchemaUnsupported as exc:  # Cedar validates requests against it instead
            self._unsupported = str(exc)
        else:
            self._slices = PolicySlices(policies, self._actions, self._validator.schema)

    @classmethod
    def from_files(
        cls, schema: Path, files: Sequence[Path], validate_requests: bool = True
    ) -> PolicyEngine:
        """Load, check and index a policy set (raises POLICY_INVALID)."""
        return cls(load_policies(schema, files), validate_requests)

    @property
    def schema(self) -> PolicySchema:
        """The schema as plain types (POLICY_INVALID if it uses what they do not model)."""
        if self._validator is None:
            raise TetherError(
                ErrorCode.POLICY_INVALID,
                f"the policy schema uses a construct tether does not model: {self._unsupported}",
            )
        return self._validator.schema

    def decide(self, request: PolicyRequest) -> PolicyDecision:
        """Evaluate one request."""
        if request.problems:
            return _invalid(request.problems)
        schema: cedarpy.Schema | None = None
        part: ActionSlice | None = None
        if self.validate_requests:
            if self._validator is not None:
                problems = self._validator.problems(
                    request.principal,
                    request.action,
                    request.resource,
                    request.context,
                    request.entities,
                )
                if problems:
                    return _invalid(problems)
                # only a request checked against the schema is decided on its action's slice
                part = self._slices.get(request.action) if self._slices is not None else None
            else:
                schema = self.policies.schema
        try:
            text = json.dumps(list(request.entities))
            entities = text if schema is not None else self._entities(text)
            result = self._authorize(request, self.policies.policy_set, entities, schema, part)
        except (TypeError, ValueError) as exc:  # not JSON, or not Cedar: refuse, never guess
            return _invalid((str(exc),))
        errors = tuple(str(e) for e in result.diagnostics.errors)
        matched = tuple(self.policies.ordered(result.diagnostics.reasons))
        if errors and all(e.startswith(_CEDAR_INVALID) for e in errors):
            return _invalid(errors)
        if errors or result.decision is cedarpy.Decision.NoDecision:
            return PolicyDecision(Effect.DENY, (), errors or ("no decision",), matched)
        if result.allowed:
            return PolicyDecision(Effect.ALLOW, matched, (), matched)
        hard = tuple(m for m in matched if m.effect == "forbid" and not m.soft)
        soft = tuple(m for m in matched if m.soft)
        if hard:
            return PolicyDecision(Effect.DENY, hard + soft, (), matched)
        if soft and not self._permitted_without(request, schema, entities, part):
            return PolicyDecision(Effect.DENY, (), (), matched)  # nothing permits it anyway
        confirms = tuple(m for m in soft if m.confirm)
        if confirms:  # the user confirms first; a person decides what escalates after that
            return PolicyDecision(Effect.CONFIRM, soft, (), matched)
        if soft:
            return PolicyDecision(Effect.ESCALATE, soft, (), matched)
        return PolicyDecision(Effect.DENY, (), (), matched)  # nothing permits it

    @staticmethod
    def _authorize(
        request: PolicyRequest,
        policy_set: cedarpy.PolicySet,
        entities: str | cedarpy.Entities,
        schema: cedarpy.Schema | None,
        part: ActionSlice | None,
        hard: bool = False,
    ) -> cedarpy.AuthzResult:
        """Cedar's answer for `policy_set` (or, given `hard`, the set without its soft forbids),
        from the action's slice where there is one and it answers without error."""
        sliced = (part.hard_set if hard else part.policy_set) if part is not None else None
        if part is not None and sliced is not None:
            try:
                context = part.context(request.context)
                result = cedarpy.is_authorized(request.cedar(context), sliced, entities)
            except (TypeError, ValueError):
                result = None
            if (
                result is not None
                and not result.diagnostics.errors
                and result.decision is not cedarpy.Decision.NoDecision
            ):
                return result
        # an error or a refusal is reported as the whole set meets it, in its words
        return cedarpy.is_authorized(request.cedar(), policy_set, entities, schema=schema)

    def _entities(self, text: str) -> cedarpy.Entities:
        """The schema's actions plus the entities `text` holds (ValueError if Cedar refuses
        them), parsed once for as long as the text stays among the most recently used."""
        with self._parsed_lock:
            found = self._parsed.get(text)
            if found is not None:
                self._parsed.move_to_end(text)
                return found
        found = self._actions.with_added_json_str(text)
        with self._parsed_lock:
            self._parsed[text] = found
            while len(self._parsed) > PARSED_ENTITY_SETS:
                self._parsed.popitem(last=False)
        return found

    def _permitted_without(
        self,
        request: PolicyRequest,
        schema: cedarpy.Schema | None,
        entities: str | cedarpy.Entities,
        part: ActionSlice | None,
    ) -> bool:
        """Whether a permit allows the request once its soft forbids (@escalate, @confirm) are
        set aside: an approval or a confirmation can lift a forbid, never grant a permit."""
        hard_set = self.policies.hard_set
        if hard_set is None:
            return False
        try:
            result = self._authorize(request, hard_set, entities, schema, part, hard=True)
        except (TypeError, ValueError):
            return False
        return bool(result.allowed) and not result.diagnostics.errors
