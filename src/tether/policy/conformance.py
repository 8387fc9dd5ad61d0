"""Whether a policy request conforms to the schema: its action, principal and resource types,
every context attribute (present, declared, of its type) and every entity it carries.

Each action's context type and each entity type's attributes are compiled once into checks
that only build a message when something is wrong, so a well-formed request costs a few
microseconds. Values are checked in Cedar's explicit JSON forms only: an entity reference is
`{"__entity": {"type", "id"}}` and an extension value `{"__extn": {"fn", "arg"}}`. Cedar also
reads bare forms when it is handed the schema, but the engine evaluates without it, where a
bare `{"type", "id"}` is a record; so a bare form is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tether.policy.schema import (
    EXTENSIONS,
    LONG_MAX,
    LONG_MIN,
    CedarType,
    EntitySchema,
    PolicySchema,
)

Path = tuple[str, ...]
Found = list[tuple[Path, str]]  # (where inside the value, what is wrong there)
Fits = Callable[[Any], bool]
_ENTITY_KEYS = frozenset({"uid", "attrs", "parents", "tags"})


class RequestValidator:
    """Checks requests against one schema.

    Each type is compiled once into a predicate; only a request that fails one is walked again
    to name what is wrong, so a well-formed request pays for the predicates alone.
    """

    def __init__(self, schema: PolicySchema) -> None:
        self.schema = schema
        self._compiled: dict[int, Fits] = {}
        self._contexts = {name: self._fits(a.context) for name, a in schema.actions.items()}
        self._entities = {name: self._entity_fits(e) for name, e in schema.entities.items()}

    def problems(
        self,
        principal: tuple[str, str],
        action: str,
        resource: tuple[str, str],
        context: Mapping[str, Any],
        entities: Sequence[Mapping[str, Any]],
    ) -> list[str]:
        """Everything in the request that does not match the schema, each named; [] if none."""
        shape = self.schema.actions.get(action)
        if shape is None:
            return [f"action `{action}` is not declared in the schema"]
        if not shape.principals or not shape.resources:
            return [f"action `{action}` is a group: it declares no principal or resource"]
        out: list[str] = []
        for role, (kind, entity_id), allowed in (
            ("principal", principal, shape.principals),
            ("resource", resource, shape.resources),
        ):
            if kind not in allowed:
                expected = ", ".join(sorted(allowed))
                out.append(f"{role} type `{kind}` is not valid for action `{action}` ({expected})")
            elif not self._enumerated(kind, entity_id):
                out.append(f"the {role} `{kind}::{entity_id}` is not an id `{kind}` enumerates")
        context = context if type(context) is dict else dict(context)
        if not self._contexts[action](context):
            found: Found = []
            self._explain(context, shape.context, (), found)
            owner = f"for action `{action}`"
            out.extend(_say(path, what, "context attribute", owner) for path, what in found)
            if not found:  # the walk and the predicate disagree: refuse rather than guess
                out.append(f"the context for action `{action}` does not match the schema")
        seen: dict[tuple[str, str], Mapping[str, Any]] = {}
        for item in entities:
            uid = _uid(item.get("uid")) if type(item) is dict else None
            fits = self._entities.get(uid[0]) if uid is not None else None
            if uid is None or uid in seen or fits is None or not fits(uid[1], item):
                out.extend(self._entity_problems(uid, item, seen))
            seen[uid or ("", "")] = item
        return out

    def _enumerated(self, kind: str, entity_id: str) -> bool:
        known = self.schema.entities.get(kind)
        return known is None or known.choices is None or entity_id in known.choices

    # -- predicates, compiled once per type ------------------------------------------------

    def _fits(self, expected: CedarType) -> Fits:
        """A predicate for one type (a type object compiles once)."""
        compiled = self._compiled.get(id(expected))
        if compiled is None:
            compiled = self._compiled[id(expected)] = self._compile(expected)
        return compiled

    def _compile(self, expected: CedarType) -> Fits:
        kind = expected.kind
        if kind == "Record":
            return self._record(expected)
        if kind == "Set":
            assert expected.element is not None
            element = self._fits(expected.element)
            return lambda v: (type(v) is list or type(v) is tuple) and all(map(element, v))
        if kind == "Entity":
            return self._reference(expected.entity)
        return _SCALARS[kind]

    def _record(self, expected: CedarType) -> Fits:
        declared = frozenset(expected.attrs)
        required = frozenset(n for n, attr in expected.attrs.items() if attr.required)
        by_kind: dict[str, list[str]] = {"Bool": [], "Long": [], "String": []}
        others = []
        for name, attr in expected.attrs.items():
            if attr.type.kind in by_kind:
                by_kind[attr.type.kind].append(name)
            else:
                others.append((name, self._fits(attr.type)))
        bools, longs, strings = by_kind["Bool"], by_kind["Long"], by_kind["String"]

        def fits_record(value: Any) -> bool:
            # scalar attributes are tested inline: a call per attribute would double the cost;
            # an absent optional attribute reads as a default that fits
            if type(value) is not dict:
                return False
            keys = value.keys()
            if not required <= keys or not keys <= declared:
                return False
            get = value.get
            for name in bools:
                flag = get(name, True)
                if flag is not True and flag is not False:
                    return False
            for name in longs:
                number = get(name, 0)
                if type(number) is not int or not LONG_MIN <= number <= LONG_MAX:
                    return False
            for name in strings:
                if not isinstance(get(name, ""), str):
                    return False
            for name, check in others:  # noqa: SIM110 - a generator costs a third of the check
                if name in value and not check(value[name]):
                    return False
            return True

        return fits_record

    def _reference(self, target: str) -> Fits:
        known = self.schema.entities.get(target)
        choices = known.choices if known is not None else None

        def fits_reference(value: Any) -> bool:
            if type(value) is not dict or len(value) != 1:
                return False
            inner = value.get("__entity")
            return (
                type(inner) is dict
                and len(inner) == 2
                and inner.get("type") == target
                and type(inner.get("id")) is str
                and (choices is None or inner["id"] in choices)
            )

        return fits_reference

    def _entity_fits(self, declared: EntitySchema) -> Callable[[str, Mapping[str, Any]], bool]:
        attrs = self._fits(declared.attrs)
        tags = self._fits(declared.tags) if declared.tags is not None else None
        choices, allowed = declared.choices, declared.parents

        def fits(entity_id: str, item: Mapping[str, Any]) -> bool:
            if not item.keys() <= _ENTITY_KEYS or not attrs(item.get("attrs", {})):
                return False
            if choices is not None and entity_id not in choices:
                return False
            parents = item.get("parents")
            if parents is not None and (
                type(parents) is not list or not all(_parent_type(p) in allowed for p in parents)
            ):
                return False
            found = item.get("tags")
            return found is None or (
                type(found) is dict
                and (not found or (tags is not None and all(map(tags, found.values()))))
            )

        return fits

    # -- naming what is wrong, only for a request that failed ------------------------------

    def _explain(self, value: Any, expected: CedarType, path: Path, out: Found) -> None:
        """Append (path, problem) for each way `value` fails to be of type `expected`."""
        if expected.kind == "Record":
            if type(value) is not dict:
                out.append((path, f"must be a record, got {_describe(value)}"))
                return
            for name, attr in expected.attrs.items():
                if name in value:
                    self._explain(value[name], attr.type, (*path, name), out)
                elif attr.required:
                    out.append(((*path, name), "missing"))
            out.extend(
                ((*path, str(n)), "is not declared in the schema")
                for n in value
                if n not in expected.attrs
            )
        elif expected.kind == "Set" and (type(value) is list or type(value) is tuple):
            assert expected.element is not None
            for i, item in enumerate(value):
                self._explain(item, expected.element, (*path, f"[{i}]"), out)
        elif expected.kind == "Set" or not self._fits(expected)(value):
            explicit = type(value) is dict and value.keys() == {"__entity"}
            uid = _uid(value) if expected.kind == "Entity" and explicit else None
            if uid is not None and uid[0] == expected.entity:
                out.append((path, f"`{uid[1]}` is not an id `{uid[0]}` enumerates"))
                return
            what = f"a reference to {expected}" if expected.kind == "Entity" else str(expected)
            out.append((path, f"must be {what}, got {_describe(value)}"))

    def _entity_problems(
        self,
        uid: tuple[str, str] | None,
        item: Any,
        seen: Mapping[tuple[str, str], Mapping[str, Any]],
    ) -> list[str]:
        if uid is None:
            return [f"entity {_describe(item)} has no valid uid"]
        name = f'entity `{uid[0]}::"{uid[1]}"`'
        if uid in seen:
            return [f"{name} is given twice, differently"] if seen[uid] != item else []
        declared = self.schema.entities.get(uid[0])
        if declared is None:
            why = " (action entities come from the schema)" if uid[0] == "Action" else ""
            return [f"{name} has type `{uid[0]}`, which the schema does not declare{why}"]
        out: list[str] = []
        if not item.keys() <= _ENTITY_KEYS:
            out.append(f"{name} has unknown keys {sorted(set(item) - _ENTITY_KEYS)}")
        if not self._enumerated(*uid):
            out.append(f"{name} is not an id `{uid[0]}` enumerates")
        found: Found = []
        self._explain(item.get("attrs", {}), declared.attrs, (), found)
        out.extend(_say(path, what, "attribute", f"of {name}") for path, what in found)
        parents = item.get("parents")
        if parents is not None and type(parents) is not list:
            out.append(f"the parents of {name} must be a list, got {_describe(parents)}")
        for parent in parents if type(parents) is list else []:
            if _parent_type(parent) not in declared.parents:
                out.append(f"{name} may not have the parent {_describe(parent)}")
        tags = item.get("tags")
        if tags is not None and type(tags) is not dict:
            out.append(f"the tags of {name} must be a record, got {_describe(tags)}")
        elif tags and declared.tags is None:
            out.append(f"{name} has tags, which its type does not declare")
        elif tags and declared.tags is not None:
            found = []
            for key, value in tags.items():
                self._explain(value, declared.tags, (str(key),), found)
            out.extend(_say(path, what, "tag", f"of {name}") for path, what in found)
        return out or [f"{name} does not match the schema"]


def _say(path: Path, what: str, noun: str, owner: str) -> str:
    """One problem as a sentence: `missing context attribute `a.b` for action `x``."""
    if not path:
        return f"the {noun.split()[0]} {owner} {what}"
    dotted = ".".join(path).replace(".[", "[")
    if what == "missing":
        return f"missing {noun} `{dotted}` {owner}"
    return f"{noun} `{dotted}` {owner} {what}"


def _extension(function: str) -> Callable[[Any], bool]:
    def fits(value: Any) -> bool:
        extn = value.get("__extn") if type(value) is dict and len(value) == 1 else None
        return (
            type(extn) is dict
            and extn.keys() == {"fn", "arg"}
            and extn["fn"] == function
            and isinstance(extn["arg"], str)
        )

    return fits


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "Bool": lambda v: v is True or v is False,
    "Long": lambda v: type(v) is int and LONG_MIN <= v <= LONG_MAX,
    "String": lambda v: isinstance(v, str),
    **{kind: _extension(function) for kind, function in EXTENSIONS.items()},
}


def _uid(value: Any) -> tuple[str, str] | None:
    """A uid in either JSON form Cedar takes for an entity's own uid and its parents."""
    if type(value) is dict and len(value) == 1 and "__entity" in value:
        value = value["__entity"]
    if type(value) is dict and len(value) == 2:
        kind, entity_id = value.get("type"), value.get("id")
        if type(kind) is str and type(entity_id) is str:
            return kind, entity_id
    return None


def _parent_type(value: Any) -> str | None:
    uid = _uid(value)
    return uid[0] if uid is not None else None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the Bool {str(value).lower()}"
    for python, name in ((int, "Long"), (float, "float"), (str, "string"), (list, "set")):
        if isinstance(value, python):
            return f"the {name} {value!r}"[:80]
    return "null" if value is None else repr(value)[:80]
