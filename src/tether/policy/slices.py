"""Per action, the part of a policy set a request of that action can reach: the policies whose
action scope admits it, and the context attributes those policies read.

Cedar evaluates a policy's conditions only once its scope matches, and reads from the context
only the attributes a condition names; so a request decided against its action's slice, with
only those attributes, gets the decision the whole set gives with the whole context. On the
retail desk Cedar then takes a third of the time: half of it went to parsing context that no
policy of the action reads, a fifth to policies whose scope cannot match.

The reading is of the policies' typed nodes (`cedarpy.pst`) and fails safe: a policy that uses
`context` other than by naming one of its attributes (`context.a`, `context has a`) keeps the
whole context, an action scope it does not recognise admits every action, and a set it cannot
read (templates, a node it does not model) is not sliced at all. An attribute left out must
still be one Cedar would have parsed, since a context it refuses is an invalid request: an
extension value is never left out, and a string or an entity id left out is checked for text
Cedar's JSON reader refuses (a lone surrogate); where one holds such text the whole context
goes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import cedarpy
from cedarpy import pst

from tether.policy.schema import CedarType, PolicySchema
from tether.policy.source import LoadedPolicies

Uid = tuple[str, str]
Parses = Callable[[Any], bool]
_CONTEXT = pst.Var("context")
_LEAVES = (str, int, type(None))  # the values inside a node that hold no expression


@dataclass(frozen=True)
class ActionSlice:
    """The policies a request of one action can reach, and the context attributes they read.

    `keep` is None where some policy reads the context as a whole; `unread` pairs each left-out
    attribute that holds text with a check that Cedar's reader would take that text.
    """

    action: str
    policy_set: cedarpy.PolicySet
    hard_set: cedarpy.PolicySet | None  # the slice of the set without its soft forbids
    policy_ids: frozenset[str]
    keep: frozenset[str] | None
    unread: tuple[tuple[str, Parses], ...] = ()

    def context(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        """The part of a schema-valid context this slice's policies can read; the whole of it
        when they read it as a whole or a left-out attribute holds text Cedar would refuse."""
        if self.keep is None:
            return context
        for name, parses in self.unread:
            if name in context and not parses(context[name]):
                return context
        return {k: v for k, v in context.items() if k in self.keep}


class PolicySlices:
    """The slices of one policy set by action, each built on first use.

    Slicing needs the schema as plain types (to know which attributes may hold text) and the
    action groups (for `action in`); without either, or for a set it cannot read, `get` gives
    None and the engine evaluates the whole set.
    """

    def __init__(
        self, policies: LoadedPolicies, actions: cedarpy.Entities, schema: PolicySchema
    ) -> None:
        self._policies, self._actions, self._schema = policies, actions, schema
        self._slices: dict[str, ActionSlice | None] = {}
        self._lock = threading.Lock()
        self._read = False  # the set is read on the first request, not when an engine loads
        self._static: dict[str, pst.Template] | None = None
        self._hard: dict[str, pst.Template] | None = None
        self._ancestors: dict[Uid, frozenset[Uid]] = {}

    def get(self, action: str) -> ActionSlice | None:
        """The slice for an action the schema declares, None where the set is not sliced."""
        if action in self._slices:
            return self._slices[action]
        with self._lock:
            if action not in self._slices:
                self._slices[action] = self._build(action)
            return self._slices[action]

    def _read_set(self) -> None:
        self._read = True
        policies = self._policies
        try:
            static = _static(policies.policy_set)
            self._hard = _static(policies.hard_set) if policies.hard_set is not None else None
            self._ancestors = _ancestors(self._actions)
        except (ValueError, TypeError, KeyError):  # a set or a graph this reading cannot follow
            return
        self._static = static

    def _build(self, action: str) -> ActionSlice | None:
        if not self._read:
            self._read_set()
        shape = self._schema.actions.get(action)
        if self._static is None or shape is None:
            return None
        uid = ("Action", action)
        groups = self._ancestors.get(uid, frozenset())
        chosen = {k: p for k, p in self._static.items() if admits(p.action, uid, groups)}
        hard = (
            {k: p for k, p in self._hard.items() if admits(p.action, uid, groups)}
            if self._hard is not None
            else None
        )
        found = [context_reads(p) for p in (*chosen.values(), *(hard or {}).values())]
        try:
            policy_set = _policy_set(chosen)
            hard_set = _policy_set(hard) if hard is not None else None
        except ValueError:
            return None
        if any(names is None for names in found):  # some policy reads the context as a whole
            return ActionSlice(action, policy_set, hard_set, frozenset(chosen), None)
        reads = {name for names in found if names is not None for name in names}
        unread: list[tuple[str, Parses]] = []
        for name, attr in shape.context.attrs.items():
            if name in reads:
                continue
            if _has_extension(attr.type):  # its text is parsed by an extension function
                reads.add(name)
                continue
            parses = _text_parses(attr.type)
            if parses is not None:
                unread.append((name, parses))
        return ActionSlice(
            action, policy_set, hard_set, frozenset(chosen), frozenset(reads), tuple(unread)
        )


def context_reads(node: object) -> frozenset[str] | None:
    """The context attributes `node` names (`context.a`, `context has a`, `context has a.b`);
    None when it uses `context` any other way or holds a value this walk does not know."""
    names: set[str] = set()
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, pst.GetAttr) and item.base == _CONTEXT:
            names.add(item.attr)
        elif isinstance(item, pst.HasAttr) and item.base == _CONTEXT:
            names.add(item.attrs[0])
        elif isinstance(item, pst.Var):
            if item.name == _CONTEXT.name:
                return None
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, tuple):
            stack.extend(item)
        elif is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in fields(item))
        elif not isinstance(item, _LEAVES):
            return None
    return frozenset(names)


def admits(scope: object, action: Uid, groups: frozenset[Uid]) -> bool:
    """Whether an action scope can match `action`, a member of `groups` (transitively); a
    scope this reading does not recognise admits every action."""
    if isinstance(scope, pst.ActionEq):
        return _uid(scope.entity) == action
    if isinstance(scope, pst.ActionIn):
        return any(_uid(e) == action or _uid(e) in groups for e in scope.entities)
    return True


def _uid(uid: pst.EntityUid) -> Uid:
    return str(uid.type), uid.id


def _static(policy_set: cedarpy.PolicySet) -> dict[str, pst.Template]:
    nodes = policy_set.to_pst()
    if nodes.templates or nodes.template_links:
        raise ValueError("a set with templates is not sliced")
    return dict(nodes.static_policies)


def _policy_set(policies: dict[str, pst.Template]) -> cedarpy.PolicySet:
    return cedarpy.PolicySet.from_pst(pst.PolicySet({}, policies, ()))


def _ancestors(actions: cedarpy.Entities) -> dict[Uid, frozenset[Uid]]:
    """Every action's groups, transitively, from the entities Cedar built from the schema."""
    parents: dict[Uid, set[Uid]] = {}
    for item in json.loads(str(actions)):
        uid = item["uid"]
        parents[(uid["type"], uid["id"])] = {(p["type"], p["id"]) for p in item["parents"]}
    closed: dict[Uid, frozenset[Uid]] = {}
    for start in parents:
        seen: set[Uid] = set()
        todo = list(parents[start])
        while todo:
            uid = todo.pop()
            if uid not in seen:
                seen.add(uid)
                todo.extend(parents.get(uid, ()))
        closed[start] = frozenset(seen)
    return closed


def _has_extension(expected: CedarType) -> bool:
    if expected.kind == "Set":
        return expected.element is None or _has_extension(expected.element)
    if expected.kind == "Record":
        return any(_has_extension(a.type) for a in expected.attrs.values())
    return expected.kind not in ("Bool", "Long", "String", "Entity")


def _readable(text: str) -> bool:
    """Whether Cedar reads this string as JSON writes it: a lone surrogate it refuses."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_parses(expected: CedarType) -> Parses | None:
    """For a type that holds text (strings, entity ids), a check that all of a schema-valid
    value's text is readable; None for a type that holds none."""
    kind = expected.kind
    if kind == "String":
        return _readable
    if kind == "Entity":
        return lambda v: _readable(v["__entity"]["id"])
    if kind == "Set":
        assert expected.element is not None
        element = _text_parses(expected.element)
        return None if element is None else lambda v: all(map(element, v))
    if kind == "Record":
        checks = [(n, c) for n, a in expected.attrs.items() if (c := _text_parses(a.type))]
        if not checks:
            return None
        return lambda v: all(n not in v or c(v[n]) for n, c in checks)
    return None
