"""What a clause says of how long or when: durations ("5 to 7 business days"), immediacy
("right away") and relative days ("next week"), each as a range in days, and the words of a
clause that name what the timing is said of; and the check of a claim clause's timings
against the evidence clauses that speak of the same subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.grounding.claims import content_terms, norm
from tether.grounding.facts import CONTRADICTED, SUPPORTED, Finding, leaves
from tether.grounding.meaning import declined_label, negated, sets_outside

if TYPE_CHECKING:
    from tether.grounding.evidence_clauses import EvidenceClause
    from tether.grounding.evidence_set import EvidenceSet

SUBJECT = 0.6  # share of a timing's subject words an evidence clause must hold

_UNIT_DAYS = {
    "minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "business day": 1.4, "working day": 1.4,
    "week": 7.0, "month": 30.0, "year": 365.0,
}  # fmt: skip
_NUM = (
    r"\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|"
    r"fifteen|twenty|thirty|forty|forty-five|sixty|ninety|a|an"
)
_DURATION = re.compile(
    rf"\b(?P<lo>{_NUM})(?:\s*(?:to|-|\u2013|or)\s*(?P<hi>{_NUM}))?\s*"
    r"(?P<kind>business|working|calendar)?\s*(?P<unit>minute|hour|day|week|month|year)s?\b",
    re.IGNORECASE,
)
_IMMEDIATE = re.compile(
    r"\b(?:immediately|immediate|instantly|instant|right away|at once|straight away|same[- ]day|"
    r"real[- ]time|without delay)\b",
    re.IGNORECASE,
)
# "didn't take any time at all", "takes no time": a duration denied is none
_NO_TIME = re.compile(
    r"(?:n[\u2019']t|not)\s+take\s+any\s+time(?:\s+at\s+all)?|takes?\s+no\s+time|in\s+no\s+time",
    re.IGNORECASE,
)


def without_no_time(text: str) -> str:
    """The text with its "didn't take any time" taken out: a timing, not a denial."""
    return _NO_TIME.sub(" ", text) if "time" in text.lower() else text


_WITHIN_THE = re.compile(r"\bwithin\s+the\s+(?P<unit>minute|hour|day|week|month|year)\b", re.I)
# "the next business day", "the following day": one day on
_NEXT_DAY = re.compile(
    r"\bthe\s+(?:next|following)\s+(?:(?P<kind>business|working)\s+)?day\b", re.IGNORECASE
)
_RELATIVE = re.compile(
    r"\b(?:yesterday|tomorrow|(?:last|next) (?:week|month|year|night|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)|"
    r"\d+ (?:days?|weeks?|months?|years?) ago)\b",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "sixty": 60,
    "ninety": 90,
}  # fmt: skip


@dataclass(frozen=True)
class Timing:
    """How long or when: `low`..`high` in days (0 for immediate), or a relative day."""

    kind: str  # duration | immediate | relative
    low: float
    high: float
    text: str

    def agrees(self, other: Timing) -> bool:
        """Same kind of timing and overlapping ranges (5 to 7 days meets "within 7 days")."""
        if self.kind == "relative" or other.kind == "relative":
            return self.text.lower() == other.text.lower()
        # "5 to 7 calendar days" is not the "5 to 7 business days" it overlaps
        mine, theirs = _basis(self.text), _basis(other.text)
        if mine and theirs and mine != theirs and _count(self.text) == _count(other.text):
            return False
        return self.low <= other.high + 1e-9 and other.low <= self.high + 1e-9


def _count(text: str) -> str:
    """A duration's numbers and unit, without the days it counts ("5 to 7 days")."""
    return " ".join(w for w in text.lower().split() if w not in ("calendar", "business", "working"))


def _basis(text: str) -> str:
    """The days a duration counts, when it says: "calendar", or "business" (or "working")."""
    low = text.lower()
    return (
        "calendar"
        if "calendar" in low
        else "business"
        if "business" in low or "working" in low
        else ""
    )


def _number(token: str) -> float:
    low = token.lower()
    return float(_WORD_NUMBERS[low]) if low in _WORD_NUMBERS else float(low)


# a word each timing pattern needs (a unit, "immediate", "away", "once", "time", "delay",
# "tomorrow", "night"; "yesterday" and the weekdays hold "day"): text without any states none
_CUES = (
    "minute", "hour", "day", "week", "month", "year", "immediate", "instant", "away", "once",
    "time", "delay", "tomorrow", "night",
)  # fmt: skip


def _may_state_timing(text: str) -> bool:
    # case-insensitive matching equals lower-casing only for ASCII: other text is scanned
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(cue in lowered for cue in _CUES)


_TOGETHER = re.compile(
    r"\b(?:all|everything|both|every\s+\w+)\b[^.;,:!?]{0,30}\b(?:on|in|into|onto|together)\b"
    r"[^.;,:!?]{0,12}$|\ball\s+$",
    re.IGNORECASE,
)


def timings(text: str) -> list[Timing]:
    """Every timing a clause states."""
    out: list[Timing] = []
    if not _may_state_timing(text):
        return out
    for match in _DURATION.finditer(text):
        unit = match.group("unit").lower()
        kind = (match.group("kind") or "").lower()
        per = _UNIT_DAYS.get(f"{kind} {unit}", _UNIT_DAYS[unit])
        low = _number(match.group("lo"))
        high = _number(match.group("hi")) if match.group("hi") else low
        within = re.search(r"\b(?:within|up to|in under|less than)\s+$", text[: match.start()])
        if within and not match.group("hi"):  # "within 5 to 7 days" still says 5 to 7
            low = 0.0
        out.append(Timing("duration", low * per, high * per, match.group(0)))
    for match in _WITHIN_THE.finditer(text):  # "within the hour": at most one
        out.append(Timing("duration", 0.0, _UNIT_DAYS[match.group("unit").lower()], match[0]))
    for match in _NEXT_DAY.finditer(text):
        per = _UNIT_DAYS["business day" if match.group("kind") else "day"]
        out.append(Timing("duration", per, per, match.group(0)))
    for match in _IMMEDIATE.finditer(text):
        # "everything goes on it at once", "all at once": together, not straight away
        if match.group(0).lower() == "at once" and _TOGETHER.search(text, 0, match.start()):
            continue
        out.append(Timing("immediate", 0.0, 0.0, match.group(0)))
    if "time" in text.lower():
        out.extend(Timing("immediate", 0.0, 0.0, m.group(0)) for m in _NO_TIME.finditer(text))
    for match in _RELATIVE.finditer(text):
        out.append(Timing("relative", 0.0, 0.0, match.group(0)))
    return out


def has_timing(text: str) -> bool:
    """True when the text states any timing."""
    return _may_state_timing(text) and bool(
        _DURATION.search(text)
        or _IMMEDIATE.search(text)
        or _RELATIVE.search(text)
        or _WITHIN_THE.search(text)
        or _NEXT_DAY.search(text)
    )


_TIMING_WORDS = frozenset(
    norm(w)
    for w in [
        "immediately",
        "instantly",
        "instant",
        "right",
        "away",
        "once",
        "straight",
        "same",
        "day",
        "days",
        "business",
        "working",
        "calendar",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "hour",
        "hours",
        "minute",
        "minutes",
        "take",
        "takes",
        "within",
        "arrive",
        "arrives",
        "yesterday",
        "today",
        "tomorrow",
        "last",
        "next",
        "ago",
        "recently",
    ]
)


def subject_terms(text: str) -> set[str]:
    """A clause's content words without its timing words: what the timing is said of."""
    return {t for t in content_terms(text) if t not in _TIMING_WORDS}


def check_timing(
    body: str,
    pool: Sequence[EvidenceClause],
    whole: str = "",
    recorded: Callable[[], Sequence[Timing]] = tuple,
    kinds: Callable[[str], Iterable[str]] = lambda text: (),
    classes: Callable[[str], Iterable[str]] = lambda text: (),
) -> list[Finding]:
    """What the evidence says of the timings a claim clause states: agrees, says otherwise
    of the same subject, or says nothing of it. A clause whose own words name no subject the
    evidence times ("its refunds arrive straight away") is read with its sentence's (`whole`);
    a timing a record holds as a value ("battery life: 8 hours") is `recorded`. `kinds` gives
    the class member a text's words name ("Mastercard" → credit card), so a subject named by
    a member of a kind the evidence times is timed as that kind; `classes` the classes of
    those members ("PayPal" → payment method), so that one is timed by what the evidence says
    of "other payment methods", unless the sentence names it beside them."""
    # "Because you're moving to a gift card, the $5,594.62 comes back to your Visa at once":
    # a leading reason names no subject of the timings the main clause states
    reason = _LEADING_REASON.match(body)
    if reason is not None and not timings(reason.group(0)):
        body = body[reason.end() :]
    said = [t for t in timings(body) if not _set_aside(body, t)]
    denied = negated(without_no_time(body))
    if denied:
        said = [t for t in said if t.kind != "relative"]  # "won't be possible next week"
    if not said:
        return []
    members = set(kinds(body))
    found = _check(said, named_subject(body, kinds), pool, True, members, kinds)
    if any(f.status == "unsupported" for f in found) and set(classes(body)):
        # "reaches PayPal" read as a payment method, for "other payment methods take …"
        subject = named_subject(body, kinds, classes)
        again = _check(said, subject, pool, True, members, kinds)
        found = [a if f.status == "unsupported" else f for f, a in zip(found, again, strict=True)]
    if whole and whole != body and any(f.status == "unsupported" for f in found):
        # a kind the sentence names is the clause's only when it names no other
        named = set(kinds(whole))
        around = named_subject(whole, kinds) if len(named) == 1 else subject_terms(whole)
        again = _check(said, around, pool)
        found = [a if f.status == "unsupported" else f for f, a in zip(found, again, strict=True)]
        # "… the gift card refund: it's returned at once": the subject may be named in the
        # sentence around the clause, which then only bears the timing out, never overrules
        again = _check(said, around, pool, loose=True)
        found = [
            a if f.status == "unsupported" and a.status == SUPPORTED else f
            for f, a in zip(found, again, strict=True)
        ]
    lead = _LABEL.match(whole) if whole and whole != body else None
    if lead is not None and any(f.status == "unsupported" for f in found):
        # "Mastercard payment: returned within 5 to 7 business days": the label is the subject
        # of a line saying none of its own, read as "the Mastercard payment is returned …"
        line = f"{lead.group(1)} {body}"
        again = _check(said, named_subject(line, kinds), pool, True, set(kinds(line)), kinds)
        found = [
            a if f.status == "unsupported" and a.status == SUPPORTED else f
            for f, a in zip(found, again, strict=True)
        ]
    if declined_label(whole or body) or sets_outside(whole or body):
        # "Verified for a week: nowhere in our steps" declines the timing it labels, and "…
        # for a month is a point our steps are silent on" the one it names; "A PayPal account
        # opened tomorrow: no" declines a timing the evidence says otherwise too
        label = (whole or body).partition(":")[0] if declined_label(whole or body) else ""
        labelled = [f"not {t.text!r}:" for t in said if label and t.text in label]
        found = [
            f
            for f in found
            if f.status != "unsupported"
            and not (f.status == CONTRADICTED and any(x in f.reason for x in labelled))
        ]
    if denied:
        # "the PayPal refund won't be instant", "so it won't be back within 24 hours": denying
        # a timing the evidence gives otherwise says what it says, whichever subject it is read
        # with; "the gift card refund won't be instant", where the evidence gives it at once,
        # denies the very timing the evidence gives the subject it names (of an "it" the
        # sentence around leaves unsure, nothing)
        found = [
            _denied_given(f) if f.status == SUPPORTED and members and _denied_at(body, f) else f
            for f in found
            if f.status != CONTRADICTED
        ]
    if any(f.status == "unsupported" for f in found):
        # a timing a record holds as a value backs the claim's; findings do not follow the
        # timings one to one (a timing the evidence gives without a subject yields none), so
        # each is matched to its timing by the text it names
        held = recorded()
        backed = {t.text for t in said if any(t.agrees(r) for r in held)}
        found = [f for f in found if f.status != "unsupported" or _unstated(f) not in backed]
    return found


# a negation right before a timing: "won't be instant", "isn't immediate", "not at once"
_DENIED_RIGHT_BEFORE = re.compile(
    r"(?:n[\u2019']t|\bnot|\bnever)(?:\s+(?:be|been|come|arrive|happen|land|show\s+up))?\s*$",
    re.IGNORECASE,
)


def _denied_at(body: str, found: Finding) -> bool:
    """Whether the negation bears on the timing a finding agrees with: it stands right before
    where the claim says it."""
    said = _AGREES.match(found.reason)
    at = body.find(said.group(1)) if said is not None else -1
    return at > 0 and _DENIED_RIGHT_BEFORE.search(body, 0, at) is not None


def _denied_given(found: Finding) -> Finding:
    """A timing the evidence gives the subject, denied: contradicted by what it gives."""
    why = f"the evidence gives {found.reason.removesuffix(' agrees')} of it, which the claim denies"
    return Finding("timing", CONTRADICTED, why, found.where, found.quote, found.span)


_AGREES = re.compile(r"^'(.+)' agrees$")
_NO_TIMING = re.compile(r"^the evidence states no timing '(.+)' for this$")


def _unstated(found: Finding) -> str:
    """The timing an unsupported finding says the evidence does not state."""
    said = _NO_TIMING.match(found.reason)
    return said.group(1) if said is not None else ""


_LEADING_REASON = re.compile(
    r"^\W*(?:because|since|as|now\s+that|given\s+that)\s+[^,;:]{3,80},\s*", re.IGNORECASE
)
# "Mastercard payment: …": a line's label of a few words
# (an amount may stand in it: "Original $312.45 on the Mastercard: returned within …")
_LABEL = re.compile(r"^\W*([A-Za-z][\w'\u2019 $.,#-]{0,50}?)\s*:\s")
# "in 5 to 7 business days rather than at once": the second timing is the one not said
_SET_ASIDE = re.compile(
    r"\b(?:rather\s+than|instead\s+of|as\s+opposed\s+to)\s+(?:(?:in|within|after)\s+)?$",
    re.IGNORECASE,
)


def _set_aside(body: str, t: Timing) -> bool:
    """Whether the clause names the timing only to set it aside ("rather than at once")."""
    at = body.lower().find(t.text.lower())
    return at > 0 and _SET_ASIDE.search(body, 0, at) is not None


def named_subject(
    text: str,
    kinds: Callable[[str], Iterable[str]],
    classes: Callable[[str], Iterable[str]] = lambda text: (),
) -> set[str]:
    """What a clause's timing is said of, with the kind each class member it names is of (and
    the class it is of, given `classes`)."""
    out = subject_terms(text)
    for kind in (*kinds(text), *classes(text)):
        out.update(subject_terms(kind))
    return out


def _check(
    said: list[Timing],
    subject: set[str],
    pool: Sequence[EvidenceClause],
    loose: bool = False,
    members: set[str] | None = None,
    kinds: Callable[[str], Iterable[str]] = lambda text: (),
) -> list[Finding]:
    """One finding per timing in `said`, in order, for a clause about `subject`; `loose` also
    matches a short evidence clause whose words the subject holds (`_names_all`). `members`
    are the class members the claim names (`kinds` reads a text's): a clause beside "other
    payment methods" that names one of them singles it out of the rest."""
    timed = [c for c in pool if c.timings]
    out: list[Finding] = []
    for t in said:
        labelled = [(_label_score(subject, c), c) for c in timed]
        top = max((score for score, _ in labelled), default=0.0)
        if top >= 0.5:
            # the list item whose label best names the claim's subject decides its timing
            best = [c for score, c in labelled if score == top]
            # items under one label ("returned: at once to a voucher, or within 3 to 4 days to
            # a bank transfer") are told apart by what each names beyond the label
            beyond = [(len(subject & c.subject.difference(*c.label)), c) for c in best]
            most = max(n for n, _ in beyond)
            if most >= 2:  # two words of its own ("bank transfer"), not a stray "back"
                best = [c for n, c in beyond if n == most]
            agree = next((c for c in best if any(t.agrees(e) for e in c.timings)), None)
            if agree is not None:
                out.append(_agrees(t, agree))
            else:
                out.append(_clash(t, best[0]))
            continue
        agreeing = [c for c in timed if any(t.agrees(e) for e in c.timings)]
        differing = [c for c in timed if not any(t.agrees(e) for e in c.timings)]
        about = [
            c
            for c in agreeing
            if _about(subject, c) or (loose and (_names_all(subject, c) or _names_one(subject, c)))
        ]
        if about:
            out.append(_agrees(t, about[0]))
            continue
        # a short clause without a list label agrees but never overrules ("Cook 1-2 minutes"
        # is one step of several)
        clash = [
            c
            for c in differing
            if _about(subject, c)
            or (loose and ((c.label and _names_all(subject, c)) or _names_one(subject, c)))
        ]
        if clash:
            out.append(_clash(t, clash[0]))
            continue
        if agreeing and not subject:
            continue
        # "…a gift card straight away; other payment methods take 5 to 7 days": a subject
        # the sentence does not single out falls under the rest, whatever it is called
        rest = [
            c
            for c in timed
            if t.kind != "relative" and _for_the_rest(c) and subject & _sentence_terms(c)
        ]
        # "money paid with a gift card returns … straight away; other payment methods …": a
        # member the sentence names beside the rest is timed by the clause naming it, when it
        # is all the claim names ("unlike a gift card, a credit card takes …" names another)
        # and the clause says one timing (of two, which is the member's is unclear)
        singled = [
            c
            for c in timed
            if members
            and len(said) == 1
            and c not in rest
            and any(c.sentence == r.sentence for r in rest)
            and members <= set(kinds(c.text))
        ]
        if singled:
            fits = next((c for c in singled if any(t.agrees(e) for e in c.timings)), None)
            out.append(_agrees(t, fits) if fits is not None else _clash(t, singled[0]))
            continue
        if rest:
            fits = next((c for c in rest if any(t.agrees(e) for e in c.timings)), None)
            # a timing of what the sentence did single out, named in a clause saying both
            # ("unlike a gift card, refunded straight away, a credit card takes…")
            fits = fits or next((c for c in agreeing if len(subject & c.subject) >= 2), None)
            out.append(_agrees(t, fits) if fits is not None else _clash(t, rest[0]))
            continue
        out.append(
            Finding(
                "timing",
                "unsupported",
                f"the evidence states no timing {t.text!r} for this",
                agreeing[0].source if agreeing else "",
            )
        )
    return out


def _agrees(t: Timing, c: EvidenceClause) -> Finding:
    return Finding("timing", SUPPORTED, f"{t.text!r} agrees", c.source, c.sentence, c.span)


def _clash(t: Timing, c: EvidenceClause) -> Finding:
    stated = ", ".join(e.text for e in c.timings)
    return Finding(
        "timing",
        CONTRADICTED,
        f"the evidence says {stated!r}, not {t.text!r}: {c.sentence.strip()[:80]!r}",
        c.source,
        c.sentence,
        c.span,
    )


# what a sentence says of everything it has not named: "other payment methods", "the rest"
# ("the other officer" is one named thing, not the rest: the rest is a plural, unled by "the")
_REST = re.compile(
    r"(?<!\bthe )\b(?:(?:all|any|every|each)\s+)?other\s+(?:\w+\s+)?\w+s\b|"
    r"\b(?:the rest|everything else|anything else)\b",
    re.IGNORECASE,
)


def _for_the_rest(c: EvidenceClause) -> bool:
    """True when an evidence clause's timing is said of what its sentence has not named."""
    found = _REST.search(c.text)
    return found is not None and not negated(c.text) and not c.label


def _sentence_terms(c: EvidenceClause) -> set[str]:
    return set(content_terms(c.sentence))


def _label_score(subject: set[str], c: EvidenceClause) -> float:
    """How fully the clause's list-item label names the subject (best alternative)."""
    return max((len(alt & subject) / len(alt) for alt in c.label if alt), default=0.0)


def _about(subject: set[str], c: EvidenceClause) -> bool:
    """True when an evidence clause speaks of the claim's subject: its label's words are all
    in the claim, or it holds most of the claim's subject words."""
    if c.label:
        return any(alternative <= subject for alternative in c.label)
    if not subject:
        return False
    return len(subject & c.subject) / len(subject) >= SUBJECT


def _names_all(subject: set[str], c: EvidenceClause) -> bool:
    """True when the claim names most of what a list item or a short clause gives a duration
    of ("… within 5 to 7 business days to a credit card or PayPal" for "comes back to your
    credit card"); a date an event had ("the footage from last year") is no timing of it."""
    shared = subject & c.subject
    return (
        (bool(c.label) or len(c.subject) <= 3)
        and len(shared) >= 2
        and len(shared) / len(c.subject) >= SUBJECT
        and all(t.kind != "relative" for t in c.timings)
    )


def _names_one(subject: set[str], c: EvidenceClause) -> bool:
    """True when the claim names one whole alternative of a short clause timing several ("…
    within 5 to 7 business days to a credit card or PayPal" for "the PayPal payment comes
    back"): the timing is said of each of them."""
    if c.label or any(t.kind == "relative" for t in c.timings):
        return False
    parts = [subject_terms(part) for part in _ALTERNATIVES.split(c.text)]
    return len(parts) >= 2 and len(c.subject) <= 4 and any(p and p <= subject for p in parts)


_ALTERNATIVES = re.compile(r",\s*(?:or\s+)?|\s+or\s+", re.IGNORECASE)


def recorded_timings(evidence: EvidenceSet) -> list[Timing]:
    """The timings a record holds as values ("battery life": "8 hours")."""
    return [
        t
        for record in evidence.records.values()
        for fact in leaves(record)
        if isinstance(fact.value, str) and len(fact.value) <= 40
        for t in timings(fact.value)
    ]
