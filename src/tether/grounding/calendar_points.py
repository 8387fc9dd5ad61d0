"""Calendar points: when an answer says something happened or will happen ("delivered on
Monday morning", "placed over the weekend", "the day after it shipped", "added last spring").
Evidence that states no time at all (no date, year, clock time, weekday, month or part of the day)
cannot ground one; the claim is unsupported. Durations and immediacy ("5 to 7 business
days", "right away") are the timing checks' to judge, and so is a point where the evidence
states times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tether.grounding.claims import norm
from tether.grounding.facts import UNSUPPORTED, Finding
from tether.grounding.meaning import negated, sets_outside

_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH = (
    r"(?:January|February|March|April|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?"
)
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
_PART = r"(?:morning|afternoon|evening|night|midnight|noon|weekend)"
# what places an event in time: a weekday, a part of the day or a season after a word that
# makes it a time ("on a Saturday morning", "last spring", "over the weekend"), a relative
# day, or a day counted from another event ("the day after they shipped")
_POINT = re.compile(
    rf"\b(?:{_WEEKDAY}s?\b"
    rf"|(?:on|by|this|last|next|that|one|a|the|early|late|in\s+the|over\s+the|at)\s+"
    rf"(?:{_SEASON}|{_PART})s?\b"
    r"|yesterday|overnight|tonight|(?:last|next)\s+(?:week|month|year)\b"
    # "expires at the end of the year", "by the start of next month", "at year-end"
    r"|(?:the\s+)?(?:end|start|beginning|middle)\s+of\s+(?:the|this|next|last)\s+"
    r"(?:week|month|year|quarter)\b|\byear[- ]end\b"
    r"|earlier\s+(?:today|this\s+(?:week|month|year))"
    r"|(?:a|one|two|three|four|five|six|\d+)\s+(?:days?|weeks?|months?|years?)\s+ago"
    r"|the\s+(?:same\s+)?day\s+(?:after|before|it|they|you|we|of)\b)",
    re.IGNORECASE,
)
_MONTH_POINT = re.compile(rf"\b(?:in|on|by|since|last|next|this|early|late|mid-?)\s+{_MONTH}")
# what in the evidence states a time: a date, a year or a clock time, or a word naming a day, a
# month, a part of the day or a season (compared in the form the evidence's index keeps its
# words in)
_STATED = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d:\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|"
    r"\b(?:in|since|from|by|of|until|till|before|after|around|circa|year)\s+(?:1[5-9]|20)\d{2}\b"
)
_TIME_WORDS = frozenset(
    norm(w)
    for w in [
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "yesterday", "today", "tomorrow", "tonight",
        "morning", "afternoon", "evening", "night", "midnight", "noon", "weekend", "spring",
        "summer", "autumn", "fall", "winter", "date", "dated", "time", "timestamp",
        # cut short ("Oct. 4", "Sat"): a word that is also something else ("sun", "mar")
        # only makes the evidence read as dated, which leaves a time to the timing checks
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    ]
)  # fmt: skip


def states_time(terms: frozenset[str] | set[str], texts: Iterable[str]) -> bool:
    """True when the evidence, by its indexed words (`terms`) or its texts, states a time."""
    return not _TIME_WORDS.isdisjoint(terms) or any(_STATED.search(t) for t in texts)


def check_calendar_points(body: str, dated: bool, question: str = "") -> list[Finding]:
    """An unsupported finding for a clause placing something at a point in time, when the
    evidence (`dated` False) states no time at all. A clause denying the time ("it wasn't
    delivered on Monday") or putting it outside the rules ("staying verified until Friday is
    a point our steps are silent on") adds nothing, and neither does a point the customer's
    own words name ("the order you placed on March 3rd")."""
    if dated or negated(body) or sets_outside(body):
        return []
    found = _POINT.search(body) or _MONTH_POINT.search(body)
    if found is None:
        return []
    said = " ".join(found.group(0).split())
    named = {w for w in _WORD.findall(said.lower()) if w not in _FILLERS}
    if named & set(_WORD.findall(question.lower())):
        return []
    return [Finding("timing", UNSUPPORTED, f"the evidence states no time, not {said!r}", "")]


_WORD = re.compile(r"[a-z0-9]+")
# the words that make a point of a time word, which alone never name the time
_FILLERS = frozenset(
    ["on", "by", "this", "last", "next", "that", "one", "a", "the", "early", "late", "in",
     "over", "at", "ago", "same", "it", "they", "you", "we", "of", "after", "before", "day",
     "days", "earlier", "mid"]
)  # fmt: skip
