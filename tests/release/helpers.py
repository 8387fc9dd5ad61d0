"""Small bundles to change one part at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tests.sdk.packs.library import LIBRARIAN
from tether.core.types import RiskClass, ToolSpec
from tether.release import Bundle, make_bundle

SCHEMA = 'entity User;\naction "read" appliesTo { principal: User, resource: User };\n'
POLICY = '@id("read-own")\npermit (principal, action == Action::"read", resource);\n'
TOOL = ToolSpec(
    name="find_book",
    description="Find a book by title.",
    input_schema={"type": "object", "properties": {"title": {"type": "string"}}},
    output_schema={"type": "object"},
    risk=RiskClass.READ,
)


def bundle(
    *,
    instructions: str | None = None,
    model: Mapping[str, Any] | None = None,
    tools: Sequence[ToolSpec] | None = None,
    policy: str | None = None,
    policies: Sequence[tuple[str, str]] | None = None,
    verifier: Mapping[str, Any] | None = None,
    knowledge: Mapping[str, str] | None = None,
    domain: Mapping[str, str] | None = None,
) -> Bundle:
    agent = LIBRARIAN
    if instructions is not None:
        agent = dataclasses.replace(agent, instructions=instructions)
    files = list(policies) if policies is not None else [("library.cedar", policy or POLICY)]
    return make_bundle(
        domain=domain or {"name": "library", "version": "1.0.0"},
        model=model or {"adapter": "", "name": "", "parameters": {}},
        agents=[agent],
        tools=list(tools) if tools is not None else [TOOL],
        policies={
            "schema": {"name": "library.cedarschema", "text": SCHEMA},
            "files": [{"name": n, "text": t} for n, t in files],
        },
        verifier=verifier or {"operating_point": None},
        knowledge=knowledge or {},
    )
