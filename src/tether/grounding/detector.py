"""Response-level hallucination detection for retrieval-grounded answers, summaries and
data-to-text descriptions (the three RAGTruth tasks).

The detector reads a response through the claim verifier's deterministic stage (every claim
assessed against the source) and turns what it found into features: how much of each claim
the source does not say, unseen numbers, names and times, attributes and hours the record
contradicts or leaves empty, misattributed passages. A logistic model per task, trained on
the development half of RAGTruth by ``benchmarks/train_detector.py``, weighs the features;
its weights ship in ``detector_model.json``. No network, no model download: numpy only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.aggregate import Logistic, word_level
from tether.grounding.assess import ClaimAssessment, assess_answer
from tether.grounding.claims import STOP_WORDS, content_terms, norm, split_claims, words
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED
from tether.grounding.sources import SourceIndex

Task = Literal["qa", "summary", "data2txt"]
TASKS: tuple[Task, ...] = ("qa", "summary", "data2txt")
MODEL_FILE = "detector_model.json"

_HEDGE = re.compile(
    r"not (?:mentioned|provided|specified|stated)|no information|unable to|"
    r"cannot (?:answer|provide|determine)|does not (?:provide|mention|specify|contain)|"
    r"doesn't (?:provide|mention)|i'm sorry|not possible to",
    re.IGNORECASE,
)
_OPENER = re.compile(r"^\s*(?:sure|certainly|of course|here is|here's|based on the)", re.I)
_REVIEW_COUNT = re.compile(
    r"based on (?:\w+ )?(?:\d+|one|two|three|four|five|six|ten|\w+ hundred)\s+(?:\w+\s+)?reviews",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*•])\s")
_PASSAGE = re.compile(r"(?im)^\s*passage\s+(\d+)\s*:")

FEATURES: tuple[str, ...] = (
    "claims", "log_terms", "novel_share", "max_claim_novelty", "mean_claim_novelty",
    "claims_novel_50", "claims_novel_30", "novel_pair_share", "unseen_numbers", "unseen_names",
    "unseen_name_share", "unseen_times", "attr_contradicted", "attr_unsupported",
    "attr_supported", "hours_contradicted", "hours_unsupported", "min_support", "mean_support",
    "hedges", "list_items", "opener", "review_counts", "log_chars", "misattributed",
    "discourse", "specific_novel", "specific_novel_share", "max_specific_novelty",
    "claims_specific_34", "claims_specific_2", "claims_specific_3", "question_coverage",
    "length_ratio", "novel_capitalised",
)  # fmt: skip


def split_passages(text: str) -> dict[str, str]:
    """QA passages as evidence ids ``passage N`` (the text is one block if it has no labels)."""
    parts = _PASSAGE.split(text)
    if len(parts) < 3:
        return {"passage 1": text}
    return {f"passage {parts[k]}": parts[k + 1] for k in range(1, len(parts) - 1, 2)}


def index_source(task: Task, source: Any) -> SourceIndex:
    """The evidence of one RAGTruth item: question and passages, an article, or a record."""
    if task == "qa":
        return SourceIndex.build(
            {"question": source["question"], **split_passages(source["passages"])}
        )
    if task == "summary":
        return SourceIndex.build({"article": source})
    return SourceIndex.build(None, {"record": source})


def template_vocabulary(
    responses: Sequence[tuple[str, Sequence[ClaimAssessment]]], share: float
) -> set[str]:
    """Words used in responses about at least `share` of the sources: the genre's own words
    ("overall", "offers", "reviewers"), whose absence from a source proves nothing."""
    by_source: dict[str, set[str]] = {}
    for source_id, claims in responses:
        bag = by_source.setdefault(source_id, set())
        for claim in claims:
            bag.update(claim.terms)
    counts: dict[str, int] = {}
    for bag in by_source.values():
        for term in bag:
            counts[term] = counts.get(term, 0) + 1
    needed = share * len(by_source)
    return {term for term, count in counts.items() if count >= needed}


def _mean(values: Sequence[float], empty: float) -> float:
    return sum(values) / len(values) if values else empty


def features(
    task: Task,
    index: SourceIndex,
    response: str,
    claims: Sequence[ClaimAssessment],
    vocabulary: set[str] | frozenset[str],
) -> list[float]:
    """The detector's feature vector for one response, in the order of FEATURES."""
    specific = [[t for t in a.terms if t not in vocabulary] for a in claims]
    specific_novel = [[t for t in a.novel_terms if t not in vocabulary] for a in claims]
    spec_total, spec_novel = sum(map(len, specific)), sum(map(len, specific_novel))
    spec_share = [len(n) / len(s) for n, s in zip(specific_novel, specific, strict=True) if s]
    names = sum(a.name_count for a in claims)
    unseen_names = sum(len(a.unseen_names) for a in claims)
    attrs = [f.status for a in claims for f in a.attributes]
    hours = [f.status for a in claims for f in a.schedule]
    support = [a.support for a in claims if a.terms] or [1.0]
    question = 1.0
    if task == "qa":
        asked = set(content_terms(index.texts.get("question", "")))
        if asked:
            question = max(
                (
                    len(asked & t) / len(asked)
                    for k, t in index.by_source.items()
                    if k != "question"
                ),
                default=0.0,
            )
    source_chars = sum(len(t) for t in index.texts.values())
    capitalised = 0
    for a in claims:
        first = words(a.claim.text)[:1]
        if first and first[0][0].isupper() and first[0].lower() not in STOP_WORDS:
            stem = norm(first[0])
            capitalised += stem not in index.terms and stem not in vocabulary
    return [
        *word_level(claims),
        unseen_names,
        unseen_names / max(names, 1),
        sum(len(a.unseen_times) for a in claims),
        attrs.count(CONTRADICTED),
        attrs.count(UNSUPPORTED),
        attrs.count(SUPPORTED),
        hours.count(CONTRADICTED),
        hours.count(UNSUPPORTED),
        min(support),
        _mean(support, 1.0),
        len(_HEDGE.findall(response)),
        len(_LIST_ITEM.findall(response)),
        float(bool(_OPENER.match(response))),
        len(_REVIEW_COUNT.findall(response)),
        math.log1p(len(response)),
        sum(a.misattributed for a in claims),
        len(split_claims(response)) - len(claims),
        spec_novel,
        spec_novel / max(spec_total, 1),
        max(spec_share, default=0.0),
        sum(x > 0.34 for x in spec_share),
        sum(len(n) >= 2 for n in specific_novel),
        sum(len(n) >= 3 for n in specific_novel),
        question,
        math.log1p(len(response)) - math.log1p(source_chars),
        capitalised,
    ]


@dataclass(frozen=True)
class TaskModel(Logistic):
    """A logistic model over standardised features, and the task's genre vocabulary."""

    vocabulary: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Detection:
    """The detector's reading of one response."""

    score: float  # P(hallucinated)
    flagged: bool
    claims: tuple[ClaimAssessment, ...]


class HallucinationDetector:
    """Flags responses likely to contain a hallucination; one model per task, one threshold."""

    def __init__(self, models: Mapping[str, TaskModel], threshold: float) -> None:
        self.models = dict(models)
        self.threshold = threshold

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HallucinationDetector:
        """Build from the JSON structure `benchmarks/train_detector.py` writes."""
        try:
            if tuple(data["features"]) != FEATURES:
                raise ValueError("the model was trained on other features")
            models = {
                task: TaskModel.from_dict(m, vocabulary=frozenset(m["vocabulary"]))
                for task, m in data["tasks"].items()
            }
            threshold = float(data["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"the detector model is invalid: {exc}"
            ) from None
        return cls(models, threshold)

    @classmethod
    def packaged(cls) -> HallucinationDetector:
        """The model shipped with tether (trained on the RAGTruth development half)."""
        return _packaged()

    def detect(self, task: Task, source: Any, response: str) -> Detection:
        """Score one response against its source."""
        model = self.models.get(task)
        if model is None:
            raise TetherError(ErrorCode.BAD_REQUEST, f"the detector has no model for {task!r}")
        index = index_source(task, source)
        claims = assess_answer(response, index)
        score = model.probability(features(task, index, response, claims, model.vocabulary))
        return Detection(score, score >= self.threshold, tuple(claims))


@lru_cache(maxsize=1)
def _packaged() -> HallucinationDetector:
    text = resources.files("tether.grounding").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return HallucinationDetector.from_dict(json.loads(text))
