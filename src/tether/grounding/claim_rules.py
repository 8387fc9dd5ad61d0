"""The rules' verdict on one claim, for `Verifier`.

What the word-level assessment (`tether.grounding.assess`) and the meaning checks
(`tether.grounding.meaning_checks`) found of a claim is read into its verdict here: contradicted
when a check or a rule contradicts it, unsupported when something checkable is missing (a count
the evidence never gives, a sum not in it to the cent, a name it never states), uncertain when
only its wording is thin, else supported; with the reasons, the spans and the kinds that say why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from tether.grounding.arithmetic import among, counted_share, money, named_total, worked_out
from tether.grounding.assess import ClaimAssessment
from tether.grounding.claims import numbers, spoken_amounts, stated_count
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED, Finding
from tether.grounding.listed_counts import self_counted
from tether.grounding.meaning_checks import check_meaning
from tether.grounding.verdicts import UNCERTAIN, ClaimVerdict

if TYPE_CHECKING:
    from tether.grounding.meaning import Vocabulary

_HEDGE = re.compile(
    r"not (?:mentioned|provided|specified|stated)|no information|unable to|"
    r"cannot (?:answer|provide|determine)|does not (?:provide|mention|specify|contain)|"
    r"doesn't (?:provide|mention)|not possible to",
    re.IGNORECASE,
)


class ClaimRulesMixin:
    """The rules' verdict on a claim, for `Verifier` (which provides what is declared)."""

    if TYPE_CHECKING:
        vocabulary: Vocabulary

    def _claim(self, a: ClaimAssessment, evidence: EvidenceSet, previous: str = "") -> ClaimVerdict:
        text = a.claim.text
        found = tuple(check_meaning(text, evidence, self.vocabulary, a.before, previous))
        against = [f for f in found if f.status == CONTRADICTED]
        missing = [f for f in found if f.status == UNSUPPORTED]
        held = [f for f in found if f.status == SUPPORTED]
        reasons = [f.reason for f in against]
        rule_contradicted = (
            a.misattributed
            or a.number_conflict
            or any(f.status == CONTRADICTED for f in a.attributes)
            or any(f.status == CONTRADICTED for f in a.schedule)
        )
        if rule_contradicted:
            reasons.extend(r for r in a.explain() if r not in reasons)
        counted = {f.reason for f in held if f.kind == "count"}
        # a count that checks out vouches for the claim's other counts, not for its amounts;
        # a count of the variants holding a value only for its own number ("the four black ones")
        grouped = {n for f in held if f.kind == "group" for n in numbers(f.quote)}
        # a gap between two objects' prices that holds ("$10.48 cheaper than the 30ml one")
        gaps = {n for f in held if f.kind == "gap" for n in money(f.quote)}
        amounts, listed = money(text), self_counted(text)
        unseen = [
            n
            for n in a.unseen_numbers
            if n in a.undated
            or (
                stated_count(text, n)
                and n not in listed
                and n not in grouped
                and not among(n, gaps)
                and not (counted and not among(n, amounts))
                and n not in evidence.counts
                and not counted_share(n, text, evidence.counts)
            )
        ]
        # a sum given to the cent is a fact to the cent: 1077.17 is not 1077.71 rounded (unless
        # the claim works it out from two amounts it states, or names what it declines)
        said = [float(m.group(1).replace(",", "")) for m in _CENTS.finditer(text)]
        said.extend(v for v in spoken_amounts(text) if not v.is_integer())
        cents = [
            value
            for value in said
            if not among(value, evidence.index.quantities)
            and not among(value, evidence.index.results)
            and not among(value, evidence.index.referents.numbers)
        ]
        if cents:
            grounded = [v for v in numbers(text) if evidence.index.knows_number(v)]
            cents = [
                value
                for value in cents
                if not worked_out(value, grounded)
                and value not in a.carried
                and value not in a.declined
                and not named_total(value, text, evidence.records.values())
                and value not in gaps
            ]
        unseen.extend(c for c in cents if c not in unseen)
        # a month and year ("expiring 08/2027") the evidence never gives is a fact it lacks,
        # however well the rest of the claim checks out
        said_dates = list(islice(_MONTH_YEAR.finditer(text), 8)) if "/" in text else []
        given = (
            " ".join((*evidence.texts.values(), evidence.index.record_text)).lower()
            if said_dates
            else ""
        )
        dates = [m.group(0) for m in said_dates if not _month_year_in(m, given)]
        decisive = bool(
            unseen
            or dates
            or a.unseen_times
            or any(
                len(n) > 1 and n not in evidence.index.lowered and n not in _CURRENCIES
                for n in a.unseen_names
            )
            or missing
            or any(f.status == UNSUPPORTED for f in a.attributes)
            or any(f.status == UNSUPPORTED for f in a.schedule)
        )
        hedged = bool(_HEDGE.search(text))
        if against or rule_contradicted:
            status = CONTRADICTED
            where = against[0].where if against else _span_source(a)
        elif decisive:
            status = UNSUPPORTED
            reasons = [*(f.reason for f in missing), *a.explain()]
            if cents:
                reasons.append(
                    "sums not in the evidence to the cent: " + ", ".join(f"{c:.2f}" for c in cents)
                )
            if dates:
                reasons.append("dates not in the evidence: " + ", ".join(dates))
            where = missing[0].where if missing and missing[0].where else _span_source(a)
        elif a.coverage < 0.5 and not held and not a.checked_against_record:
            status = UNCERTAIN
            reasons = a.explain()
            where = _span_source(a)
        else:
            status = SUPPORTED
            where = held[0].where if held else _span_source(a)
        return ClaimVerdict(
            text,
            (a.claim.start, a.claim.end),
            status,
            "rules",
            where or None,
            tuple(reasons),
            _spans(a, found),
            found,
            a,
            decisive and status != CONTRADICTED,
            hedged,
            tuple(
                dict.fromkeys(
                    [*(f.kind for f in against), *(["rule"] if rule_contradicted else [])]
                )
            ),
        )


_CURRENCIES = frozenset(("usd", "eur", "gbp", "cad", "aud", "chf", "jpy"))
# a month and a year: "08/2027", "8/27"
_MONTH_YEAR = re.compile(r"(?<![\w/.-])(0?[1-9]|1[0-2])/(\d{4}|\d{2})(?![\w/.-])")


def _month_year_in(m: re.Match[str], given: str) -> bool:
    """Whether the evidence's text (`given`, lower case) gives the month and year `m` says, in
    any of its usual forms."""
    month, year = int(m.group(1)), m.group(2)
    years = {year, year[-2:]} if len(year) == 4 else {year, f"20{year}"}
    forms = {f"{mm}/{yy}" for mm in (str(month), f"{month:02d}") for yy in years}
    forms |= {f"{yy}-{month:02d}" for yy in years if len(yy) == 4}
    return any(f in given for f in forms)


_CENTS = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+\.\d\d|\d+\.\d\d)(?![\d])")


def _span_source(a: ClaimAssessment) -> str:
    return a.evidence.source if a.evidence is not None else ""


def _spans(a: ClaimAssessment, found: Sequence[Finding]) -> tuple[dict[str, Any], ...]:
    spans: list[dict[str, Any]] = []
    for f in found:
        if f.status == CONTRADICTED and f.quote:
            span: dict[str, Any] = {"source": f.where, "text": f.quote}
            if f.span is not None:
                span.update(start=f.span[0], end=f.span[1])
            spans.append(span)
    if a.evidence is not None and not spans:
        e = a.evidence
        spans.append({"source": e.source, "start": e.start, "end": e.end, "text": e.text})
    for f in found:
        if ":" in f.where:
            spans.append({"field": f.where, "kind": f.kind, "status": f.status})
    return tuple(spans[:8])
