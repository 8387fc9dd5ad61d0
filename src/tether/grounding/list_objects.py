"""The like objects of a record (an order's items, an account's payment methods), their short
values, and whether a clause mentions a value: what the binding, comparison and variant
checks read a record's lists through."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from tether.grounding.facts import flatten, value_regex

Sibling = tuple[str, dict[str, str], Mapping[str, Any]]  # path, short values by key, object


def objects(node: Any, path: str = "", depth: int = 0) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every object nested in a record (list items, mapping values) with its path."""
    if depth > 4:
        return
    if isinstance(node, Mapping):
        if path:
            yield path, node
        for key, value in node.items():
            yield from objects(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(node, list):
        for n, value in enumerate(node[:200]):
            yield from objects(value, f"{path}.{n}", depth + 1)


def leaf_values(obj: Mapping[str, Any]) -> dict[str, str]:
    """An object's short string values by their key path inside it ("options.color")."""
    out: dict[str, str] = {}
    for fact in flatten(obj):
        value = fact.value
        short_number = value.isdigit() and len(value) <= 3 if isinstance(value, str) else False
        if (
            isinstance(value, str)
            and 0 < len(value) <= 30
            and (short_number or not value.isdigit())
        ):
            out[".".join(fact.path)] = value.strip()
    return out


def mentions_value(clause: str, value: str) -> bool:
    """Whether the clause says the value, as `value_regex` reads it."""
    if not value.strip():
        return False
    lowered = clause.lower()
    # the value's pattern matches its first word as written: a clause without it has no match
    lead = _lead(value)
    return (not lead or lead in lowered) and value_regex(value).search(lowered) is not None


@lru_cache(maxsize=4096)
def _lead(value: str) -> str:
    """The first word of a value as `value_pattern` matches it, lower case ("" when none)."""
    return next((p for p in re.split(r"[\s-]+", value.lower()) if p), "")


def head_said(text: str, name: str, shorts: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether the text names an object by its name's last word, singular or plural ("the
    kettle", "the boots"), or by a short name the pack gives it (`shorts`, by full name in lower
    case: "the vacuum")."""
    words = name.lower().split()
    if not words:
        return False
    head = words[-1]
    said = [*shorts.get(" ".join(words), ()), *([head.removesuffix("s")] if len(head) >= 3 else [])]
    lowered = text.lower()
    return any(
        x in lowered and re.search(rf"\b{re.escape(x)}s?\b", lowered) is not None for x in said
    )
