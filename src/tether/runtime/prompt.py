"""The system message a model sees: the agent's instructions and the evidence it may cite."""

from __future__ import annotations

from collections.abc import Sequence

from tether.core.types import Agent, Evidence

CITATION_RULES = (
    "Cite the evidence behind every statement as [id], using the ids below or the "
    "evidence_id of a tool result (e.g. [tool:1]). Say nothing the evidence does not support."
)


def system_prompt(agent: Agent, evidence: Sequence[Evidence]) -> str:
    parts = [agent.instructions.strip(), CITATION_RULES]
    if evidence:
        parts.append("Evidence:")
        parts.extend(f"[{e.id}] ({e.title or e.source}) {e.text.strip()}" for e in evidence)
    return "\n\n".join(parts)
