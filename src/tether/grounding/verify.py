"""The grounding verifier in the answer guard chain: `ClaimCheck`.

Every proposed answer is verified by `tether.grounding.verifier.Verifier` (the same verifier
`tether eval grounding` measures) against the evidence it cites, or all of the run's evidence
when it cites none. A flagged answer is refused, escalated or sent back for revision; the
verdict records every claim's status, what decided it and the evidence field behind it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import Message, ModelTurn, TurnKind, Verdict
from tether.grounding.on_fail import on_fail_mode
from tether.grounding.verdicts import MAX_FACT_CLAIMS
from tether.grounding.verifier import ClaimVerdict, Verifier


def _compact(text: str) -> str:
    """A claim as one line, with the blanks its citations left closed up."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))


def revision_note(failing: Sequence[ClaimVerdict]) -> str:
    """The message that sends an answer back to the model: each failing claim and why."""
    lines = [
        f"- {_compact(c.text)!r}: {c.status}"
        + (f" ({'; '.join(c.reasons[:2])})" if c.reasons else "")
        for c in failing[:8]
    ]
    return (
        "Your answer was not sent to the customer. These claims are not backed by the evidence "
        "of this conversation:\n" + "\n".join(lines) + "\nAnswer again, stating only what the "
        "cited evidence says, and cite it."
    )


class ClaimCheck:
    """Answer check: deny an answer the verifier flags (a contradicted claim, a claim the
    evidence cannot back in strict mode, or a score at the agent's operating point).

    The answer is checked against the evidence it cites, or against all of the run's evidence
    when it cites none. A run with no evidence at all is left to the citation check, and the
    verdict says so. `on_fail` says what a flagged answer leads to: `refuse` (the default),
    `escalate` to a person, or `revise`: the verdict carries `facts["revise"]`, a note listing
    the failing claims, and the runtime gives the model one more turn with it.
    """

    name = "claims"

    def __init__(
        self,
        verifier: Verifier | None = None,
        *,
        escalate: bool = False,
        on_fail: str | None = None,
        assertive: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        self.assertive = assertive
        mode = on_fail_mode(on_fail or ("escalate" if escalate else "refuse"), "on_fail")
        self.verifier = verifier or Verifier()
        self.on_fail = mode
        self.escalate = mode == "escalate"

    def __call__(self, ctx: GuardContext, turn: ModelTurn) -> Verdict:
        if turn.kind is not TurnKind.ANSWER or not turn.text.strip():
            return Verdict.allow(self.name, checked=0)
        # questions and greetings are not claims: only asserting sentences are verified
        text = turn.text if self.assertive is None else " ".join(self.assertive(turn.text))
        if not text.strip():
            return Verdict.allow(self.name, checked=0, note="the reply asserts nothing")
        cited = [ctx.evidence[c] for c in turn.citations if c in ctx.evidence]
        evidence = cited or list(ctx.evidence.values())
        if not evidence:
            return Verdict.allow(
                self.name,
                checked=0,
                verification_code="EVIDENCE_EMPTY",
                note="no evidence to check against",
            )
        result = self.verifier.verify_items(
            text,
            evidence,
            operating_point=ctx.agent.verifier_operating_point,
            question=asked(ctx.messages),
        )
        facts: dict[str, Any] = {
            **result.to_dict(),
            "checked": len(result.claims),
            "evidence": [e.id for e in evidence],
        }
        if result.judge_records:
            facts["judge"] = list(result.judge_records)
        if not result.flagged:
            return Verdict.allow(self.name, **facts)
        failing = result.failing
        code = ErrorCode.CLAIM_CONTRADICTED if result.contradicted else ErrorCode.CLAIM_UNSUPPORTED
        first = failing[0] if failing else None
        if first is not None:
            relation = "contradicts" if first.status == "contradicted" else "is not supported by"
            message = (
                f"{len(failing)} claim(s) of the answer: {first.text[:120]!r} {relation} "
                f"the evidence ({'; '.join(first.reasons[:2]) or first.status})"
            )
        elif result.code is not None:
            message = f"the answer could not be verified: {result.code} ({'; '.join(result.problems[:1])})"
        else:
            message = (
                f"the answer's verification score {result.score:.2f} reaches the operating "
                f"point {result.operating_point:.2f}"
            )
        facts["failing"] = [c.to_dict() for c in failing[:MAX_FACT_CLAIMS]]
        if self.on_fail == "revise":
            facts["revise"] = revision_note(failing) if failing else revision_note(result.claims)
        make = Verdict.escalate if self.escalate else Verdict.deny
        return make(self.name, code, message, **facts)


def asked(messages: Sequence[Message]) -> str:
    """What the customer last said, the question an answer is read against: its referents
    ("your Mastercard") and its case, never support for what the answer claims."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "")
