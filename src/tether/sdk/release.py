"""The release of a desk: its domain pack's configuration in force, as a content-addressed bundle.

Everything that shapes behaviour goes in: the agents (instructions, tools, limits, operating
points), the configured model, the tools' specs with their envelopes, the policy files and
schema, the verifier's settings, the knowledge the pack grounds on (a content hash of each
source's documents, ingested or not) and the pack's name and version. Code (premise and
answer checks) is identified by the pack's version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tether.access.canonical import canonical_json
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent
from tether.grounding.ingest import source_versions
from tether.models.factory import model_settings
from tether.release.bundle import Bundle, make_bundle
from tether.sdk.domain import Domain, DomainParts


def _text(path: Path) -> dict[str, str]:
    try:
        return {"name": path.name, "text": path.read_text(encoding="utf-8")}
    except (OSError, UnicodeDecodeError) as exc:
        raise TetherError(ErrorCode.POLICY_INVALID, f"{path}: cannot read: {exc}") from None


def desk_bundle(
    domain: Domain,
    parts: DomainParts,
    agents: Sequence[Agent],
    claims_on_fail: str,
    environ: Mapping[str, str] | None = None,
    model: Mapping[str, Any] | None = None,
) -> Bundle:
    """The bundle of a desk built for `domain` with `agents` and `model` (model settings;
    default: the model `environ` configures)."""
    policies: dict[str, Any] | None = None
    if domain.policies is not None:
        policies = {
            "schema": _text(domain.policies.schema),
            "files": [_text(p) for p in domain.policies.files],
        }
    knowledge = {
        source.uri: hashlib.sha256(
            canonical_json(source_versions(source)).encode("utf-8")
        ).hexdigest()
        for source in parts.knowledge
    }
    return make_bundle(
        domain={"name": domain.name, "version": domain.version},
        model=dict(model) if model is not None else model_settings(environ),
        agents=agents,
        tools=[tool.spec for tool in parts.tools],
        policies=policies,
        verifier={"pack": domain.grounding, "claims_on_fail": claims_on_fail},
        knowledge=knowledge,
    )
