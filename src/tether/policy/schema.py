"""The Cedar schema as plain values: each action's principal, resource and context types, and
each entity type's attributes, parents and tags.

Read once from the text cedarpy renders for a loaded schema (one canonical form), so that
every request can be checked in Python (`tether.policy.conformance`) and a binding can derive
values from the types (`neutral`, `shaped`). A construct this reader does not model
(namespaces, escaped names) raises `SchemaUnsupported`; the engine then leaves request
validation to Cedar, which is complete but slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cedarpy

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
PRIMITIVES = frozenset({"Bool", "Long", "String"})
PLACEHOLDER_ID = "?"  # the id of an entity that stands for "none": it is never supplied
EXTENSIONS = {"ipaddr": "ip", "decimal": "decimal", "datetime": "datetime", "duration": "duration"}
_TOKEN = re.compile(r'\s+|//[^\n]*|"(?:[^"\\]|\\.)*"|::|[A-Za-z_][A-Za-z0-9_]*|[{}\[\]<>:;,=?@()]')


class SchemaUnsupported(ValueError):
    """The schema uses a construct this module does not model."""


@dataclass(frozen=True)
class CedarType:
    """A Cedar type: `kind` is Bool, Long, String, an extension name, Entity, Set or Record."""

    kind: str
    entity: str = ""  # the entity type, for kind Entity
    element: CedarType | None = None  # for kind Set
    attrs: Mapping[str, Attribute] = field(default_factory=dict)  # for kind Record

    def __str__(self) -> str:
        if self.kind == "Entity":
            return f"entity {self.entity}"
        if self.kind == "Set":
            return f"Set<{self.element}>"
        if self.kind == "Record":
            return "record {" + ", ".join(self.attrs) + "}"
        return self.kind


@dataclass(frozen=True)
class Attribute:
    """One attribute of a record type: its type, and whether it must be present."""

    type: CedarType
    required: bool = True


EMPTY_RECORD = CedarType("Record")


@dataclass(frozen=True)
class EntitySchema:
    """One entity type: its attributes, the types its parents may have, its tags, its ids
    when it is an enumerated type."""

    name: str
    attrs: CedarType = EMPTY_RECORD
    parents: frozenset[str] = frozenset()
    tags: CedarType | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ActionSchema:
    """One action: the principal and resource types it applies to, and its context record."""

    name: str
    principals: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    context: CedarType = EMPTY_RECORD


@dataclass(frozen=True)
class PolicySchema:
    """A parsed Cedar schema: every entity type and action by name."""

    entities: Mapping[str, EntitySchema]
    actions: Mapping[str, ActionSchema]

    @classmethod
    def of(cls, schema: cedarpy.Schema) -> PolicySchema:
        """The model of a loaded schema (raises SchemaUnsupported)."""
        return parse_schema(str(schema))


# -- values of a type ------------------------------------------------------------------------


def neutral(expected: CedarType) -> Any:
    """The neutral value of a type: false, 0, "", [], a record of neutral required attributes,
    or a placeholder reference for an entity."""
    kind = expected.kind
    if kind == "Record":
        return {n: neutral(a.type) for n, a in expected.attrs.items() if a.required}
    if kind == "Entity":
        return {"__entity": {"type": expected.entity, "id": PLACEHOLDER_ID}}
    return _NEUTRAL[kind]() if kind in _NEUTRAL else {"__extn": _NEUTRAL_EXTENSIONS[kind]}


_NEUTRAL: dict[str, Callable[[], Any]] = {"Bool": bool, "Long": int, "String": str, "Set": list}
_NEUTRAL_EXTENSIONS = {
    "ipaddr": {"fn": "ip", "arg": "0.0.0.0"},
    "decimal": {"fn": "decimal", "arg": "0.0"},
    "datetime": {"fn": "datetime", "arg": "1970-01-01"},
    "duration": {"fn": "duration", "arg": "0ms"},
}


def shaped(value: Any, expected: CedarType) -> Any:
    """A Python value in the Cedar JSON form its type takes: an id string becomes a reference
    to an entity type, any collection a list for a set, nested records alike. What does not
    fit is left as it is, for the engine's validation to refuse."""
    kind = expected.kind
    if kind == "Entity" and isinstance(value, str):
        return {"__entity": {"type": expected.entity, "id": value}}
    if kind == "Set" and isinstance(value, list | tuple | set | frozenset):
        assert expected.element is not None
        items = [shaped(v, expected.element) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) and _sortable(items) else items
    if kind == "Record" and isinstance(value, Mapping):
        attrs = expected.attrs
        return {k: shaped(v, attrs[k].type) if k in attrs else v for k, v in value.items()}
    return value


def _sortable(items: list[Any]) -> bool:
    return all(isinstance(i, str) for i in items) or all(type(i) is int for i in items)


# -- parsing ---------------------------------------------------------------------------------


class _Tokens:
    """The schema's tokens, with one-token lookahead."""

    def __init__(self, text: str) -> None:
        pos, tokens = 0, []
        for match in _TOKEN.finditer(text):
            if match.start() != pos:
                raise SchemaUnsupported(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
            pos = match.end()
            token = match.group()
            if not token.isspace() and not token.startswith("//"):
                tokens.append(token)
        if pos != len(text):
            raise SchemaUnsupported(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
        self.items, self.i = tokens, 0

    def peek(self) -> str:
        return self.items[self.i] if self.i < len(self.items) else ""

    def after(self) -> str:
        """The token after the next one."""
        return self.items[self.i + 1] if self.i + 1 < len(self.items) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise SchemaUnsupported(f"expected {expected or 'a token'}, got {token!r}")
        self.i += 1
        return token

    def take_if(self, token: str) -> bool:
        if self.peek() == token:
            self.i += 1
            return True
        return False

    def name(self) -> str:
        token = self.take()
        if token.startswith('"'):
            if "\\" in token:
                raise SchemaUnsupported(f"escaped name {token}")
            return token[1:-1]
        if not (token[0].isalpha() or token[0] == "_"):
            raise SchemaUnsupported(f"expected a name, got {token!r}")
        return token

    def path(self) -> str:
        parts = [self.name()]
        # `A::B` continues a path; `Action::"x"` is an action reference, read by the caller
        while self.peek() == "::" and not self.after().startswith('"'):
            self.take("::")
            parts.append(self.name())
        return "::".join(parts)

    def names(self) -> list[str]:
        found = [self.name()]
        while self.take_if(","):
            found.append(self.name())
        return found

    def bracketed(self, item: Any) -> list[Any]:
        """One item, or `[item, ...]` (possibly empty)."""
        if not self.take_if("["):
            return [item()]
        found = []
        while not self.take_if("]"):
            found.append(item())
            self.take_if(",")
        return found


# An unresolved type: a name, or ("Set", element) or ("Record", {name: (type, required)}).
_Raw = Any


def _annotations(tokens: _Tokens) -> None:
    while tokens.take_if("@"):
        tokens.name()
        if tokens.take_if("("):
            tokens.take()
            tokens.take(")")


def _raw_type(tokens: _Tokens) -> _Raw:
    if tokens.peek() == "{":
        return _raw_record(tokens)
    name = tokens.path()
    if name in ("Set", "__cedar::Set") and tokens.take_if("<"):
        element = _raw_type(tokens)
        tokens.take(">")
        return ("Set", element)
    return name


def _raw_record(tokens: _Tokens) -> _Raw:
    tokens.take("{")
    attrs: dict[str, tuple[_Raw, bool]] = {}
    while not tokens.take_if("}"):
        _annotations(tokens)
        name = tokens.name()
        optional = tokens.take_if("?")
        tokens.take(":")
        attrs[name] = (_raw_type(tokens), not optional)
        if not tokens.take_if(","):
            tokens.take("}")
            break
    return ("Record", attrs)


def _declarations(tokens: _Tokens) -> Iterator[tuple[str, str, dict[str, Any]]]:
    while tokens.peek():
        _annotations(tokens)
        keyword = tokens.take()
        if keyword == "namespace":
            raise SchemaUnsupported("namespaces")
        if keyword == "type":
            name = tokens.name()
            tokens.take("=")
            yield "type", name, {"type": _raw_type(tokens)}
        elif keyword == "entity":
            names, decl = tokens.names(), _entity_declaration(tokens)
            for name in names:
                yield "entity", name, decl
        elif keyword == "action":
            names, decl = tokens.names(), _action_declaration(tokens)
            for name in names:
                yield "action", name, decl
        else:
            raise SchemaUnsupported(f"declaration {keyword!r}")
        tokens.take(";")


def _entity_declaration(tokens: _Tokens) -> dict[str, Any]:
    decl: dict[str, Any] = {"parents": [], "attrs": ("Record", {}), "tags": None, "choices": None}
    if tokens.take_if("enum"):
        decl["choices"] = tuple(tokens.bracketed(tokens.name))
        return decl
    if tokens.take_if("in"):
        decl["parents"] = tokens.bracketed(tokens.path)
    tokens.take_if("=")
    if tokens.peek() == "{":
        decl["attrs"] = _raw_record(tokens)
    if tokens.take_if("tags"):
        decl["tags"] = _raw_type(tokens)
    return decl


def _action_declaration(tokens: _Tokens) -> dict[str, Any]:
    decl: dict[str, Any] = {"principal": [], "resource": [], "context": None}

    def action_ref() -> str:
        first = tokens.path() if not tokens.peek().startswith('"') else tokens.name()
        if tokens.take_if("::"):
            return tokens.name()
        return first

    if tokens.take_if("in"):
        tokens.bracketed(action_ref)
    if tokens.take_if("appliesTo"):
        tokens.take("{")
        while not tokens.take_if("}"):
            key = tokens.take()
            tokens.take(":")
            if key in ("principal", "resource"):
                decl[key] = tokens.bracketed(tokens.path)
            elif key == "context":
                decl["context"] = _raw_type(tokens)
            else:
                raise SchemaUnsupported(f"appliesTo key {key!r}")
            if not tokens.take_if(","):
                tokens.take("}")
                break
    return decl


def parse_schema(text: str) -> PolicySchema:
    """A `PolicySchema` from Cedar schema text (raises SchemaUnsupported)."""
    found: dict[str, dict[str, dict[str, Any]]] = {"type": {}, "entity": {}, "action": {}}
    for keyword, name, decl in _declarations(_Tokens(text)):
        found[keyword][name] = decl
    common = {name: d["type"] for name, d in found["type"].items()}

    def resolve(raw: _Raw, depth: int = 0) -> CedarType:
        if depth > 64:
            raise SchemaUnsupported("types nest too deeply")
        if isinstance(raw, tuple) and raw[0] == "Set":
            return CedarType("Set", element=resolve(raw[1], depth + 1))
        if isinstance(raw, tuple):
            attrs = {k: Attribute(resolve(t, depth + 1), req) for k, (t, req) in raw[1].items()}
            return CedarType("Record", attrs=attrs)
        name = str(raw).removeprefix("__cedar::")
        if raw in common:
            return resolve(common[raw], depth + 1)
        if raw in found["entity"]:
            return CedarType("Entity", entity=raw)
        if name in PRIMITIVES or name in EXTENSIONS:
            return CedarType(name)
        raise SchemaUnsupported(f"unknown type {raw!r}")

    entities = {
        name: EntitySchema(
            name,
            resolve(d["attrs"]),
            frozenset(d["parents"]),
            resolve(d["tags"]) if d["tags"] is not None else None,
            d["choices"],
        )
        for name, d in found["entity"].items()
    }
    actions = {
        name: ActionSchema(
            name,
            frozenset(d["principal"]),
            frozenset(d["resource"]),
            resolve(d["context"]) if d["context"] is not None else EMPTY_RECORD,
        )
        for name, d in found["action"].items()
    }
    for shape in actions.values():
        unknown = (shape.principals | shape.resources) - set(entities)
        if unknown or shape.context.kind != "Record":
            raise SchemaUnsupported(f"action {shape.name!r} refers to {sorted(unknown)}")
    return PolicySchema(entities, actions)
