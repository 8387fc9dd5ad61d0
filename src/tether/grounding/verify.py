"""Claim verification of answers: every claim supported, contradicted or unsupported, with the
evidence spans that decided it, and a groundedness score per answer.

The deterministic stage (`tether.grounding.assess`) decides what it can: a value a record
contradicts, a number, time or name the evidence never states, a passage that does not say
what the answer attributes to it. A claim it cannot decide (its words only partly covered)
goes to the optional second stage, a `ClaimJudge`. `ClaimCheck` puts the verifier in the
answer guard chain.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Evidence, ModelTurn, TurnKind, Verdict
from tether.grounding.assess import ClaimAssessment, assess_answer
from tether.grounding.claims import Claim
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED
from tether.grounding.judge import ClaimJudge
from tether.grounding.sources import SourceIndex
from tether.models.base import CITATION

MAX_RECORD_CHARS = 4000


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim, why, and the evidence it rests on."""

    claim: Claim
    status: str  # supported | contradicted | unsupported
    reasons: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]  # spans: {source, start, end, text} or record facts
    decided_by: str  # "rules" or the judge's name

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (verdict facts, run records)."""
        return {
            "claim": self.claim.text,
            "span": [self.claim.start, self.claim.end],
            "status": self.status,
            "reasons": list(self.reasons),
            "evidence": list(self.evidence),
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class AnswerVerification:
    """Every claim of an answer, judged; groundedness is the supported share of claim text."""

    claims: tuple[ClaimResult, ...]

    @property
    def groundedness(self) -> float:
        """Characters in supported claims over characters in all claims (1.0 with none)."""
        total = sum(len(c.claim.text) for c in self.claims)
        held = sum(len(c.claim.text) for c in self.claims if c.status == SUPPORTED)
        return held / total if total else 1.0

    @property
    def contradicted(self) -> tuple[ClaimResult, ...]:
        return tuple(c for c in self.claims if c.status == CONTRADICTED)

    @property
    def unsupported(self) -> tuple[ClaimResult, ...]:
        return tuple(c for c in self.claims if c.status == UNSUPPORTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groundedness": round(self.groundedness, 4),
            "claims": [c.to_dict() for c in self.claims],
        }


def _spans(a: ClaimAssessment) -> tuple[dict[str, Any], ...]:
    spans: list[dict[str, Any]] = []
    if a.evidence is not None:
        e = a.evidence
        spans.append({"source": e.source, "start": e.start, "end": e.end, "text": e.text})
    for f in a.attributes:
        spans.append({"source": "record", "key": f.key, "value": f.value})
    return tuple(spans)


def _decisive(a: ClaimAssessment) -> bool:
    """True when the rules found something concrete, not just thin word overlap."""
    return a.contradicted or bool(
        a.unseen_numbers
        or a.unseen_times
        or a.unseen_names
        or any(f.status == UNSUPPORTED for f in a.attributes)
        or any(f.status == UNSUPPORTED for f in a.schedule)
    )


def index_evidence_items(evidence: Iterable[Evidence]) -> SourceIndex:
    """Index run evidence: JSON texts (tool outputs, records) as records, the rest as text."""
    texts: dict[str, str] = {}
    records: dict[str, Any] = {}
    for item in evidence:
        stripped = item.text.strip()
        if stripped[:1] in "{[":
            try:
                records[item.id] = json.loads(stripped)
                continue
            except ValueError:
                pass
        texts[item.id] = item.text
    return SourceIndex.build(texts, records)


def strip_citations(text: str) -> str:
    """The answer with `[kb:x#0]`-style citations blanked out, offsets unchanged."""
    return CITATION.sub(lambda m: " " * len(m.group(0)), text)


class ClaimVerifier:
    """Splits an answer into claims and judges each against the evidence.

    `judge` (off by default) decides claims the rules leave open: no decisive finding, and
    support below `judge_below` (the share of the claim's words in its best evidence
    sentence). Without a judge such a claim is unsupported when under MIN_COVERAGE.
    """

    def __init__(self, judge: ClaimJudge | None = None, *, judge_below: float = 0.8) -> None:
        self.judge = judge
        self.judge_below = judge_below

    def verify(self, answer: str, index: SourceIndex) -> AnswerVerification:
        """Judge every claim of `answer`; BAD_REQUEST when the answer has no text at all."""
        if not answer or not answer.strip():
            raise TetherError(ErrorCode.BAD_REQUEST, "the answer is empty: nothing to verify")
        results: list[ClaimResult] = []
        for a in assess_answer(strip_citations(answer), index):
            results.append(self._result(a, index))
        return AnswerVerification(tuple(results))

    def verify_evidence(self, answer: str, evidence: Iterable[Evidence]) -> AnswerVerification:
        """`verify` against run evidence (retrieved passages and tool outputs)."""
        return self.verify(answer, index_evidence_items(evidence))

    def _result(self, a: ClaimAssessment, index: SourceIndex) -> ClaimResult:
        reasons = tuple(a.explain())
        if self.judge is not None and not _decisive(a) and a.support < self.judge_below:
            verdict = self.judge.judge(a.claim.text, self._evidence_for(a, index))
            reason = (verdict.reason,) if verdict.reason else ()
            return ClaimResult(a.claim, verdict.status, reason, _spans(a), self.judge.name)
        return ClaimResult(a.claim, a.status, reasons, _spans(a), "rules")

    @staticmethod
    def _evidence_for(a: ClaimAssessment, index: SourceIndex) -> list[str]:
        passages = [s.text for _, s in index.align(a.terms, limit=3)]
        passages.extend(json.dumps(r, default=str)[:MAX_RECORD_CHARS] for r in index.records)
        return passages


ON_FAIL = ("refuse", "escalate", "revise")
DEFAULT_ON_FAIL = "revise"


def claims_on_fail(environ: Mapping[str, str] | None = None) -> str:
    """`TETHER_CLAIMS_ON_FAIL`, checked (default `revise`)."""
    env = os.environ if environ is None else environ
    value = env.get("TETHER_CLAIMS_ON_FAIL", "").strip().lower() or DEFAULT_ON_FAIL
    if value not in ON_FAIL:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"TETHER_CLAIMS_ON_FAIL must be one of {', '.join(ON_FAIL)}, not {value!r}",
        )
    return value


def _compact(text: str) -> str:
    """A claim as one line, with the blanks its citations left closed up."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))


def revision_note(failing: tuple[ClaimResult, ...]) -> str:
    """The message that sends an answer back to the model: each failing claim and why."""
    lines = [
        f"- {_compact(c.claim.text)!r}: {c.status}"
        + (f" ({'; '.join(c.reasons[:2])})" if c.reasons else "")
        for c in failing[:8]
    ]
    return (
        "Your answer was not sent to the customer. These claims are not backed by the evidence "
        "of this conversation:\n" + "\n".join(lines) + "\nAnswer again, stating only what the "
        "cited evidence says, and cite it."
    )


class ClaimCheck:
    """Answer check: deny an answer with a contradicted claim, or (by default) an unsupported one.

    The answer is checked against the evidence it cites, or against all of the run's evidence
    when it cites none. A run with no evidence at all is left to the citation check. `on_fail`
    says what a failing answer leads to: `refuse` (the default), `escalate` to a person, or
    `revise`: the verdict carries `facts["revise"]`, a note listing the failing claims, and
    the runtime gives the model one more turn with it (`escalate=True` is `on_fail="escalate"`).
    """

    name = "claims"

    def __init__(
        self,
        verifier: ClaimVerifier | None = None,
        *,
        deny_unsupported: bool = True,
        min_groundedness: float = 0.0,
        escalate: bool = False,
        on_fail: str | None = None,
        assertive: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        self.assertive = assertive
        mode = on_fail or ("escalate" if escalate else "refuse")
        if mode not in ON_FAIL:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"on_fail must be one of {', '.join(ON_FAIL)}"
            )
        self.verifier = verifier or ClaimVerifier()
        self.deny_unsupported = deny_unsupported
        self.min_groundedness = min_groundedness
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
            return Verdict.allow(self.name, checked=0, note="no evidence to check against")
        result = self.verifier.verify_evidence(text, evidence)
        facts: dict[str, Any] = {
            "groundedness": round(result.groundedness, 4),
            "checked": len(result.claims),
            "evidence": [e.id for e in evidence],
        }
        if result.contradicted:
            return self._fail(
                ErrorCode.CLAIM_CONTRADICTED, "contradicts", result.contradicted, facts
            )
        if self.deny_unsupported and result.unsupported:
            return self._fail(
                ErrorCode.CLAIM_UNSUPPORTED, "is not supported by", result.unsupported, facts
            )
        if result.groundedness < self.min_groundedness:
            failing = result.unsupported or result.contradicted
            return self._fail(ErrorCode.CLAIM_UNSUPPORTED, "is not supported by", failing, facts)
        return Verdict.allow(self.name, **facts)

    def _fail(
        self,
        code: ErrorCode,
        relation: str,
        failing: tuple[ClaimResult, ...],
        facts: dict[str, Any],
    ) -> Verdict:
        first = failing[0] if failing else None
        message = (
            f"{len(failing)} claim(s) of the answer: {first.claim.text[:120]!r} {relation} "
            f"the evidence ({'; '.join(first.reasons[:2]) or first.status})"
            if first is not None
            else f"the answer's groundedness is below {self.min_groundedness:.2f}"
        )
        if self.on_fail == "revise":
            facts = {**facts, "revise": revision_note(failing)}
        make = Verdict.escalate if self.escalate else Verdict.deny
        return make(self.name, code, message, failing=[c.to_dict() for c in failing], **facts)
