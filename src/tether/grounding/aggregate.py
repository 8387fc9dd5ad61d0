"""From claim verdicts to one answer-level score: a calibrated logistic rule.

Each claim's findings become counts (claims contradicted, claims with a number, name or timing
the evidence lacks, the share of words the evidence never uses…); a logistic model per kind of
evidence weighs them into P(the answer holds an unsupported or contradicted claim). The weights
ship in ``verifier_model.json``, fitted by ``benchmarks/train_verifier.py`` on the development
half of RAGTruth with every tuned number chosen inside cross-validation folds grouped by source.
The features are domain-neutral: nothing in them names a benchmark's genre or a domain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.claims import content_terms
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED

if TYPE_CHECKING:
    from tether.grounding.assess import ClaimAssessment
    from tether.grounding.verifier import ClaimVerdict

MODEL_FILE = "verifier_model.json"
KINDS = ("qa", "summary", "data2txt")  # passages and a question, an article, a record

FEATURES: tuple[str, ...] = (
    "claims", "log_terms", "novel_share", "max_claim_novelty", "mean_claim_novelty",
    "claims_novel_50", "claims_novel_30", "novel_pair_share", "unseen_numbers", "unseen_names",
    "unseen_name_share", "unseen_times", "min_support", "mean_support", "list_items",
    "log_chars", "misattributed", "discourse", "contradicted", "polarity", "swaps",
    "timing_contradicted", "timing_unsupported", "fields_contradicted", "fields_supported",
    "question_coverage", "length_ratio", "hedges", "supported_share",
)  # fmt: skip


def _mean(values: Sequence[float], empty: float) -> float:
    return sum(values) / len(values) if values else empty


def word_level(claims: Sequence[ClaimAssessment]) -> list[float]:
    """What the word-level stage found, shared with the previous detector: claims, terms,
    the share and spread of words the evidence never uses, unseen word pairs and numbers."""
    terms = sum(len(a.terms) for a in claims)
    novel = sum(len(a.novel_terms) for a in claims)
    novelty = [1 - a.coverage for a in claims if a.terms] or [0.0]
    pairs = sum(a.pairs for a in claims)
    return [
        len(claims),
        math.log1p(terms),
        novel / max(terms, 1),
        max(novelty),
        _mean(novelty, 0.0),
        sum(x > 0.5 for x in novelty),
        sum(x > 0.3 for x in novelty),
        sum(a.novel_pairs for a in claims) / max(pairs, 1),
        sum(len(a.unseen_numbers) for a in claims),
    ]


def features(
    verdicts: Sequence[ClaimVerdict],
    answer: str,
    discourse: int,
    question: str,
    source_terms: Mapping[str, set[str]],
    source_chars: int,
) -> list[float]:
    """The aggregate's feature vector for one answer, in the order of FEATURES."""
    assessed = [v.assessment for v in verdicts]
    names = sum(a.name_count for a in assessed)
    support = [a.support for a in assessed if a.terms] or [1.0]
    found = [f for v in verdicts for f in v.findings]
    coverage = 1.0
    asked = set(content_terms(question))
    if asked:
        coverage = max(
            (len(asked & t) / len(asked) for t in source_terms.values()),
            default=0.0,
        )
    hedges = sum(1 for v in verdicts if v.hedged)
    # a share, not a count: the rules' own word on each claim, judge or fallback aside
    held = sum(v.status == SUPPORTED and v.decided_by == "rules" for v in verdicts)
    return [
        *word_level(assessed),
        sum(len(a.unseen_names) for a in assessed),
        sum(len(a.unseen_names) for a in assessed) / max(names, 1),
        sum(len(a.unseen_times) for a in assessed),
        min(support),
        _mean(support, 1.0),
        answer.count("\n- ") + answer.count("\n* ") + answer.count("\n1"),
        math.log1p(len(answer)),
        sum(a.misattributed for a in assessed),
        discourse,
        sum(v.status == CONTRADICTED for v in verdicts),
        sum(f.kind == "polarity" and f.status == CONTRADICTED for f in found),
        sum(f.kind == "swap" and f.status == CONTRADICTED for f in found),
        sum(f.kind == "timing" and f.status == CONTRADICTED for f in found),
        sum(f.kind == "timing" and f.status == UNSUPPORTED for f in found),
        sum(f.kind in ("status", "count", "flag") and f.status == CONTRADICTED for f in found),
        sum(f.status != CONTRADICTED and f.kind != "timing" and ":" in f.where for f in found),
        coverage,
        math.log1p(len(answer)) - math.log1p(source_chars),
        hedges,
        held / max(len(verdicts), 1),
    ]


_TERMS, _NOVEL, _NUMBERS, _NAMES, _TIMES, _CONTRADICTED = (
    FEATURES.index(name)
    for name in (
        "log_terms", "novel_share", "unseen_numbers", "unseen_names", "unseen_times",
        "contradicted",
    )
)  # fmt: skip


def unverified(x: Sequence[float]) -> float:
    """How much the answer says that the evidence never does: words it never uses, and
    numbers, names and timings it never states (read off the feature vector)."""
    if x[_CONTRADICTED] > 0:
        return math.inf  # a contradiction found is evidence, not room for one
    terms = max(round(math.expm1(x[_TERMS])), 1)
    return max(round(x[_NOVEL] * terms) + x[_NUMBERS] + x[_NAMES] + x[_TIMES], 0.0)


def below_range(p: float, said: float, least: float) -> float:
    """`p` for an answer saying `said` things the evidence lacks where the fitted answers said
    at least `least`: 1 - P(no error) ** (said / least), as if errors came one per such thing.
    Any answer can hold one, so `said` counts as at least 1."""
    if said >= least:
        return p
    return 1.0 - float((1.0 - p) ** (max(said, 1.0) / least))


def log_counts(x: Sequence[float], columns: Sequence[int]) -> list[float]:
    """`x` with the listed count columns taken as log(1 + count): a tenth unseen name says
    less than the first, and one long answer's counts no longer swamp the fit."""
    out = list(x)
    for j in columns:
        out[j] = math.log1p(max(out[j], 0.0))
    return out


@dataclass(frozen=True)
class Logistic:
    """A logistic model over standardised features, counts optionally on a log scale.

    It does not extrapolate: each feature is held to the range it was fitted on (`low`,
    `high`). An answer saying less that the evidence lacks than any answer it was fitted on
    (`min_unverified`) carries the risk of the least such answer in proportion: an answer of
    one short claim is not judged as if it were a fitted answer of eight."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    log1p: tuple[int, ...] = ()  # columns taken as log(1 + value) before standardising
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    min_unverified: float = 0.0

    @classmethod
    def from_dict(cls, m: Mapping[str, Any], names: Sequence[str] = FEATURES, **extra: Any) -> Any:
        """The model from its JSON (mean, scale, weights, bias and the `names` of the features
        it takes on a log scale); KeyError/TypeError/ValueError if not."""
        logged = m.get("log1p", [])
        if not isinstance(logged, list) or len(set(logged)) != len(logged):
            raise ValueError(f"'log1p' is not a list of distinct feature names: {logged!r}")
        if not set(logged) <= set(names):
            raise ValueError(f"'log1p' names features it does not have: {logged!r}")
        low, high = m.get("low"), m.get("high")
        if (low is None) != (high is None):
            raise ValueError("'low' and 'high' come together")
        model = cls(
            tuple(map(float, m["mean"])),
            tuple(map(float, m["scale"])),
            tuple(map(float, m["weights"])),
            float(m["bias"]),
            tuple(list(names).index(name) for name in logged),
            None if low is None else tuple(map(float, low)),
            None if high is None else tuple(map(float, high)),
            float(m.get("min_unverified", 0.0)),
            **extra,
        )
        sizes = {len(v) for v in (model.mean, model.scale, model.weights, model.low or ())}
        if len(sizes - {0}) != 1 or len(model.high or ()) != len(model.low or ()):
            raise ValueError("its mean, scale, weights and bounds differ in length")
        if not (math.isfinite(model.min_unverified) and model.min_unverified >= 0):
            raise ValueError(f"'min_unverified' is not a count: {model.min_unverified!r}")
        return model

    def probability(self, x: Sequence[float]) -> float:
        """P(the answer holds an unsupported or contradicted claim) for one feature vector."""
        values = list(x)
        if self.low is not None and self.high is not None:
            values = [min(max(v, lo), hi) for v, lo, hi in zip(x, self.low, self.high, strict=True)]
        values = log_counts(values, self.log1p) if self.log1p else values
        z = self.bias + sum(
            w * (v - m) / s
            for w, v, m, s in zip(self.weights, values, self.mean, self.scale, strict=True)
        )
        p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        if self.min_unverified > 0:
            p = below_range(p, unverified(x), self.min_unverified)
        return p


@dataclass(frozen=True)
class Aggregate:
    """One logistic model per kind of evidence and the operating point it was tuned for."""

    models: Mapping[str, Logistic]
    operating_point: float
    meta: Mapping[str, Any]
    points: Mapping[str, float] | None = None  # tuned operating point per kind

    def score(self, kind: str, x: Sequence[float]) -> float:
        model = self.models.get(kind) or self.models["qa"]
        return model.probability(x)

    def point(self, kind: str) -> float:
        """The tuned operating point for this kind of evidence."""
        return (self.points or {}).get(kind, self.operating_point)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Aggregate:
        """Build from what `benchmarks/train_verifier.py` writes; CONFIG_INVALID otherwise."""
        try:
            if tuple(data["features"]) != FEATURES:
                raise ValueError("it was fitted on other features")
            models = {kind: Logistic.from_dict(m) for kind, m in data["kinds"].items()}
            if "qa" not in models:
                raise ValueError("it has no 'qa' model")
            point = float(data["operating_point"])
            points = {
                kind: float(m.get("operating_point", point)) for kind, m in data["kinds"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"the verifier's aggregate model is invalid: {exc}"
            ) from None
        return cls(models, point, dict(data.get("meta", {})), points)


@lru_cache(maxsize=1)
def packaged() -> Aggregate:
    """The aggregate shipped with tether."""
    text = resources.files("tether.grounding").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return Aggregate.from_dict(json.loads(text))
