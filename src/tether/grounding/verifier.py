"""The grounding verifier: the one the runtime runs on every answer and `tether eval grounding`
measures.

An answer is split into claims (greetings, questions and offers are not claims). Each claim is
checked against the evidence the run saw:

1. word level (`tether.grounding.assess`): numbers, clock times and names the evidence never
   states; how much of the claim's wording the evidence holds; a passage cited for it that does
   not say it;
2. meaning (`tether.grounding.meaning_checks`): polarity, closed-class swaps, timings, and
   record fields compared as fields;
3. a model stage, off by default, for the claims the rules leave *uncertain* only.

A claim is contradicted, unsupported (something checkable is missing), uncertain (only its
wording is thin) or supported, as the rules read it (`tether.grounding.claim_rules`). Uncertain
claims go to the judge when one is configured, else take the configured `fallback`. The answer
is flagged when a claim is contradicted, when (in `strict` mode) a claim is unsupported by a
decisive finding, or when the calibrated score (`tether.grounding.aggregate`) reaches the
operating point. Bad input — an empty or oversized answer, no usable evidence, a judge that
fails — yields a verification with a stable `code`, flagged: never a crash, never a silent
pass.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tether.core.types import Evidence
from tether.grounding.additions import asks_back
from tether.grounding.aggregate import Aggregate, features, packaged
from tether.grounding.assess import assess_answer
from tether.grounding.claim_rules import ClaimRulesMixin
from tether.grounding.claims import content_terms, is_request, numbers, split_claims
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED
from tether.grounding.fields import FieldMap, fields_from_schema
from tether.grounding.judge import ClaimJudge, FailSafeJudge, ModelClaimJudge, kept_verdict
from tether.grounding.meaning import DEFAULT_VOCABULARY, Vocabulary
from tether.grounding.text_forms import mixed_script, plain_text, steps_on_lines
from tether.grounding.verdicts import (
    CONTRADICTIONS,
    FALLBACKS,
    HARD_KINDS,
    MAX_ANSWER_CHARS,
    MAX_RECORD_CHARS,
    PROFILES,
    STATUSES,
    UNCERTAIN,
    ClaimVerdict,
    Verification,
    VerifierConfig,
    strip_citations,
)

__all__ = [
    "CONTRADICTIONS",
    "FALLBACKS",
    "HARD_KINDS",
    "MAX_ANSWER_CHARS",
    "NEUTRAL",
    "PROFILES",
    "STATUSES",
    "UNCERTAIN",
    "ClaimVerdict",
    "GroundingPack",
    "Verification",
    "Verifier",
    "VerifierConfig",
    "strip_citations",
]

_NOT_TEXT = re.compile("[\ud800-\udfff\x00]")  # lone surrogates or NUL: no answer text holds them


class Verifier(ClaimRulesMixin):
    """Claim-level grounding verification with a calibrated answer-level rule."""

    def __init__(
        self,
        config: VerifierConfig | None = None,
        *,
        vocabulary: Vocabulary = DEFAULT_VOCABULARY,
        fields: Sequence[FieldMap] = (),
        judge: ClaimJudge | None = None,
        aggregate: Aggregate | None = None,
    ) -> None:
        self.config = config or VerifierConfig()
        self.vocabulary = vocabulary
        self.fields = tuple(fields)
        # a judge never raises and never hangs the verifier: failures are uncertain verdicts
        self.judge = (
            judge
            if judge is None or isinstance(judge, FailSafeJudge | ModelClaimJudge)
            else FailSafeJudge(judge)
        )
        self._aggregate = aggregate

    @property
    def aggregate(self) -> Aggregate:
        """The calibrated answer-level rule (the packaged one unless given)."""
        if self._aggregate is None:
            self._aggregate = packaged()
        return self._aggregate

    def point(self, kind: str) -> float:
        """The operating point for this kind of evidence: the agent's, else the tuned one."""
        point = self.config.operating_point
        return self.aggregate.point(kind) if point is None else point

    def evidence(self, items: Iterable[Evidence], question: str = "") -> EvidenceSet:
        """Run evidence, with this verifier's field maps and the customer's question."""
        return EvidenceSet.from_items(items, self.fields, question)

    def verify_items(
        self,
        answer: str,
        items: Iterable[Evidence],
        operating_point: float | None = None,
        question: str = "",
    ) -> Verification:
        """Verify an answer against run evidence (retrieved passages and tool outputs), at an
        agent's own operating point when it sets one. `question` is what the customer last
        said: read for what the answer refers to, never as support."""
        evidence = self.evidence(items, question)
        return self.verify(answer, evidence, operating_point=operating_point)

    def verify_source(
        self,
        task: str,
        source: Any,
        answer: str,
        tool: str = "",
        operating_point: float | None = None,
    ) -> Verification:
        """Verify against a benchmark source (`tether eval grounding`), with this verifier's
        field maps, as a run would read the same evidence; `operating_point` as an agent's
        (`Agent.verifier_operating_point`) sets it for a run."""
        evidence = EvidenceSet.from_source(task, source, self.fields, tool)
        return self.verify(answer, evidence, kind=task, operating_point=operating_point)

    def verify(
        self,
        answer: str,
        evidence: EvidenceSet,
        kind: str | None = None,
        operating_point: float | None = None,
    ) -> Verification:
        """Every claim's verdict and the answer's; bad input gives a coded, flagged result."""
        if not isinstance(answer, str):
            return self._failed("ANSWER_INVALID", f"the answer is {type(answer).__name__}")
        if len(answer) > self.config.max_answer_chars:
            return self._failed(
                "ANSWER_TOO_LARGE",
                f"the answer has {len(answer)} characters; at most "
                f"{self.config.max_answer_chars} are verified",
            )
        if _NOT_TEXT.search(answer):
            return self._failed("ANSWER_INVALID", "the answer holds NUL or lone surrogates")
        odd = mixed_script(answer)
        if odd is not None:
            return self._failed("ANSWER_CONFUSABLE", f"the word {odd!r} mixes scripts")
        text = steps_on_lines(strip_citations(plain_text(answer)))
        if any(not math.isfinite(n) for n in numbers(text)):
            return self._failed("ANSWER_INVALID", "the answer states a number out of range")
        if not text.strip():
            return Verification((), 0.0, False, self.point("qa"), "ANSWER_EMPTY")
        problems = tuple(evidence.problems)
        if evidence.empty:
            return self._failed("EVIDENCE_EMPTY", "no usable evidence to check against", problems)
        kind = kind or ("data2txt" if not evidence.texts else "qa")
        point = self.point(kind) if operating_point is None else operating_point
        if not (isinstance(point, int | float) and math.isfinite(point) and 0.0 < point <= 1.0):
            return self._failed("OPERATING_POINT_INVALID", f"operating point {point!r}")
        try:
            verdicts, x, records = self.examine(text, evidence)
            score = self.aggregate.score(kind, x)
        except Exception as exc:  # a fault in a check decides nothing: fail closed, coded
            return self._failed("VERIFIER_FAILED", f"{type(exc).__name__}: {exc}"[:300], problems)
        flagged = (
            any(v.hard(self.config.hard) for v in verdicts)
            or (self.config.strict and any(v.decisive for v in verdicts))
            or score >= point
        )
        failed = [r["code"] for r in records if r.get("code")]
        if failed:
            flagged = True  # a model stage that failed decides nothing, whatever the fallback
        code = str(failed[0]) if failed else ("EVIDENCE_PARTIAL" if problems else None)
        return Verification(tuple(verdicts), score, flagged, point, code, problems, tuple(records))

    def examine(
        self, text: str, evidence: EvidenceSet
    ) -> tuple[list[ClaimVerdict], list[float], list[dict[str, Any]]]:
        """Each claim's verdict, the aggregate's features, and the judge's records."""
        listings = self.config.profile == "listings"
        verdicts: list[ClaimVerdict] = []
        scored: list[ClaimVerdict] = []  # what the aggregate's features count
        records: list[dict[str, Any]] = []
        previous = ""  # the claim before, which a pronoun opening this one may stand for
        for a in assess_answer(text, evidence.index, listings):
            verdict = self._claim(a, evidence, previous)
            previous = a.claim.text
            # a question or an offer ("Anything else I can help with?") asserts nothing, unless
            # it carries a contradiction ("…delivered, right?", "Thanks, it has shipped.")
            aside = (
                a.claim.text.rstrip().endswith("?")
                or _COURTESY.match(a.claim.text)
                or _verdict_on_report(a.claim.text, evidence)
            )
            request = is_request(a.claim.text) and not _restates_a_list(verdict)
            # nor does saying back what the customer asks, their negation included ("You're
            # asking whether we can verify you without your user id.")
            echo = asks_back(a.claim.text, evidence)
            if (aside or request or echo) and (
                verdict.status != CONTRADICTED or (echo and set(verdict.kinds) <= {"polarity"})
            ):
                if request:
                    # nor does a request ("Please tell me your order id."); the aggregate was
                    # fitted with requests among the claims, so its features still count them
                    scored.append(
                        replace(verdict, status=self.config.fallback, decided_by="fallback")
                        if verdict.status == UNCERTAIN
                        else verdict
                    )
                continue
            if verdict.status == UNCERTAIN:
                verdict = self._settle(verdict, evidence, records)
            verdicts.append(verdict)
            scored.append(verdict)
        discourse = len(split_claims(text)) - len(scored)
        x = features(
            scored,
            text,
            discourse,
            evidence.question,
            evidence.index.by_source,
            evidence.size,
        )
        return verdicts, x, records

    def _failed(self, code: str, reason: str, problems: tuple[str, ...] = ()) -> Verification:
        point = self.config.operating_point or self.aggregate.operating_point
        return Verification((), 1.0, True, point, code, (reason, *problems))

    def _settle(
        self, v: ClaimVerdict, evidence: EvidenceSet, records: list[dict[str, Any]]
    ) -> ClaimVerdict:
        """An uncertain claim: the judge decides it when configured, else the fallback. The
        judge is asked with the claim's three closest evidence sentences and every record;
        its verdict (or its failure's code) is recorded for the run and for replay."""
        if self.judge is not None and v.assessment.support < self.config.judge_below:
            passages = [s.text for _, s in evidence.index.align(v.assessment.terms, limit=3)]
            passages.extend(
                json.dumps(r, default=str)[:MAX_RECORD_CHARS] for r in evidence.records.values()
            )
            started = time.perf_counter()
            verdict = kept_verdict(self.judge, v.text, passages)  # a replay never calls it
            records.append(
                {
                    "claim": v.text,
                    "status": verdict.status,
                    "judge": self.judge.name,
                    "prompt_version": verdict.prompt_version,
                    "code": str(verdict.code) if verdict.code is not None else None,
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )
            if verdict.status in (SUPPORTED, CONTRADICTED, UNSUPPORTED):
                return replace(
                    v,
                    status=verdict.status,
                    decided_by=self.judge.name,
                    reasons=(verdict.reason,) if verdict.reason else v.reasons,
                    kinds=("judge",) if verdict.status == CONTRADICTED else v.kinds,
                    decisive=verdict.status == UNSUPPORTED,
                )
        return replace(v, status=self.config.fallback, decided_by="fallback")


# "Girlfriend: no.", "Your brother-in-law: not quite": a verdict on what someone the customer
# quotes said, whose grounds the lines after it give
_ON_REPORT = re.compile(
    r"^\W*(?:(?:your|my|the)\s+)?(?P<who>[a-z]+(?:[\s-][a-z]+){0,2}?)(?:['\u2019]s)?\s*[:\u2013\u2014-]\s*"
    r"(?:yes|no|nope|right|wrong|correct|incorrect|true|false|mistaken|spot\s+on|not\s+quite|"
    r"not\s+right|not\s+so|partly(?:\s+right)?|half\s+right|agreed)\W*$",
    re.IGNORECASE,
)


# "I'm afraid your coworker is mistaken.", "Your sister is right.", "Sadly, your friend is
# wrong there."
_REPORTER_IS = re.compile(
    r"^\W*(?:(?:i'm|i am)\s+afraid\s+|sadly,?\s+|unfortunately,?\s+|good\s+news,?\s+|"
    r"yes,?\s+|no,?\s+)?(?:your|my|the)\s+(?P<who>[a-z]+(?:[\s-][a-z]+){0,2}?)\s+"
    r"(?:is|was|'s|\u2019s|are|were)\s+(?:(?:quite|absolutely|completely|partly|half|only\s+partly)\s+)?"
    r"(?:right|wrong|correct|incorrect|mistaken|spot\s+on|not\s+quite\s+right|not\s+right)"
    r"(?:\s+(?:there|about\s+that|on\s+that|on\s+this))?\W*$",
    re.IGNORECASE,
)


# "She's right.", "Yes, he is right.", "They're both mistaken.": a verdict on the one the
# question quotes, by pronoun
_PRONOUN_IS = re.compile(
    r"^\W*(?:(?:yes|no|sadly|unfortunately|i'm\s+afraid),?\s+)?(?:she|he|they)\s*"
    r"(?:'s|\u2019s|is|are|'re|\u2019re|was|were)\s+(?:(?:both|quite|absolutely|partly)\s+)?"
    r"(?:right|wrong|correct|incorrect|mistaken|spot\s+on|not\s+right)?\W*$",
    re.IGNORECASE,
)


def _verdict_on_report(text: str, evidence: EvidenceSet) -> bool:
    """Whether the claim is only a verdict on what someone the customer quotes said."""
    if _PRONOUN_IS.match(text):
        return evidence.index.referents.reports > 0
    found = _ON_REPORT.match(text) or _REPORTER_IS.match(text)
    if found is None:
        return False
    who = set(content_terms(found.group("who")))
    return bool(who) and who <= evidence.index.referents.reporters


_COURTESY = re.compile(
    r"^\W*(?:(?:i'm|i am|we're|we are)\s+)?(?:always\s+)?(?:happy|glad|pleased)\s+to\s+"
    r"(?:help|assist)\b[^.!]{0,30}[.!]?\s*$|^\W*(?:thanks?|thank you)\b[^.!]{0,40}[.!]?\s*$|"
    r"^\W*(?:you're|you are) (?:very )?welcome\W*$|^\W*(?:my pleasure|no problem)\W*$|"
    r"^\W*sorry for the (?:wait|delay)\W*$",
    re.IGNORECASE,
)


def _restates_a_list(v: ClaimVerdict) -> bool:
    """A request that restates what the evidence asks for, with a member changed ("tell us
    your name and phone number" for "… and zip code"): an unsupported finding tied to an
    evidence sentence, not mere wording the evidence lacks."""
    return any(f.status == UNSUPPORTED and f.where for f in v.findings)


def _items(mapping: object) -> list[tuple[Any, Any]]:
    """A mapping's items; one that is no mapping is one bad item."""
    return list(mapping.items()) if isinstance(mapping, Mapping) else [(mapping, None)]


def _words(key: object, forms: object) -> bool:
    """Whether `key` is a word and `forms` a list of words (not one word, read letter by
    letter)."""
    return (
        isinstance(key, str)
        and isinstance(forms, Sequence)
        and not isinstance(forms, str)
        and all(isinstance(f, str) for f in forms)
    )


@dataclass(frozen=True)
class GroundingPack:
    """What a domain pack adds to the verifier: its operating point, closed classes of words
    (extra lifecycle states, payment methods…), genre words, what its tools' fields mean, and
    the values its records' fields can take (`values`: field name → value → other forms, such
    as an option "size": "large": ("L",)), so that a value named with its field's name ("size
    large", "light skin tones") is judged against the value the record holds, and the short
    names its objects are called by (`names`: full name → short names, such as "Vacuum Cleaner":
    ("vacuum",)) beside the last word of their names, which needs no mention."""

    config: VerifierConfig = field(default_factory=VerifierConfig)
    classes: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    states: tuple[str, ...] = ()
    genre: tuple[str, ...] = ()
    fields: tuple[FieldMap, ...] = ()
    values: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    names: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Field values and short names are words: anything else is refused here, with
        CONFIG_INVALID, not found out when a claim is checked."""
        problems = [
            *(
                f"values[{name!r}]"
                for name, members in _items(self.values)
                if not isinstance(name, str)
                or not isinstance(members, Mapping)
                or not all(_words(v, forms) for v, forms in members.items())
            ),
            *(f"names[{n!r}]" for n, shorts in _items(self.names) if not _words(n, shorts)),
        ]
        if problems:
            from tether.core.errors import ErrorCode, TetherError

            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                "grounding pack: each of these must map a word to a list of words: "
                + ", ".join(problems[:5]),
            )

    def verifier(
        self,
        judge: ClaimJudge | None = None,
        config: VerifierConfig | None = None,
        schemas: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Verifier:
        """The pack's verifier (optionally with a judge, or another operating point).

        `schemas` are tools' output schemas by tool name: a tool the pack gives no field map
        gets one read off its schema (`fields_from_schema`)."""
        vocabulary = DEFAULT_VOCABULARY.extended(
            self.classes,
            states=self.states,
            genre=self.genre,
            values=self.values,
            names=self.names,
        )
        mapped = {m.tool for m in self.fields}
        inferred = [
            FieldMap(name, specs)
            for name, schema in (schemas or {}).items()
            if name not in mapped and (specs := fields_from_schema(schema))
        ]
        return Verifier(
            config or self.config,
            vocabulary=vocabulary,
            fields=(*self.fields, *inferred),
            judge=judge,
        )


NEUTRAL = GroundingPack()
