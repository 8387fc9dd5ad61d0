"""What a clause says of how long or when: durations ("5 to 7 business days"), immediacy
("right away") and relative days ("next week"), each as a range in days, and the words of a
clause that name what the timing is said of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether.grounding.claims import content_terms, norm

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
        return self.low <= other.high + 1e-9 and other.low <= self.high + 1e-9


def _number(token: str) -> float:
    low = token.lower()
    return float(_WORD_NUMBERS[low]) if low in _WORD_NUMBERS else float(low)


def timings(text: str) -> list[Timing]:
    """Every timing a clause states."""
    out: list[Timing] = []
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
    for match in _IMMEDIATE.finditer(text):
        out.append(Timing("immediate", 0.0, 0.0, match.group(0)))
    for match in _RELATIVE.finditer(text):
        out.append(Timing("relative", 0.0, 0.0, match.group(0)))
    return out


def has_timing(text: str) -> bool:
    """True when the text states any timing."""
    return bool(_DURATION.search(text) or _IMMEDIATE.search(text) or _RELATIVE.search(text))


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
