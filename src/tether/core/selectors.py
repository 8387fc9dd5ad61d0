"""Resource selectors: paths into a tool call's arguments that name the resources it touches.

Grammar (no spaces, no indices):

    selector := segment ("." segment)*
    segment  := name "[]"*
    name     := [A-Za-z0-9_-]+

`order_id` is a top-level argument, `booking.customer_id` a field of an object argument,
`items[]` every element of a list, and `legs[].passengers[].id` nests both. A selector is
parsed once (`parse_selector` caches), checked against the tool's JSON input schema at
registration (`check_resources`), and evaluated against each call's arguments (`extract`).

Evaluation is deliberately narrow: a missing key, a None, or a value of
the wrong shape on the way yields nothing (a missing resource is the tool's NOT_FOUND, and
the schema check, which runs first in the guard chain, rejects wrong shapes). At the end of
the path, strings are ids as given and integers (not booleans) are ids in their decimal form,
so a tool that takes numeric ids is still checked; any other value yields nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, NoReturn

from tether.core.errors import ErrorCode, TetherError

EACH: Final = "[]"  # the list step; unambiguous, as names cannot contain brackets
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_ID_TYPES: Final = frozenset({"string", "integer"})


@dataclass(frozen=True, slots=True)
class Found:
    """One id found in the arguments, and the concrete path to it (`items[2].id`)."""

    where: str
    value: str


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector: its text and its steps (argument/field names, or `EACH`)."""

    text: str
    steps: tuple[str, ...]

    def extract(self, arguments: Mapping[str, Any]) -> list[Found]:
        """Every id at this path in `arguments`, in document order. Any JSON shape is read
        without error; only an integer too long to print in decimal raises (ValueError)."""
        frontier: list[tuple[Any, str]] = [(arguments, "")]
        for step in self.steps:
            following: list[tuple[Any, str]] = []
            for value, where in frontier:
                if step == EACH:
                    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                        following.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
                elif isinstance(value, Mapping) and value.get(step) is not None:
                    following.append((value[step], f"{where}.{step}" if where else step))
            frontier = following
        found = ((as_id(value), where) for value, where in frontier)
        return [Found(where, ident) for ident, where in found if ident is not None]


def as_id(value: Any) -> str | None:
    """The id a value stands for: a string as is, an integer in decimal, anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # True is not resource 1
        return str(value)
    return None


@lru_cache(maxsize=1024)
def parse_selector(text: str) -> Selector:
    """Parse a selector; a malformed one raises CONFIG_INVALID naming it and the position."""
    if not isinstance(text, str):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"resource selector {text!r} is not a string")
    steps: list[str] = []
    i, n = 0, len(text)
    while True:
        start = i
        while i < n and text[i] in _NAME_CHARS:
            i += 1
        if i == start:
            _malformed(text, i, "expected an argument or field name")
        steps.append(text[start:i])
        while text.startswith(EACH, i):
            steps.append(EACH)
            i += len(EACH)
        if i == n:
            return Selector(text, tuple(steps))
        if text[i] != ".":
            _malformed(text, i, f"unexpected {text[i]!r} (only '.' and '[]' join names)")
        i += 1


def _malformed(text: str, position: int, problem: str) -> NoReturn:
    raise TetherError(
        ErrorCode.CONFIG_INVALID,
        f"resource selector {text!r} is malformed at position {position}: {problem}",
        {"selector": text, "position": position},
    )


def check_resources(tool: str, resources: Mapping[str, str], schema: Mapping[str, Any]) -> None:
    """Each selector parses and names a value of the input schema that can hold an id, and
    each kind is a non-empty string; otherwise CONFIG_INVALID, naming the tool and selector."""
    for text, kind in resources.items():
        try:
            selector = parse_selector(text)
        except TetherError as exc:
            raise TetherError(exc.code, f"tool {tool}: {exc.message}", exc.details) from None
        if not isinstance(kind, str) or not kind:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"tool {tool}: resource selector {text!r} needs a non-empty kind, not {kind!r}",
                {"selector": text},
            )
        problem = schema_problem(selector, schema)
        if problem:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"tool {tool}: resource selector {text!r} {problem}",
                {"selector": text},
            )


def schema_problem(selector: Selector, schema: Mapping[str, Any]) -> str:
    """Why `selector` names no id-holding value of the JSON `schema`, or "" when it does."""
    current = _branches(schema, schema)
    walked = ""
    for step in selector.steps:
        following: list[Mapping[str, Any]] = []
        for branch in current:
            for child in _children(branch, step):
                following.extend(_branches(child, schema))
        if not following:
            where = f" of {walked}" if walked else ""
            if step == EACH:
                return f"steps into {walked} as a list, but the schema says it is not one"
            return f"names {step!r}, which is not an argument or typed field{where}"
        walked = f"{walked}{step}" if step == EACH or not walked else f"{walked}.{step}"
        current = following
    if not any(_holds_id(branch) for branch in current):
        return "ends at a value that is neither a string nor an integer"
    return ""


def _children(schema: Mapping[str, Any], step: str) -> list[Mapping[str, Any]]:
    """The sub-schemas one step reaches; an untyped or free-form value reaches none, since
    a path through it could not be checked against anything."""
    if step == EACH:
        found: list[Mapping[str, Any]] = []
        if isinstance(schema.get("items"), Mapping):
            found.append(schema["items"])
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            found.extend(p for p in prefix if isinstance(p, Mapping))
        return found
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and isinstance(properties.get(step), Mapping):
        return [properties[step]]
    return []


def _branches(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The concrete alternatives of a schema: references resolved, unions flattened."""
    out: list[Mapping[str, Any]] = []
    stack: list[tuple[Mapping[str, Any], int]] = [(schema, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 64:  # a reference cycle with no concrete schema in it
            continue
        alternatives = [
            alt
            for key in ("anyOf", "oneOf", "allOf")
            for alt in node.get(key) or ()
            if isinstance(alt, Mapping)
        ]
        target = _resolve(node.get("$ref"), root)
        if target is not None:
            alternatives.append(target)
        stack.extend((alt, depth + 1) for alt in reversed(alternatives))
        out.append(node)  # siblings of $ref/anyOf may still carry type or properties
    return out


def _resolve(ref: Any, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema a local `#/...` reference points to, or None."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")  # JSON pointer escapes
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def _holds_id(schema: Mapping[str, Any]) -> bool:
    """The value may be a string or an integer (or is untyped, as a bare `Any` argument is)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind in _ID_TYPES
    if isinstance(kind, list):
        return bool(_ID_TYPES.intersection(kind))
    if "const" in schema:
        return as_id(schema["const"]) is not None
    if isinstance(schema.get("enum"), list):
        return any(as_id(v) is not None for v in schema["enum"])
    structural = ("properties", "items", "prefixItems", "additionalProperties")
    combinators = ("anyOf", "oneOf", "allOf", "$ref", "not")
    return not any(k in schema for k in (*structural, *combinators))
