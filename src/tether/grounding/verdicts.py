"""What the grounding verifier decides and how it is configured: claim statuses, an agent's
operating point (`VerifierConfig`), the verdict on one claim (`ClaimVerdict`) and on an answer
(`Verification`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.grounding.assess import ClaimAssessment
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED, Finding
from tether.models.base import CITATION

UNCERTAIN = "uncertain"
STATUSES = (SUPPORTED, CONTRADICTED, UNSUPPORTED, UNCERTAIN)
FALLBACKS = (UNSUPPORTED, SUPPORTED)
# contradictions that flag an answer by themselves; the others only weigh in the score
CONTRADICTIONS = (
    "rule", "status", "count", "flag", "binding", "amount", "timing", "swap", "scope",
    "polarity", "judge",
)  # fmt: skip
HARD_KINDS = (
    "rule", "status", "count", "flag", "binding", "amount", "timing", "swap", "scope", "judge",
)  # fmt: skip
PROFILES = ("default", "listings")
MAX_FACT_CLAIMS = 40  # claims a verdict records
MAX_FACT_CHARS = 400  # characters of each text a verdict records
MAX_ANSWER_CHARS = 20_000
MAX_RECORD_CHARS = 4_000  # of each record shown to a judge


@dataclass(frozen=True)
class VerifierConfig:
    """An agent's operating point and what its verifier checks.

    `operating_point`: the calibrated score at which an answer is flagged (None: the packaged
    model's tuned point). `strict`: also flag an answer with a claim unsupported by a decisive
    finding (a number, name or timing the evidence lacks). `fallback`: what an uncertain claim
    becomes when no judge decides it. `profile`: `listings` adds the business-listing checks of
    the RAGTruth data-to-text records (opt-in, benchmark-specific).
    """

    operating_point: float | None = None
    strict: bool = False
    fallback: str = UNSUPPORTED
    profile: str = "default"
    judge_below: float = 0.8
    max_answer_chars: int = MAX_ANSWER_CHARS
    hard: tuple[str, ...] = HARD_KINDS

    def __post_init__(self) -> None:
        from tether.core.errors import ErrorCode, TetherError

        problems = []
        if self.operating_point is not None and not 0.0 < self.operating_point <= 1.0:
            problems.append("operating_point must be in (0, 1]")
        if self.fallback not in FALLBACKS:
            problems.append(f"fallback must be one of {', '.join(FALLBACKS)}")
        if self.profile not in PROFILES:
            problems.append(f"profile must be one of {', '.join(PROFILES)}")
        if not set(self.hard) <= set(CONTRADICTIONS):
            problems.append(f"hard kinds must be among {', '.join(CONTRADICTIONS)}")
        if self.max_answer_chars < 1:
            problems.append("max_answer_chars must be positive")
        if problems:
            raise TetherError(ErrorCode.CONFIG_INVALID, "verifier: " + "; ".join(problems))


@dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on one claim, what decided it, and the evidence field or span behind it."""

    text: str
    span: tuple[int, int]
    status: str
    decided_by: str  # rules | fallback | the judge's name
    field: str | None
    reasons: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    assessment: ClaimAssessment
    decisive: bool  # unsupported by a concrete finding, not only by thin wording
    hedged: bool = False
    kinds: tuple[str, ...] = ()  # the checks that contradicted it

    def hard(self, kinds: Sequence[str]) -> bool:
        """True when a contradiction of one of `kinds` decided this claim."""
        return self.status == CONTRADICTED and any(k in kinds for k in self.kinds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and bounded: long claims, reasons and evidence texts are cut."""
        return {
            "claim": _cut(self.text, MAX_FACT_CHARS),
            "span": list(self.span),
            "status": self.status,
            "reasons": [_cut(r, MAX_FACT_CHARS) for r in self.reasons[:4]],
            "evidence": [
                {k: _cut(v, MAX_FACT_CHARS) if isinstance(v, str) else v for k, v in e.items()}
                for e in self.evidence[:4]
            ],
            "decided_by": self.decided_by,
            "field": self.field,
        }


@dataclass(frozen=True)
class Verification:
    """Every claim's verdict, the calibrated score, and whether the answer is flagged."""

    claims: tuple[ClaimVerdict, ...]
    score: float
    flagged: bool
    operating_point: float
    code: str | None = None  # why the verifier could not check normally
    problems: tuple[str, ...] = ()
    judge_records: tuple[dict[str, Any], ...] = field(default=())

    @property
    def contradicted(self) -> tuple[ClaimVerdict, ...]:
        return tuple(c for c in self.claims if c.status == CONTRADICTED)

    @property
    def unsupported(self) -> tuple[ClaimVerdict, ...]:
        return tuple(c for c in self.claims if c.status in (UNSUPPORTED, UNCERTAIN))

    @property
    def failing(self) -> tuple[ClaimVerdict, ...]:
        """The claims that make the answer flagged, worst first."""
        bad = [*self.contradicted, *(c for c in self.unsupported if c.decisive)]
        if not bad and self.flagged:
            bad = list(self.unsupported)
        return tuple(bad)

    @property
    def groundedness(self) -> float:
        total = sum(len(c.text) for c in self.claims)
        held = sum(len(c.text) for c in self.claims if c.status == SUPPORTED)
        return held / total if total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "flagged": self.flagged,
            "operating_point": self.operating_point,
            "verification_code": self.code,
            "problems": list(self.problems),
            "groundedness": round(self.groundedness, 4),
            # the failing claims first, then the others, up to MAX_FACT_CLAIMS
            "claims": [c.to_dict() for c in self._shown()],
            "claims_total": len(self.claims),
        }

    def _shown(self) -> list[ClaimVerdict]:
        ranked = sorted(self.claims, key=lambda c: c.status == SUPPORTED)
        keep = {id(c) for c in ranked[:MAX_FACT_CLAIMS]}
        return [c for c in self.claims if id(c) in keep]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def strip_citations(text: str) -> str:
    """The answer with `[kb:x#0]`-style citations blanked out, offsets unchanged."""
    return CITATION.sub(lambda m: " " * len(m.group(0)), text)
