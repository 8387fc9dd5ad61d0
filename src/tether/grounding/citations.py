"""The answer check: an answer must cite evidence this run actually saw."""

from __future__ import annotations

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import ModelTurn, Verdict


class CitationCheck:
    """Where the agent requires grounding, an answer cites at least one known evidence id,
    and never an id the run did not retrieve or produce."""

    name = "citations"

    def __call__(self, ctx: GuardContext, turn: ModelTurn) -> Verdict:
        unknown = [c for c in turn.citations if c not in ctx.evidence]
        if unknown:
            return Verdict.deny(
                self.name,
                ErrorCode.ANSWER_UNGROUNDED,
                f"the answer cites evidence this run never saw: {', '.join(unknown)}",
                unknown=unknown,
            )
        if ctx.agent.require_grounding and not turn.citations:
            return Verdict.deny(
                self.name,
                ErrorCode.ANSWER_UNGROUNDED,
                "the answer cites no evidence, and this agent requires grounded answers",
            )
        return Verdict.allow(self.name, cited=list(turn.citations))
