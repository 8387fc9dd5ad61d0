"""Validators over text and amounts: deterministic functions whose results become facts in a
policy request's context. None of them decides anything; the policies do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# a phone number needs separators or a country code: bare 10-digit runs are item ids here
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)"
)
_CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum that payment card numbers carry."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_numbers(text: str) -> list[str]:
    """Payment card numbers in the text: 13 to 19 digits (spaces or dashes allowed between
    them) that pass the Luhn check. Returned as digits only."""
    found: list[str] = []
    for match in _CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


def email_addresses(text: str) -> list[str]:
    """E-mail addresses in the text, lower-cased, in order of appearance."""
    return [m.group().lower() for m in _EMAIL.finditer(text)]


def phone_numbers(text: str) -> list[str]:
    """Phone numbers written with separators or a country code, as their digits."""
    return [re.sub(r"\D", "", m.group()) for m in _PHONE.finditer(text)]


@dataclass(frozen=True)
class PiiFacts:
    """Personal data found in outgoing text (counts, plus the foreign e-mail addresses)."""

    emails: int = 0
    foreign_emails: tuple[str, ...] = ()
    phones: int = 0
    card_numbers: int = 0

    def to_context(self) -> dict[str, int]:
        return {
            "emails": self.emails,
            "foreignEmails": len(self.foreign_emails),
            "phones": self.phones,
            "cardNumbers": self.card_numbers,
        }


def find_pii(texts: Iterable[str], own_emails: Iterable[str] = ()) -> PiiFacts:
    """Scan outgoing text for e-mail addresses, phone numbers and card numbers; an address
    not among `own_emails` (the customer's own) is foreign."""
    own = {e.lower() for e in own_emails}
    emails: list[str] = []
    phones = cards = 0
    for text in texts:
        emails.extend(email_addresses(text))
        phones += len(phone_numbers(text))
        cards += len(card_numbers(text))
    foreign = tuple(dict.fromkeys(e for e in emails if e not in own))
    return PiiFacts(len(emails), foreign, phones, cards)


def cents(amount: Any) -> int:
    """An amount of money in whole cents (Cedar compares integers); non-numbers count as 0."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return 0
    return round(amount * 100)


def strings_in(value: Any) -> list[str]:
    """The string values inside an argument: itself, or the strings of a list or mapping."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    return []
