"""Helpers the grounding tests share."""

from __future__ import annotations

import json
from typing import Any

from tether.core.guard import GuardContext
from tether.core.types import Agent, Evidence, Principal
from tether.grounding import HARD_KINDS, GroundingPack, VerifierConfig
from tether.grounding.verifier import Verification


class NoTools:
    """A tool lookup that knows no tool: answer checks read evidence, not tools."""

    def get(self, name: str) -> None:
        return None


def context(evidence: list[Evidence], agent: Agent | None = None) -> GuardContext:
    """The guard context of an answer check over `evidence`."""
    return GuardContext(
        run_id="run-1",
        principal=Principal("sara_doe_496"),
        agent=agent or Agent("retail", "help", ()),
        tools=NoTools(),
        evidence={e.id: e for e in evidence},
    )


def strict() -> GroundingPack:
    """A strict pack that treats flipped polarity as a contradiction, as the retail desk does."""
    return GroundingPack(config=VerifierConfig(strict=True, hard=(*HARD_KINDS, "polarity")))


def on_record(answer: str, record: dict[str, Any]) -> Verification:
    """`answer` verified against one tool record."""
    evidence = [Evidence("tool:1", "tool:get_details", json.dumps(record))]
    return strict().verifier().verify_items(answer, evidence)


def on_text(answer: str, *passages: str) -> Verification:
    """`answer` verified against knowledge-base passages."""
    evidence = [Evidence(f"kb:{n}", f"kb:{n}", p) for n, p in enumerate(passages)]
    return strict().verifier().verify_items(answer, evidence)


def contradicted(v: Verification, kind: str) -> bool:
    """Whether a claim of `v` is contradicted by a check of `kind`."""
    return any(c.status == "contradicted" and kind in c.kinds for c in v.claims)
