"""The answer check: an answer must cite evidence this run actually saw."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import ModelTurn, Verdict

Assertive = Callable[[str], Sequence[str]]  # the sentences of a text that assert facts


class CitationCheck:
    """Where the agent requires grounding, an answer cites at least one known evidence id,
    and never an id the run did not retrieve or produce. With `assertive`, a reply that
    asserts nothing (only questions and greetings) needs no citation."""

    name = "citations"

    def __init__(self, assertive: Assertive | None = None) -> None:
        self.assertive = assertive

    def __call__(self, ctx: GuardContext, turn: ModelTurn) -> Verdict:
        unknown = [c for c in turn.citations if c not in ctx.evidence]
        if unknown:
            return Verdict.deny(
                self.name,
                ErrorCode.ANSWER_UNGROUNDED,
                f"the answer cites evidence this run never saw: {', '.join(unknown)}",
                unknown=unknown,
            )
        if self.assertive is not None and not self.assertive(turn.text):
            return Verdict.allow(self.name, cited=list(turn.citations), asserts="nothing")
        if ctx.agent.require_grounding and not turn.citations:
            return Verdict.deny(
                self.name,
                ErrorCode.ANSWER_UNGROUNDED,
                "the answer cites no evidence, and this agent requires grounded answers",
            )
        return Verdict.allow(self.name, cited=list(turn.citations))
