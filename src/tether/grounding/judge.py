"""The second stage of claim verification: a judge for claims the rules cannot decide.

`ClaimJudge` is the seam: an NLI model, or the configured chat model through `ModelClaimJudge`.
The verifier asks a judge only about claims whose deterministic checks found nothing decisive
(no contradicted value, no unseen number or name) but whose wording the evidence covers only
in part. No judge is configured by default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Agent, Message
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED
from tether.models.base import ModelAdapter, ModelRequest

STATUSES = (SUPPORTED, CONTRADICTED, UNSUPPORTED)
MAX_EVIDENCE_CHARS = 6000

JUDGE_INSTRUCTIONS = (
    "You check one claim against evidence. Answer with a JSON object "
    '{"verdict": "supported" | "contradicted" | "unsupported", "reason": "<one sentence>"}. '
    "supported: the evidence states it or directly implies it. contradicted: the evidence "
    "states otherwise. unsupported: the evidence does not say. Judge only by the evidence, "
    "never by what you know."
)
JUDGE_AGENT = Agent(name="claim-judge", instructions=JUDGE_INSTRUCTIONS, tools=())
_WORD = re.compile(r"\b(supported|contradicted|unsupported)\b", re.IGNORECASE)


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's reading of one claim."""

    status: str  # supported | contradicted | unsupported
    reason: str = ""


class ClaimJudge(Protocol):
    """Decides whether evidence supports, contradicts or is silent on a claim."""

    name: str

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """The verdict on `claim` given the evidence passages (best first)."""
        ...


def judge_prompt(claim: str, evidence: Sequence[str]) -> str:
    """The user message: numbered evidence, then the claim."""
    parts: list[str] = []
    budget = MAX_EVIDENCE_CHARS
    for number, passage in enumerate(evidence, start=1):
        if budget <= 0:
            break
        text = passage[:budget]
        budget -= len(text)
        parts.append(f"[{number}] {text}")
    body = "\n\n".join(parts) if parts else "(no evidence)"
    return f"Evidence:\n{body}\n\nClaim: {claim}\n\nVerdict as JSON:"


def parse_verdict(text: str) -> JudgeVerdict:
    """Read a verdict from JSON, or from the first verdict word in free text."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and str(data.get("verdict", "")).lower() in STATUSES:
            return JudgeVerdict(str(data["verdict"]).lower(), str(data.get("reason", "")))
    match = _WORD.search(text)
    if match is None:
        raise TetherError(
            ErrorCode.MODEL_BAD_OUTPUT,
            f"the claim judge gave no verdict: {text[:120]!r}",
        )
    return JudgeVerdict(match.group(1).lower(), text.strip()[:300])


class ModelClaimJudge:
    """The configured model (any `ModelAdapter`) as a judge, one request per claim."""

    def __init__(self, adapter: ModelAdapter) -> None:
        self.adapter = adapter
        self.name = f"model:{adapter.name}"
        self.calls = 0

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        """Ask the model; its failures surface as the adapter's MODEL_* errors."""
        request = ModelRequest(
            agent=JUDGE_AGENT,
            messages=(
                Message("system", JUDGE_INSTRUCTIONS),
                Message("user", judge_prompt(claim, evidence)),
            ),
            tools=(),
            turn=self.calls,
        )
        self.calls += 1
        return parse_verdict(self.adapter.propose(request).text)
