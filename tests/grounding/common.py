"""Helpers the grounding tests share."""

from __future__ import annotations

from tether.core.guard import GuardContext
from tether.core.types import Agent, Evidence, Principal


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
