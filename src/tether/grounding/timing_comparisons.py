"""Speed compared between two things the evidence times: "PayPal refunds are quicker than gift
card refunds" against "gift card: immediately" and "PayPal: 5 to 7 business days". Each side is
matched to the evidence clause whose list label (or, failing one, whose subject) it names, and
the comparison is judged by the timings those clauses give. Only a reversal is a finding:
ranges that overlap decide nothing, and one that agrees is left to the other checks. "X comes
back as quickly as Y" says the two take the same time: it is contradicted when their timings
share no part. A side that names no clause's label or whole subject is the one clause whose
subject holds the most of the words that side alone uses ("your PayPal payment" against "at
once to a gift card, or within 5 to 7 business days to a credit card or PayPal").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from tether.grounding.facts import CONTRADICTED, Finding
from tether.grounding.timings import Timing, named_subject, subject_terms

if TYPE_CHECKING:
    from tether.grounding.evidence_clauses import EvidenceClause

_FAST = r"quicker|faster|sooner|speedier|earlier"
_SLOW = r"slower|longer|later"
_COMPARE = re.compile(
    rf"\b(?:(?:much|a lot|far|a bit|even)\s+)?(?P<word>{_FAST}|{_SLOW})\s+than\b", re.IGNORECASE
)
# "as quickly as", "just as long as", "takes the same time as": the two timings are one
_SAME = re.compile(
    r"\b(?P<word>(?:just\s+|exactly\s+)?as\s+(?:quickly|quick|fast|soon|long|slowly)\s+as|"
    r"(?:takes?|needs?)\s+the\s+same\s+(?:time|amount\s+of\s+time|number\s+of\s+days)\s+as)\b",
    re.IGNORECASE,
)
# "the PayPal refund will reach you before the gift card one does": which comes first
_ORDER = re.compile(r"\b(?P<word>before|ahead of|after)\b", re.IGNORECASE)
_NOT = re.compile(r"\b(?:not|never)\b|n[\u2019']t\b", re.IGNORECASE)
_STOP = re.compile(r"[;:]|\.(?!\d)")


def _timed(
    side: str,
    other: str,
    pool: Sequence[EvidenceClause],
    kinds: Callable[[str], Iterable[str]] = lambda text: (),
) -> EvidenceClause | None:
    """The one evidence clause, with a timing, that the side's words (or the kinds of what
    they name) name."""
    subject = named_subject(side, kinds)
    if not subject:
        return None
    labelled = [c for c in pool if c.timings and any(alt and alt <= subject for alt in c.label)]
    if len(labelled) == 1:
        return labelled[0]
    if labelled:
        return None
    about = [c for c in pool if c.timings and c.subject and c.subject <= subject]
    if about:
        return about[0] if len(about) == 1 else None
    # the words this side alone uses pick the clause whose subject holds most of them
    own = subject - subject_terms(other)
    scored = [(len(own & c.subject), c) for c in pool if c.timings and own & c.subject]
    best = max((n for n, _ in scored), default=0)
    chosen = [c for n, c in scored if n == best]
    return chosen[0] if len(chosen) == 1 else None


_OTHERS = re.compile(r"\b(?:all|any|every)?\s*other\b", re.IGNORECASE)


def _rest(named: EvidenceClause | None, pool: Sequence[EvidenceClause]) -> EvidenceClause | None:
    """The one timed clause of the named clause's sentence that times the others ("money
    paid with a gift card returns straight away; other payment methods take 5 to 7 business
    days"): what a side naming something else of that kind (a Visa) is timed by."""
    if named is None:
        return None
    rest = [
        c
        for c in pool
        if c is not named
        and c.timings
        and c.source == named.source
        and c.sentence == named.sentence
        and _OTHERS.search(c.text)
    ]
    return rest[0] if len(rest) == 1 else None


def _span(c: EvidenceClause) -> Timing:
    low = min(t.low for t in c.timings)
    high = max(t.high for t in c.timings)
    return Timing("duration", low, high, ", ".join(t.text for t in c.timings))


def check_timing_comparisons(text: str, pool: Sequence[EvidenceClause]) -> list[Finding]:
    """ "X is quicker than Y" or "X is as quick as Y" where the evidence times both X and Y."""
    found = _COMPARE.search(text)
    same = None if found else _SAME.search(text)
    if same is not None:
        found = same
    if found is None:
        found = _ORDER.search(text)
        if found is None or _NOT.search(text):
            return []
    # what is compared stands between the stops around it ("$312.99" holds none)
    stops = [m.start() for m in _STOP.finditer(text)]
    start = max((i + 1 for i in stops if i < found.start()), default=0)
    end = min((i for i in stops if i >= found.end()), default=len(text))
    left, right = text[start : found.start()], text[found.end() : end]
    if same is not None and _NOT.search(left):
        return []  # "is not as quick as": a comparison the other way, not a sameness
    a, b = _timed(left, right, pool), _timed(right, left, pool)
    if (a is None) != (b is None) and not _ORDER.fullmatch(found.group(0)):
        # the side naming no clause is the rest, where the evidence times "other" ones ("after
        # the cancellation" orders events, and compares no two things timed)
        a, b = a or _rest(b, pool), b or _rest(a, pool)
    denied = _NOT.search(left) or re.search(r"\bno\s+$", left, re.IGNORECASE)
    if (
        a is not None
        and a is b
        and same is None
        and _COMPARE.fullmatch(found.group(0))
        and not denied
    ):
        # "the PayPal refund is a bit quicker than a credit card one" where one clause times
        # both ("within 5 to 7 business days to a credit card or PayPal"): neither is quicker
        mine, theirs = subject_terms(left), subject_terms(right)
        if (mine - theirs) & a.subject and (theirs - mine) & a.subject:
            span = _span(a)
            why = f"the evidence gives both {span.text!r}: {found.group(0)!r} does not hold"
            return [Finding("timing", CONTRADICTED, why, a.source, a.sentence, a.span)]
    if a is None or b is None or a is b:
        return []
    if any(t.kind == "relative" for t in (*a.timings, *b.timings)):
        return []
    ta, tb = _span(a), _span(b)
    if same is not None:
        if ta.high < tb.low or tb.high < ta.low:
            why = f"the evidence gives {ta.text!r} against {tb.text!r}: they are not the same"
            return [Finding("timing", CONTRADICTED, why, a.source, a.sentence, a.span)]
        return []
    fast = re.fullmatch(rf"{_FAST}|before|ahead of", found.group("word"), re.IGNORECASE) is not None
    # a reversal: the one said quicker never comes sooner than the other (or the reverse)
    reversed_ = (ta.low >= tb.high and ta.low > tb.low) if fast else (ta.high <= tb.low < tb.high)
    if reversed_:
        why = f"the evidence gives {ta.text!r} against {tb.text!r}: {found.group(0)!r} is reversed"
        return [Finding("timing", CONTRADICTED, why, a.source, a.sentence, a.span)]
    return []


# "the gift card one will be the first to land", "the PayPal refund reaches you first"
_FIRST = re.compile(
    r"\b(?:(?:arrives?|lands?|comes?(?:\s+back)?|shows?\s+up|reach(?:es)?\s+you|(?:is|be)\s+back)"
    r"\s+(?P<end>first|last)|the\s+(?P<nth>first|last)\s+(?:one\s+)?to\s+"
    r"(?:arrive|land|come|reach|show|be\s+back))\b",
    re.IGNORECASE,
)


def check_first(
    text: str,
    pool: Sequence[EvidenceClause],
    question: str = "",
    kinds: Callable[[str], Iterable[str]] = lambda text: (),
) -> list[Finding]:
    """ "X arrives first" (or last) where the evidence times X wholly after (or before) another
    thing of the same passage that the claim or the question names."""
    found = _FIRST.search(text) if "first" in text.lower() or "last" in text.lower() else None
    if found is None or _NOT.search(text):
        return []
    start = max(text.rfind(sep, 0, found.start()) for sep in (";", ":", ".")) + 1
    a = _timed(text[start : found.start()], "", pool, kinds)
    if a is None or any(t.kind == "relative" for t in a.timings):
        return []
    names = named_subject(text, kinds) | named_subject(question, kinds)
    first = (found.group("end") or found.group("nth")).lower() == "first"
    ta = _span(a)
    for b in pool:
        if b is a or b.source != a.source or not b.timings or not _named(b, names):
            continue
        if any(t.kind == "relative" for t in b.timings):
            continue
        tb = _span(b)
        if (tb.high < ta.low) if first else (ta.high < tb.low):
            end = "first" if first else "last"
            why = f"the evidence gives {ta.text!r} against {tb.text!r}: it does not come {end}"
            return [Finding("timing", CONTRADICTED, why, a.source, a.sentence, a.span)]
    return []


def _named(c: EvidenceClause, names: set[str]) -> bool:
    """True when the words hold a clause's list label or its whole subject."""
    if c.label:
        return any(alt and alt <= names for alt in c.label)
    return bool(c.subject) and c.subject <= names


# "neither refund lands straight away", "none of the refunds is immediate": no one of a kind
# comes at once
_NONE_AT_ONCE = re.compile(
    r"\b(?:neither|no|none\s+of\s+(?:the|your|these|those))\s+"
    # a noun, not the verb of an elliptic "neither is immediate" (said of the ones just named)
    r"(?!(?:is|are|was|were|will|would|can|could|does|do|did|has|have|goes|go|comes?|one|of)\b)"
    r"(?P<noun>[a-z]{3,}?)s?\b"
    r"(?:\s+[\w-]+){0,3}?\s+(?:immediately|immediate|instantly|instant|right\s+away|at\s+once|"
    r"straight\s+away)\b",
    re.IGNORECASE,
)


def check_none_at_once(
    text: str, pool: Sequence[EvidenceClause], texts: Mapping[str, str]
) -> list[Finding]:
    """ "Neither refund lands straight away" where the evidence has one of them come at once
    ("gift card: the money is back on the card immediately", under "How long a refund takes")."""
    found = _NONE_AT_ONCE.search(text)
    if found is None:
        return []
    stem = re.compile(rf"\b{re.escape(found.group('noun').lower()[:5])}", re.IGNORECASE)
    for c in pool:
        if c.negated or not any(t.kind == "immediate" for t in c.timings):
            continue
        # the kind is named by the clause's sentence or by its passage's heading
        heading = texts.get(c.source, "").lstrip().partition("\n")[0]
        if stem.search(c.sentence) or stem.search(heading):
            why = f"the evidence has one come at once: {c.text.strip()[:80]!r}"
            return [Finding("timing", CONTRADICTED, why, c.source, c.sentence, c.span)]
    return []
