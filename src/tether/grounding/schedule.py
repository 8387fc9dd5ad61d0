"""Opening hours: what a claim says about days and times, checked against a weekly schedule.

A record holds a schedule when some mapping in it is keyed by weekday names with values like
``"9:0-17:30"``. A claim that names days ("Monday through Friday", "weekends", "daily") or
clock times ("until 9 PM") is contradicted when the schedule disagrees, and unsupported when
the record has an hours field without a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.grounding.claims import WEEKDAYS, clock_times
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{1,2})\s*-\s*(\d{1,2}):(\d{1,2})\s*$")
_SHORT = {day[:3]: day for day in WEEKDAYS} | {
    "tues": "tuesday",
    "thur": "thursday",
    "thurs": "thursday",
}
_DAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:[a-z]*day)?s?"
_DAY_RANGE = re.compile(
    rf"\b({_DAY})\b\s*(?:-|\u2013|to|through|thru|until|till)\s*\b({_DAY})\b", re.IGNORECASE
)
_DAY_WORD = re.compile(rf"\b({_DAY})\b", re.IGNORECASE)
_EVERY_DAY = re.compile(
    r"\b(?:seven|7)\s+days|\bevery\s?day\b|\bdaily\b|\ball week\b|\bweek-?long\b|"
    r"\bevery day of the week\b|\ball days\b",
    re.IGNORECASE,
)
_WEEKDAYS_WORD = re.compile(r"\bweekdays?\b|\bweeknights?\b", re.IGNORECASE)
_WEEKEND_WORD = re.compile(r"\bweekends?\b", re.IGNORECASE)
_CLOSED = re.compile(r"\bclosed\b|\bnot open\b|\bexcept\b", re.IGNORECASE)
_HOURS_TALK = re.compile(
    r"\bhours\b|\bopen(?:s|ing)?\b|\bcloses?\b|\bclosing\b|\buntil\b|\boperat", re.IGNORECASE
)
_SEGMENT = re.compile(r"[,;]|\band\b(?=\s+(?:from|on|until|till|\d))|\bwhile\b|\bwith\b", re.I)
_OTHER_PERIOD = re.compile(r"\bhappy hours?\b|\bspecials?\b|\bbrunch\b", re.IGNORECASE)
_NOON_MIDNIGHT = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ScheduleFinding:
    """One disagreement (or agreement) between a claim and the schedule."""

    kind: str  # time | days | every_day | unknown
    phrase: str
    status: str

    def to_dict(self) -> dict[str, str]:
        """The finding as JSON-ready data."""
        return {"kind": self.kind, "phrase": self.phrase, "status": self.status}


@dataclass(frozen=True)
class Schedule:
    """Opening hours per weekday, in minutes after midnight; a day without hours is closed."""

    hours: Mapping[str, tuple[int, int]]

    @property
    def open_days(self) -> frozenset[str]:
        """The weekdays with opening hours."""
        return frozenset(self.hours)

    def knows_time(self, minute: int, days: frozenset[str] | set[str] | None = None) -> bool:
        """True when one of `days` (default: any) opens or closes at this clock time.

        Midnight closes are 0:00 or 24:00; a close written before its opening ("11:0-2:0",
        "17:0-9:0") is also read twelve hours later, as listings mix 12- and 24-hour times.
        """
        for day, (start, stop) in self.hours.items():
            if days is not None and day not in days:
                continue
            if minute % 1440 in (start, stop % 1440):
                return True
            if stop <= start and minute == (stop + 720) % 1440:
                return True
        return False


def _parse_span(value: Any) -> tuple[int, int] | None:
    match = _RANGE.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1, h2, m2) == (0, 0, 0, 0):
        return None  # the listings write a closed day as 0:0-0:0
    return (h1 % 24) * 60 + m1, (h2 % 24) * 60 + m2


def find_schedule(record: Any) -> Schedule | bool | None:
    """The record's schedule; False when it has none; None when its hours field is empty."""
    if not isinstance(record, Mapping):
        return False
    for key, value in record.items():
        if isinstance(value, Mapping) and any(str(k).lower() in WEEKDAYS for k in value):
            hours = {}
            for day, span in value.items():
                parsed = _parse_span(span)
                if str(day).lower() in WEEKDAYS and parsed is not None:
                    hours[str(day).lower()] = parsed
            return Schedule(hours)
        if str(key).lower() in ("hours", "opening_hours", "schedule") and value is None:
            return None
    for value in record.values():
        found = find_schedule(value) if isinstance(value, Mapping) else False
        if found is not False:
            return found
    return False


def _day(word: str) -> str:
    low = word.lower().rstrip("s")
    return _SHORT.get(low[:4], _SHORT.get(low[:3], low))


def days_named(text: str) -> set[str]:
    """The weekdays a text names, with ranges ("Tuesday to Friday") and weekdays/weekends."""
    named: set[str] = set()
    for match in _DAY_RANGE.finditer(text):
        first, last = WEEKDAYS.index(_day(match.group(1))), WEEKDAYS.index(_day(match.group(2)))
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        named.update(WEEKDAYS[i] for i in span)
    named.update(_day(m.group(1)) for m in _DAY_WORD.finditer(text))
    if _WEEKDAYS_WORD.search(text):
        named.update(WEEKDAYS[:5])
    if _WEEKEND_WORD.search(text):
        named.update(WEEKDAYS[5:])
    return {d for d in named if d in WEEKDAYS}


def times_named(text: str) -> list[int]:
    """Clock times in a text, with noon and midnight."""
    found = clock_times(text)
    for match in _NOON_MIDNIGHT.finditer(text):
        found.append(0 if match.group(1).lower() == "midnight" else 720)
    return found


def check_schedule(text: str, schedule: Schedule | None) -> list[ScheduleFinding]:
    """Judge what one claim says about opening days and times against `schedule`.

    With `schedule` None (the record's hours are empty), any day, time or every-day phrase in
    a claim about hours is unsupported.
    """
    if _OTHER_PERIOD.search(text):
        return []  # a happy hour or a special has hours of its own
    days, times = days_named(text), times_named(text)
    every = next((m for m in _EVERY_DAY.finditer(text) if m.group(0)[0].islower()), None)
    if every is not None and not _HOURS_TALK.search(text):
        every = None
    talks = bool(days or times or every)
    if not talks:
        return []
    if schedule is None:
        if _HOURS_TALK.search(text) or times:
            return [ScheduleFinding("unknown", text[:60], UNSUPPORTED)]
        return []
    findings: list[ScheduleFinding] = []
    for minute in times:
        findings.append(
            ScheduleFinding("time", _clock(minute), _status(schedule.knows_time(minute)))
        )
    findings.extend(_paired_times(text, schedule))
    if every is not None:
        findings.append(
            ScheduleFinding("every_day", every.group(0), _status(len(schedule.hours) == 7))
        )
    if days:
        closed_claim = bool(_CLOSED.search(text))
        wrong = days & schedule.open_days if closed_claim else days - schedule.open_days
        if _HOURS_TALK.search(text) or times or closed_claim:
            findings.append(
                ScheduleFinding("days", ",".join(sorted(wrong or days)), _status(not wrong))
            )
    return findings


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _paired_times(text: str, schedule: Schedule) -> list[ScheduleFinding]:
    """Times said of particular days ("9 AM to 6 PM Monday to Saturday") must hold on each.

    A part of the claim pairs its times with its own days, or with the days of the part just
    before it ("on Sundays, it opens at 9"). A day the claim also names in another part is
    left to that part ("until 7:30 daily, until 8 on Fridays").
    """
    findings: list[ScheduleFinding] = []
    previous: set[str] = set()
    parts = [days_named(part) for part in _SEGMENT.split(text)]
    for index, part in enumerate(_SEGMENT.split(text)):
        days, times = parts[index], times_named(part)
        elsewhere = set().union(*(d for i, d in enumerate(parts) if i != index))
        paired = days or previous
        for minute in times:
            if not schedule.knows_time(minute):
                continue
            for day in sorted(paired & schedule.open_days):
                if day in elsewhere and day not in previous and days:
                    continue
                if not schedule.knows_time(minute, {day}):
                    findings.append(
                        ScheduleFinding("time", f"{day} {_clock(minute)}", CONTRADICTED)
                    )
        previous = days
    return findings


def _status(ok: bool) -> str:
    return SUPPORTED if ok else CONTRADICTED
