"""The deterministic stage of claim verification: what one claim asserts that the evidence lacks.

For each claim: content words and word pairs the evidence never uses, quantities, clock times
and names it never states, attributes and opening hours a record contradicts or leaves empty,
and a negation that flips the evidence sentence the claim restates. The verdict follows from
these; the hallucination detector reads the same assessment as features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from typing import Any

from tether.grounding.arithmetic import (
    about_worked_out,
    among,
    bound_worked_out,
    half_said,
    money,
    named_ratio,
    named_share,
    named_total,
    rounded_from,
    stated_ratios,
    stated_share,
    total_bound,
    total_fractions,
    worked_out,
)
from tether.grounding.claims import (
    MONTHS,
    Claim,
    blank_framing,
    clock_times,
    content_terms,
    is_discourse,
    is_negated,
    names,
    number_matches,
    numbers,
    split_claims,
    stated_count,
)
from tether.grounding.facts import (
    CONTRADICTED,
    SUPPORTED,
    UNSUPPORTED,
    AttributeFinding,
    check_attributes,
    check_values,
)
from tether.grounding.listed_counts import self_counted
from tether.grounding.meaning import (
    clauses,
    declined_part,
    declines_reporter,
    denial_start,
    denies,
    grants,
    none_in_rules,
    paid_to_nothing,
    sets_outside,
    subject_start,
)
from tether.grounding.schedule import Schedule, ScheduleFinding, check_schedule
from tether.grounding.sources import SourceIndex, SourceSentence

# a name said to be absent, alone or at the end of a denied list ("no card or PayPal saved",
# "neither a gift card nor a PayPal account")
_DENIED_BEFORE = re.compile(
    r"(?:\b(?:no|not|without|nor|neither|rather\s+than|instead\s+of|as\s+opposed\s+to)|"
    r"\bthere\s+(?:is|are|was|were)n[\u2019']t)\s+"
    r"(?:(?:a|an|any)\s+)?"
    r"(?:(?:[\w'-]+,?\s+){0,3}(?:or|nor)\s+(?:(?:a|an|any)\s+)?)?$",
    re.I,
)


def _said_twice(amounts: Sequence[float]) -> bool:
    """Whether one amount is among `amounts` twice (what is left of it, taken from itself,
    is nothing)."""
    return len({round(a, 2) for a in amounts}) < len(amounts)


def _in_cents(value: float, text: str) -> bool:
    """Whether the text says `value` as a number of cents ("25 cents")."""
    return value.is_integer() and int(value) in _cents_said(text)


_NOT_A_COUNT = re.compile(
    r",\s*(?:and\s+|but\s+)?not\s+(two|three|four|five|six)\b(?!\s+(?:of|to|or|and)\b)",
    re.IGNORECASE,
)
_SMALL_COUNTS = {"two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0}
_CENTS_SAID = re.compile(
    r"\b(\d{1,2}|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[\s-]?)?"
    r"(?:one|two|three|four|five|six|seven|eight|nine)|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety)\s*cents?\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _cents_said(text: str) -> frozenset[int]:
    """The numbers of cents a text says ("25 cents", "ten cents"), read once however many
    numbers it states."""
    return frozenset(int(sum(numbers(n))) for n in _CENTS_SAID.findall(text))


def _cents_from_known(text: str, stated: Sequence[float], known: Iterable[float]) -> set[int]:
    """The differences in cents between an amount the claim states and one the evidence
    holds ("$137.22, just ten cents under the black one" of $137.32), when the text says
    cents at all."""
    if not _cents_said(text):
        return set()
    mine = set(stated)
    return {round(100 * abs(q - s)) for q in known for s in mine if 0 < abs(q - s) < 1}


def _denied(text: str, name: str) -> bool:
    """True when every mention of `name` in `text` is one the text says is not there."""
    found = list(re.finditer(rf"\b{re.escape(name)}\b", text, re.IGNORECASE))
    return bool(found) and all(_DENIED_BEFORE.search(text, 0, m.start()) for m in found)


_CITED = re.compile(r"\b(passage|source|document)s?\s+(\d+)((?:\s*(?:,|and|&|or)\s*\d+)*)", re.I)
# A claim restating an evidence sentence shares at least this share of its content words.
RESTATES = 0.6
# how many grounded amounts of the sentences before the one before a claim it may still work
# an exact amount out from: with its own, few enough that no pair adds up to just anything
# (`arithmetic.MOST_OPERANDS`)
CARRIED_AMOUNTS = 2
# Below this share of known content words a claim is not grounded by word overlap.
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class ClaimAssessment:
    """Everything the deterministic checks found for one claim."""

    claim: Claim
    terms: tuple[str, ...]
    novel_terms: tuple[str, ...]
    novel_pairs: int
    pairs: int
    unseen_numbers: tuple[float, ...]
    unseen_times: tuple[int, ...]
    unseen_names: tuple[str, ...]
    name_count: int
    attributes: tuple[AttributeFinding, ...]
    schedule: tuple[ScheduleFinding, ...]
    support: float  # share of the claim's terms found in its best evidence sentence
    evidence: SourceSentence | None
    negation_flip: bool
    number_conflict: bool = False  # restates a sentence but with other numbers
    carried: tuple[float, ...] = ()  # amounts worked out with the sentence before's
    declined: tuple[float, ...] = ()  # amounts of what the customer reports, declined
    undated: tuple[float, ...] = ()  # days of a month the evidence gives no date for
    before: tuple[float, ...] = ()  # the grounded amounts of the claim before it
    cited: tuple[str, ...] = field(default=())  # evidence ids the claim names ("passage 2")
    cited_support: float | None = None  # share of its words found in what it names

    @property
    def coverage(self) -> float:
        """Share of the claim's content words the evidence uses anywhere (1.0 with no words)."""
        if not self.terms:
            return 1.0
        return 1.0 - len(self.novel_terms) / len(self.terms)

    @property
    def misattributed(self) -> bool:
        """The claim names a source that holds too few of its words."""
        return self.cited_support is not None and self.cited_support < MIN_COVERAGE

    @property
    def contradicted(self) -> bool:
        """A record value, the schedule or a restated sentence's polarity disagrees."""
        return (
            self.misattributed
            or self.number_conflict
            or any(f.status == CONTRADICTED for f in self.attributes)
            or any(f.status == CONTRADICTED for f in self.schedule)
            or self.negation_flip
        )

    @property
    def checked_against_record(self) -> bool:
        """A record value or the schedule confirmed what the claim says (and nothing failed)."""
        statuses = [f.status for f in self.attributes] + [f.status for f in self.schedule]
        return bool(statuses) and all(s == SUPPORTED for s in statuses)

    @property
    def unsupported(self) -> bool:
        """Something checkable is absent from the evidence, or too few words are grounded.

        Word overlap is not asked of a claim a record confirmed: "it offers outdoor seating"
        is checked by the attribute's value, not by the record using the word "offers".
        """
        thin = self.coverage < MIN_COVERAGE and not self.checked_against_record
        return bool(
            self.unseen_numbers
            or self.unseen_times
            or self.unseen_names
            or any(f.status == UNSUPPORTED for f in self.attributes)
            or any(f.status == UNSUPPORTED for f in self.schedule)
            or thin
        )

    @property
    def status(self) -> str:
        """supported | contradicted | unsupported."""
        if self.contradicted:
            return CONTRADICTED
        if self.unsupported:
            return UNSUPPORTED
        return SUPPORTED

    def explain(self) -> list[str]:
        """Why the claim got its status, one short phrase per finding."""
        out: list[str] = []
        for a in self.attributes:
            if a.status != SUPPORTED:
                out.append(f"{a.key} is {a.value!r} but the claim says {a.phrase!r}")
        for s in self.schedule:
            if s.status != SUPPORTED:
                out.append(f"hours: {s.kind} {s.phrase!r} is {s.status}")
        if self.negation_flip and self.evidence is not None:
            out.append(f"the claim flips the polarity of {self.evidence.text[:80]!r}")
        if self.number_conflict and self.evidence is not None:
            out.append(f"the evidence states other numbers: {self.evidence.text[:80]!r}")
        elif self.unseen_numbers:
            out.append(
                "numbers not in the evidence: " + ", ".join(_fmt(n) for n in self.unseen_numbers)
            )
        if self.unseen_times:
            out.append(
                "times not in the evidence: "
                + ", ".join(f"{t // 60:02d}:{t % 60:02d}" for t in self.unseen_times)
            )
        if self.unseen_names:
            out.append("names not in the evidence: " + ", ".join(self.unseen_names))
        if self.misattributed:
            out.append(f"{', '.join(self.cited)} does not say this")
        if self.coverage < MIN_COVERAGE and not self.checked_against_record:
            out.append(f"only {self.coverage:.0%} of its content words appear in the evidence")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The assessment as JSON-ready data (for verdict facts and run records)."""
        span = None
        if self.evidence is not None:
            span = {
                "source": self.evidence.source,
                "start": self.evidence.start,
                "end": self.evidence.end,
                "text": self.evidence.text,
            }
        return {
            "claim": self.claim.to_dict(),
            "status": self.status,
            "reasons": self.explain(),
            "evidence": span,
            "support": round(self.support, 3),
            "attributes": [a.to_dict() for a in self.attributes],
            "schedule": [s.to_dict() for s in self.schedule],
        }


# a claim declining what the customer says they were promised: "I can't confirm any $20
# credit", "a $15 restocking fee isn't something I can offer"
_DECLINING = re.compile(
    r"(?:\b(?:cannot|can[\u2019']t|could\s+not|unable|not|no|never|nothing|none)\b|n[\u2019']t\b)"
    r"[^.;]*?\b(?:confirm\w*|offer\w*|promis\w*|honou?r\w*|apply|find|see|record\w*|"
    r"guarantee\w*|verify|aware|part\s+of)\b|"
    # "I have nothing that lets …", "there's no $10 floor": what the rules hold none of
    r"\bnothing\s+(?:that|which)\s+(?:lets|allows|says|covers|mentions)\b|"
    r"\bthere(?:[\u2019']s|\s+is|\s+are)\s+no\s+[$€£]?\d",
    re.IGNORECASE,
)


# a claim setting itself against what the customer was told: "…, whatever the agent said"
_REJECTING = re.compile(
    r"\bwhatever\s+(?:the|our|your|you)\b[^.;]*?\b(?:said|told|promised|heard)\b|"
    r"\b(?:despite|contrary\s+to|regardless\s+of)\s+what\b",
    re.IGNORECASE,
)


# a figure denied right before its unit: "isn't a 16GB one", "not $20"
_DENIED_FIGURE = re.compile(
    r"(?:n[\u2019']t|\bnot|\bnever)\s+(?:(?:a|an|the)\s+)?(?P<cur>[$€£])?\s?"
    r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<unit>[a-z%]+)?",
    re.IGNORECASE,
)
_FIGURE = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<unit>[a-z%]+)?",
    re.IGNORECASE,
)


# the most denied figures a claim's correction is read for (each is set against every figure)
_MOST_DENIED = 8


def corrected(text: str, known: Sequence[float]) -> frozenset[float]:
    """The figures the claim denies while giving, in the same unit, one the evidence holds in
    their place ("the laptop isn't a 16GB one, it has 32GB"): the customer's mistake said
    back, not figures the claim adds."""
    denied = [m for m in _DENIED_FIGURE.finditer(text) if m.group("cur") or m.group("unit")]
    if not denied or len(denied) > _MOST_DENIED:
        return frozenset()
    held = set(known)
    given = [
        (
            float(m.group("n").replace(",", "")),
            m.group("cur") or "",
            (m.group("unit") or "").lower(),
        )
        for m in _FIGURE.finditer(text)
    ]
    out: set[float] = set()
    for m in denied:
        value = float(m.group("n").replace(",", ""))
        unit = (m.group("cur") or "", (m.group("unit") or "").lower())
        if any(
            (cur, u) == unit and said != value and number_matches(said, held)
            for said, cur, u in given
        ):
            out.add(value)
    return frozenset(out)


def declined_report(
    text: str, heard: set[str] | frozenset[str], reporters: frozenset[str] = frozenset()
) -> set[str]:
    """The words of the clauses declining what the customer reports: a clause that denies, or
    puts outside the rules, what it names first, mostly in words only the report uses ("A swap
    over a shop counter is no part of the exchange rule I have", "The number you're ringing
    from: counts for nothing here"), or what it names as the reporter's ("your nephew's serial
    numbers aren't needed"). Granting it ("you can swap it at a store") declines
    nothing, nor does a denial of something else ("our shop staff never refuse a gift wrap")."""
    if not heard and not reporters:
        return set()
    label = declined_part(text)
    if label is not None:
        parts = [(text, label)]
    else:
        parts = []
        found = clauses(text)
        for n, c in enumerate(found):
            if not ((denies(c.text) and not grants(c.text)) or sets_outside(c.text)):
                continue
            # "The address you'll post from and the kit's condition aren't on that list": a
            # subject joined by a bare "and" was cut off at it, and is given back
            start = subject_start(text, found, n)
            parts.append((text[start : c.end], text[start : c.start + denial_start(c.text)]))
    out: set[str] = set()
    for part, subject in parts:
        # what is declined is named before the denial, or after it when nothing is ("I can't
        # send you to a store"), or named as the reporter's ("your nephew's serial numbers")
        named = content_terms(subject) or content_terms(part[len(subject) :])
        heard_named = bool(named) and 2 * len(set(named) & heard) >= len(set(named))
        if heard_named or declines_reporter(part, reporters):
            out |= set(content_terms(part))
    return out


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return f"{value}"
    return str(int(value)) if value == int(value) else f"{value:g}"


def assess_claim(
    claim: Claim,
    index: SourceIndex,
    listings: bool = True,
    before: tuple[float, ...] = (),
    lately: tuple[float, ...] = (),
) -> ClaimAssessment:
    """Run every deterministic check of one claim against the indexed evidence.

    `listings` adds the business-listing checks (the amenity topics and opening hours of the
    RAGTruth data-to-text records); the run-path verifier leaves them to an opt-in profile.
    `before` holds the grounded amounts of money of the claim before it, which a rough figure
    ("about $580 more") may be worked out from; `lately` the last few of the claims before
    that, which an exact one may be worked out from as well.
    """
    # "(Passage 2)" names a source; its number and word are not part of what is claimed
    text = _CITED.sub(lambda m: " " * len(m.group(0)), claim.text)
    terms = content_terms(blank_framing(text))
    asked = index.referents
    # a clause declining what the customer reports names it and says no: it adds nothing
    declining = declined_report(text, asked.heard - index.terms, asked.reporters)
    novel = tuple(t for t in terms if t not in index.terms and t not in declining)
    pairs = list(pairwise(terms))
    novel_pairs = sum(1 for p in pairs if p not in index.pairs)
    stated = numbers(text)
    # an amount an evidence sentence works out from two it states is as grounded as they are
    # and one the customer states is one the answer may refer to ("your $120 blender"), as is
    # one they were promised, in declining it ("I can't confirm any $20 credit")
    declined = bool(asked.heard_amounts) and (
        _DECLINING.search(text) is not None
        or none_in_rules(text)
        or (is_negated(text) and _REJECTING.search(text) is not None)
        or bool(declining)
    )
    ids_read = index.ids_read_out(text) if index.id_numbers else set()
    reports_counted = asked.counted_reports(text)
    known = [
        v
        for v in stated
        if index.knows_number(v)
        or index.knows_count(v)
        or among(v, index.results)
        or asked.number(v)
        or (declined and number_matches(v, asked.heard_amounts))
        or rounded_from(v, text, asked.numbers)
        or v in ids_read
        or v in reports_counted
    ]
    said_money = money(text)
    # an amount worked out to the cent from two the claim or the sentences just before it
    # state ("…cheapest, $46.66. The purple one is $53.48, $6.82 more than the cheapest";
    # "Priciest: …, $272.71. Cheapest: …, $226.05. Both available, $46.66 apart.")
    own = [m for m in said_money if m in known]
    # (an amount the evidence gives only roughly is worked out as one it does not give: the
    # $3,869.18 of two watches is no rounding of a $3,916.77 total)
    carried = tuple(
        v
        for v in said_money
        if (v not in known or not among(v, index.quantities))
        and (
            worked_out(v, [*own, *before], said_money, before)
            or worked_out(
                v, [*own, *dict.fromkeys((*lately, *before))], said_money, (*lately, *before)
            )
            # "Paid: $241.96. Refunded: $241.96. Net charge: $0.00": one amount said twice
            or (v == 0 and _said_twice((*own, *lately, *before)))
        )
    )
    # a sum of things it names ("the dumbbells and the puzzle put together ($575.75)") is as
    # good an operand as the amounts themselves ("$442.93 more than" it)
    totals = [v for v in said_money if v not in known and named_total(v, text, index.records)]
    undated = undated_days(text, index)
    mistaken = corrected(text, known)
    # "moves to one other payment method, not two": the count set aside is not said
    set_aside = {_SMALL_COUNTS[m.group(1).lower()] for m in _NOT_A_COUNT.finditer(text)}
    # an amount the claim works out from two it states, or from the things it names, is as
    # grounded as they are
    fractions = total_fractions(text, index.records)
    # a bound on what named things cost together that their amounts keep to ("the two
    # together come to under $3,300") is as grounded as they are
    bound = total_bound(text, index.records) if "$" in text else None
    kept_bound = bound[1] if bound is not None and bound[2] else None
    cents_apart = _cents_from_known(text, own, index.quantities)
    unseen_numbers = tuple(
        v
        for v in stated
        if (v not in known or (v in undated and not asked.number(v)))
        and not worked_out(v, [*known, *totals] if totals else known, said_money)
        and v not in carried
        and not named_total(v, text, index.records)
        and not named_share(v, text, index.records)
        and not named_ratio(v, text, index.records)
        and not half_said(v, text)
        and v not in stated_ratios(text)
        and not any(abs(v - f) < 0.005 for f in fractions)
        and not stated_share(v, text)
        # "costs 25 cents less, $950.96" beside "$951.21": a difference said in cents
        and not (
            _in_cents(v, text)
            and (worked_out(round(v / 100, 2), [*own, *before]) or v in cents_apart)
        )
        and not about_worked_out(v, text, [*own, *before])
        and not bound_worked_out(v, text, [*own, *before])
        and v not in mistaken
        and v not in set_aside
        and v != kept_bound
    )
    schedule_known = listings and isinstance(index.schedule, Schedule)
    unseen_times = tuple(
        t
        for t in clock_times(text)
        if t not in index.times and not any(t % 720 == k % 720 for k in index.times)
    )
    if schedule_known:
        unseen_times = ()  # the schedule check judges times against the hours themselves
    found_names = names(text)
    # a name the customer used is one the answer may repeat ("your Mastercard")
    unseen_names = tuple(
        n
        for n in found_names
        if n not in index.proper
        and n not in asked.words
        and not _denied(text, n)
        and n not in paid_to_nothing(text)  # "nothing went on a credit card or PayPal"
        # what someone is reported to have offered, named in denying it ("not to your
        # husband's PayPal")
        and not (n in asked.heard and is_negated(text))
    )
    attributes: list[AttributeFinding] = []
    for record in index.records:
        if listings:
            attributes.extend(check_attributes(text, record, source_text=index.record_text))
        attributes.extend(check_values(text, record, index.value_fields(record)))
    schedule: tuple[ScheduleFinding, ...] = ()
    if listings and index.schedule is not False:
        sched = index.schedule if isinstance(index.schedule, Schedule) else None
        schedule = tuple(check_schedule(text, sched))
    best = index.align(terms)
    support, evidence = best[0] if best else (0.0, None)
    flip = (
        evidence is not None
        and support >= RESTATES
        and len(terms) >= 3
        and is_negated(text) != evidence.negated
    )
    # "the gift card one" states no number to conflict with the evidence's
    counted = [v for v in unseen_numbers if stated_count(text, v)]
    # nor does a count the claim bears out by listing as many ("two options: A, or B"), where
    # the sentence it restates counts nothing ("a gift card with $20 on it")
    if counted and evidence is not None and not _counts(evidence.text):
        listed = self_counted(text)  # read once, however many counts the claim says
        counted = [v for v in counted if v not in listed]
    conflict = bool(
        counted and evidence is not None and support >= RESTATES and numbers(evidence.text)
    )
    return ClaimAssessment(
        claim=claim,
        terms=tuple(terms),
        novel_terms=novel,
        novel_pairs=novel_pairs,
        pairs=len(pairs),
        unseen_numbers=unseen_numbers,
        unseen_times=unseen_times,
        unseen_names=unseen_names,
        name_count=len(found_names),
        attributes=tuple(attributes),
        schedule=schedule,
        support=support,
        evidence=evidence,
        negation_flip=flip,
        number_conflict=conflict,
        carried=carried,
        declined=tuple(v for v in stated if declined and number_matches(v, asked.heard_amounts)),
        undated=tuple(undated),
        before=before,
    )


def _counts(text: str) -> list[float]:
    """The counts a sentence states, not its amounts of money."""
    amounts = money(text)
    return [n for n in numbers(text) if stated_count(text, n) and not among(n, amounts)]


_MONTHS = [m for m in MONTHS if m != "may"]  # "may 3" is as likely a verb and a count
_MONTH = "|".join(_MONTHS)
# "on 3 March", "March 3rd", "the 3rd of March": a day of a month, a date
_DATED = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b|"
    rf"\b({_MONTH})\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:.,]?\d)",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b")


def undated_days(text: str, index: SourceIndex) -> set[float]:
    """The days of a month a claim states ("cancelled on 3 March") where the evidence gives no
    date at all, neither a month (whole or cut short: "Oct. 4") nor one in figures: a count
    it holds (3 items) is no day of a month."""
    found = _DATED.findall(text) if any(m in text.lower() for m in MONTHS) else []
    if not found or any({m, m[:3], m[:4]} & index.lowered for m in _MONTHS):
        return set()
    if any(_NUMERIC_DATE.search(t) for t in (*index.texts.values(), index.record_text)):
        return set()
    return {float(day or later) for day, _, _, later in found}


def cited_sources(text: str, index: SourceIndex) -> tuple[str, ...]:
    """Evidence ids a claim names by number ("Passage 2", "passages 1 and 3") that exist."""
    found: list[str] = []
    for match in _CITED.finditer(text):
        kind = match.group(1).lower()
        for number in [match.group(2), *re.findall(r"\d+", match.group(3))]:
            key = f"{kind} {number}"
            if key in index.by_source and key not in found:
                found.append(key)
    return tuple(found)


def _cited_support(terms: tuple[str, ...], cited: tuple[str, ...], index: SourceIndex) -> float:
    wanted = {t for t in terms if t not in ("passag", "passage", "sourc", "document")}
    if not wanted:
        return 1.0
    held = set().union(*(index.by_source[c] for c in cited))
    return len(wanted & held) / len(wanted)


def assess_answer(text: str, index: SourceIndex, listings: bool = True) -> list[ClaimAssessment]:
    """Assess every claim of an answer; greetings and sign-offs are not claims.

    A bare reference ("(Passage 2)") attributes the claim before it to that source.
    """
    out: list[ClaimAssessment] = []
    before: tuple[float, ...] = ()
    lately: tuple[float, ...] = ()
    for claim in split_claims(text):
        cited = cited_sources(claim.text, index)
        if is_discourse(claim.text):
            if cited and out and out[-1].cited_support is None:
                last = out[-1]
                out[-1] = replace(
                    last, cited=cited, cited_support=_cited_support(last.terms, cited, index)
                )
            continue
        assessment = assess_claim(claim, index, listings, before, lately)
        lately = (*lately, *before)[-CARRIED_AMOUNTS:]
        # the claim's amounts of money that hold: the evidence's, the customer's, and those
        # worked out from them ("costs $31.00 more" … "$40 covers it, $9 to spare")
        before = tuple(v for v in money(claim.text) if v not in assessment.unseen_numbers)
        if cited and not is_negated(claim.text):
            assessment = replace(
                assessment,
                cited=cited,
                cited_support=_cited_support(assessment.terms, cited, index),
            )
        out.append(assessment)
    return out
