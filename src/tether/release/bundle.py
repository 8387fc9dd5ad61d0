"""A release's bundle: everything that shapes an agent's behaviour, as one canonical JSON value.

The id is derived from the content alone (sha256 of its canonical JSON), so the same
configuration always has the same id, and any change to a prompt, a model parameter, a tool's
envelope, a policy, the verifier's operating point, the knowledge or the pack's version gives a
new one. Where it was made, by whom and why are kept beside the bundle, never inside it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any

from tether.access.canonical import canonical_json
from tether.core.errors import ErrorCode, TetherError
from tether.grounding.on_fail import on_fail_mode
from tether.release.agents import agent_from

FORMAT = 1
ID_PREFIX = "rel_"
ID_HEX = 16
# every bundle has exactly these parts (a part may be empty, never missing)
SECTIONS = ("format", "domain", "model", "agents", "tools", "policies", "verifier", "knowledge")


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses as objects, enums as their values, sets sorted.
    A callable or other opaque object is refused: a bundle holds settings, not code."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"a release cannot hold {value!r}")
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=canonical_json)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TetherError(
        ErrorCode.CONFIG_INVALID, f"a release cannot hold a {type(value).__name__} value"
    )


def digest_of(content: Mapping[str, Any]) -> str:
    """sha256 (hex) of the content's canonical JSON."""
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def release_id(digest: str) -> str:
    return ID_PREFIX + digest[:ID_HEX]


# what a release id looks like (a filter naming anything else can match no run)
ID_PATTERN = rf"^{ID_PREFIX}[0-9a-f]{{{ID_HEX}}}$"


def is_release_id(text: str) -> bool:
    """Whether `text` has the shape of a release id (`rel_` and 16 lowercase hex digits)."""
    return re.fullmatch(ID_PATTERN, text) is not None


@dataclass(frozen=True)
class Bundle:
    """The content of a release; `id` and `digest` follow from it."""

    content: Mapping[str, Any]

    @property
    def digest(self) -> str:
        return digest_of(self.content)

    @property
    def id(self) -> str:
        return release_id(self.digest)

    def to_json(self) -> str:
        return canonical_json(dict(self.content))

    @classmethod
    def from_json(cls, text: str) -> Bundle:
        return cls(check_content(json.loads(text)))

    def agent(self, name: str) -> Mapping[str, Any] | None:
        return next((a for a in self.content["agents"] if a.get("name") == name), None)


def make_bundle(
    *,
    domain: Mapping[str, str],
    model: Mapping[str, Any],
    agents: Sequence[Any],
    tools: Sequence[Any],
    policies: Mapping[str, Any] | None,
    verifier: Mapping[str, Any],
    knowledge: Mapping[str, str],
) -> Bundle:
    """A bundle from the parts in force (dataclasses and mappings; see `plain`). Agents are
    ordered by name and tools by name, so declaration order alone never changes the id."""
    content = {
        "format": FORMAT,
        "domain": plain(domain),
        "model": plain(model),
        "agents": sorted(plain(list(agents)), key=lambda a: str(a.get("name", ""))),
        "tools": sorted(plain(list(tools)), key=lambda t: str(t.get("name", ""))),
        "policies": _policies(plain(policies) if policies else {}),
        "verifier": plain(verifier),
        "knowledge": plain(knowledge),
    }
    return Bundle(check_content(content))


def _policies(policies: dict[str, Any]) -> dict[str, Any]:
    """Schema and files, the files ordered by name: a policy set's order does not change its
    decisions, so it does not change the id either."""
    files = sorted(policies.get("files") or [], key=lambda f: str(f.get("name", "")))
    return {"schema": policies.get("schema"), "files": files}


def _bad(message: str) -> TetherError:
    return TetherError(ErrorCode.RELEASE_SOURCE_INVALID, message)


def _not_finite(value: Any, path: str) -> tuple[str, float] | None:
    """Where in `value` a NaN or infinite number is (Python's json reads NaN, Infinity and
    1e999; canonical JSON, which the id is the hash of, holds none of them), and the number."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "the bundle", value
    if isinstance(value, dict):
        items: Any = value.items()
    else:
        items = enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _not_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def check_verifier(verifier: Mapping[str, Any], release: str = "") -> str | None:
    """What the release's failing claims lead to (None: not set, the environment's choice), as
    the runtime takes it from `verifier`; RELEASE_SOURCE_INVALID naming the field (and
    `release`, when given) if the runtime would not take it. `claims_on_fail` is the only
    field the runtime reads: the verifier itself is the pack's code, named by its version."""
    on_fail = verifier.get("claims_on_fail")
    if on_fail is None:
        return None
    where = f"release {release}: verifier.claims_on_fail" if release else "verifier.claims_on_fail"
    return on_fail_mode(on_fail, where, ErrorCode.RELEASE_SOURCE_INVALID)


def check_content(content: Any) -> dict[str, Any]:
    """The content if it has a bundle's shape and its agents can be built;
    RELEASE_SOURCE_INVALID naming the part if not."""
    if not isinstance(content, dict):
        raise _bad("a release bundle is a JSON object")
    missing = [s for s in SECTIONS if s not in content]
    extra = sorted(set(content) - set(SECTIONS))
    if missing or extra:
        raise _bad(f"a release bundle has exactly the parts {', '.join(SECTIONS)}"
                   f"{'; missing: ' + ', '.join(missing) if missing else ''}"
                   f"{'; unknown: ' + ', '.join(extra) if extra else ''}")  # fmt: skip
    if type(content["format"]) is not int or content["format"] != FORMAT:  # True == 1
        raise _bad(f"format {content['format']!r} is not supported (expected {FORMAT})")
    where = _not_finite(content, "")
    if where is not None:
        raise _bad(f"{where[0]} is {where[1]!r}, a number JSON cannot carry "
                   "(no NaN, Infinity or number beyond ±1.8e308)")  # fmt: skip
    for part in ("domain", "model", "policies", "verifier", "knowledge"):
        if not isinstance(content[part], dict):
            raise _bad(f"{part} must be an object")
    for part in ("agents", "tools"):
        items = content[part]
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("name"), str) and i["name"] for i in items
        ):
            raise _bad(f"{part} must be a list of objects, each with a name")
        names = [i["name"] for i in items]
        if len(set(names)) != len(names):
            raise _bad(f"{part}: names repeat: {sorted(names)}")
    if not content["agents"]:  # a desk built from it would have no agent to run a turn with
        raise _bad("agents: a release holds at least one agent")
    for agent in content["agents"]:
        if not isinstance(agent.get("instructions"), str):
            raise _bad(f"agent {agent['name']!r}: instructions must be text")
        agent_from(agent)  # what a desk built from the release builds, so it can be built
    check_verifier(content["verifier"])
    files = content["policies"].get("files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("text"), str)
        for f in files
    ):
        raise _bad("policies.files must be a list of {name, text}")
    if len({f["name"] for f in files}) != len(files):
        raise _bad("policies.files: file names repeat")
    schema = content["policies"].get("schema")
    if schema is not None and not (
        isinstance(schema, dict) and isinstance(schema.get("text"), str)
    ):
        raise _bad("policies.schema must be null or {name, text}")
    return content
