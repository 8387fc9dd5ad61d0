"""The `Agent` a release's agent entry describes: what a release check and a desk built from a
release both use, so a release that is stored is one whose agents can be built.

A dataclass does not check the types it is given, and a wrong one fails only later, mid-run (a
step limit of "many" breaks the first comparison with it); so each field is checked here, by
name, before the agent exists. Keys that are not an agent's fields are ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Limits


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _names(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _count(least: int) -> Callable[[Any], bool]:
    return lambda value: type(value) is int and value >= least


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _share(value: Any) -> bool:
    return value is None or (_positive(value) and value <= 1)


# field -> (whether a value is one it holds, what it holds, in words)
_AGENT: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_text, "text"),
    "instructions": (_text, "text"),
    "tools": (_names, "a list of names"),
    "grounding_sources": (_names, "a list of names"),
    "require_grounding": (_flag, "true or false"),
    "retrieval_k": (_count(0), "a whole number, 0 or more"),
    "scopes": (_names, "a list of names"),
    "allow_writes_without_policy": (_flag, "true or false"),
    "verifier_operating_point": (_share, "null or a number in (0, 1]"),
}
_LIMITS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_steps": (_count(1), "a whole number, 1 or more"),
    "max_seconds": (_positive, "a number of seconds above 0"),
}
_TUPLES = ("tools", "grounding_sources", "scopes")


def agent_from(data: Mapping[str, Any]) -> Agent:
    """The agent `data` (a release's agent entry) describes; RELEASE_SOURCE_INVALID naming the
    agent and the field whose value the agent cannot hold."""
    name = data.get("name")
    fields = {f.name for f in dataclasses.fields(Agent)}
    values = {k: v for k, v in data.items() if k in fields}
    for key in ("name", "instructions", "tools"):
        if key not in values:
            raise _bad(name, f"{key} is missing")
    for key, (holds, wants) in _AGENT.items():
        if key in values and not holds(values[key]):
            raise _bad(name, f"{key} must be {wants}, not {_shown(values[key])}")
    for key in _TUPLES:
        if key in values:
            values[key] = tuple(values[key])
    if "limits" in values:
        values["limits"] = _limits(name, values["limits"])
    return Agent(**values)


def _limits(agent: Any, limits: Any) -> Limits:
    if not isinstance(limits, Mapping):
        raise _bad(agent, f"limits must be an object ({', '.join(_LIMITS)}), not {_shown(limits)}")
    unknown = sorted(str(k) for k in limits if k not in _LIMITS)
    if unknown:
        raise _bad(agent, f"limits: unknown {', '.join(unknown)} (known: {', '.join(_LIMITS)})")
    for key, (holds, wants) in _LIMITS.items():
        if key in limits and not holds(limits[key]):
            raise _bad(agent, f"limits.{key} must be {wants}, not {_shown(limits[key])}")
    return Limits(**limits)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(agent: Any, message: str) -> TetherError:
    return TetherError(ErrorCode.RELEASE_SOURCE_INVALID, f"agent {agent!r}: {message}")
