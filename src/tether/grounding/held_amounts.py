"""An amount the evidence says something holds, compared in a claim with another amount: "the
gift card holds more than the $15 difference" where the question says "my gift card has $10 on
it". The holder is matched by its words; a comparison the held amount bears out, or one of a
holder the evidence gives no amount for, decides nothing. An amount a claim says covers a bigger
one it states is contradicted too ("your gift card, with $400 on it, covers the $415.65 total").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tether.grounding.arithmetic import money
from tether.grounding.claims import content_terms
from tether.grounding.facts import CONTRADICTED, Finding
from tether.grounding.meaning import negated

if TYPE_CHECKING:
    from tether.grounding.evidence_clauses import EvidenceClause

_HOLDS = r"(?:holds?|has|have|carries|carry)"
_COMPARED = re.compile(
    rf"(?P<who>[^.;:,]{{2,60}}?)\b{_HOLDS}\s+(?:only\s+|just\s+)?(?P<cmp>more|less)\s+than\s+"
    r"(?P<what>[^.;,]{1,40})",
    re.IGNORECASE,
)
_GIVEN = re.compile(
    rf"(?P<who>[^.;:,]{{2,60}}?)\b{_HOLDS}\s+(?:only\s+|just\s+)?(?P<held>[$\u20ac\u00a3]\s?\d[\d,]*(?:\.\d+)?)",
    re.IGNORECASE,
)


def check_held_amounts(text: str, sentences: Sequence[EvidenceClause]) -> list[Finding]:
    """A claim that something holds more (or less) than an amount, against what the evidence
    says it holds."""
    if " than " not in text.lower():
        return []  # no comparison said: the usual case, skipped without the pattern
    said = _COMPARED.search(text)
    if said is None or negated(said.group(0)):
        return []
    against = money(said.group("what"))
    who = set(content_terms(said.group("who")))
    if not against or not who:
        return []
    more = said.group("cmp").lower() == "more"
    seen: set[str] = set()
    for c in sentences:
        if c.sentence in seen:
            continue
        seen.add(c.sentence)
        for given in _GIVEN.finditer(c.sentence):
            holder = set(content_terms(given.group("who")))
            named = holder & who
            if not named or (len(named) < 2 and named != holder):
                continue
            held = money(given.group("held"))[0]
            if (held <= against[0]) if more else (held >= against[0]):
                why = (
                    f"the evidence gives {given.group('held')!r} held, not "
                    f"{said.group('cmp')} than {against[0]:g}"
                )
                return [Finding("amount", CONTRADICTED, why, c.source, c.sentence, c.span)]
    return []


# what a clause says an amount pays in full: "your second gift card, with $400 on it, covers the
# $415.65 total", "the $20 on it is enough to cover the $24.10", "the $12.40 …, since its $20 is
# more than enough for it"
_COVERS = re.compile(
    r"\b(?:covers?|covering|(?:is|are)\s+(?:(?:more\s+than|easily|plenty|quite)\s+)?enough\s+"
    r"(?:to\s+cover|for)|pays?\s+for)\s+"
    r"(?:(?P<it>it|that|this)\b|(?:all\s+of\s+)?(?:the\s+|your\s+)?(?:whole\s+|full\s+|"
    r"entire\s+)?(?P<what>[$\u20ac\u00a3]\s?\d[\d,]*(?:\.\d+)?))",
    re.IGNORECASE,
)


_STOP = re.compile(r"[.;!?](?=\s|$)")


def check_covered(text: str, before: Sequence[float] = ()) -> list[Finding]:
    """A claim that an amount it states covers a bigger one it states: $400 pays no $415.65.
    The amount nearest before, in the same sentence, is what is said to cover; a denial ("the
    $400 card doesn't cover the $415.65") says what the figures do. "It" or "that" with no
    amount before it in the sentence is the last amount of the sentence before (`before`):
    "… = $7.50. Your gift card's $5.20 is more than enough to cover that"."""
    # a sentence ends at a stop before a space, not at the point of "$12.40"
    stops = [m.end() for m in _STOP.finditer(text)]
    for said in _COVERS.finditer(text):
        at = bisect_right(stops, said.start())
        start = stops[at - 1] if at else 0
        held = money(text[start : said.start()])
        if not held or negated(text[start : said.end()]):
            continue
        # "since its $9 is more than enough for it": "it" is the amount said before
        if said.group("it") and len(held) < 2 and not before:
            continue
        if said.group("it"):
            needed = held[-2] if len(held) >= 2 else before[-1]
        else:
            needed = money(said.group("what"))[0]
        if held[-1] < needed - 0.005:
            why = f"{held[-1]:g} is less than the {needed:g} it is said to cover"
            return [Finding("amount", CONTRADICTED, why, "")]
    return []


# "its $450.00 balance is more than the $612.40 total": two amounts the clause compares itself
_TWO_COMPARED = re.compile(
    r"[$\u20ac\u00a3]\s?(?P<a>\d[\d,]*(?:\.\d+)?)[^$\u20ac\u00a3.;:!?]{0,40}?\b(?:is|are|was|were|comes?\s+to)\s+"
    r"(?:well\s+|far\s+|much\s+|a\s+(?:bit|little)\s+|slightly\s+|just\s+)?"
    r"(?P<how>more|greater|higher|bigger|larger|over|above|less|lower|smaller|under|below)"
    r"(?:\s+than)?\s+(?:the\s+|your\s+|its\s+)?[$\u20ac\u00a3]\s?(?P<b>\d[\d,]*(?:\.\d+)?)",
    re.IGNORECASE,
)
_MORE = frozenset(("more", "greater", "higher", "bigger", "larger", "over", "above"))


def check_compared_amounts(text: str) -> list[Finding]:
    """A clause saying one amount it states is more (or less) than another it states, which the
    figures do not bear out: "$450.00 … is more than the $612.40 total". A denial ("isn't more
    than") says what the figures do, and is left alone."""
    for m in _TWO_COMPARED.finditer(text):
        if negated(text[max(0, m.start() - 20) : m.end()]):
            continue
        a, b = (float(m.group(n).replace(",", "")) for n in ("a", "b"))
        more = m.group("how").lower() in _MORE
        if (a > b) != more and abs(a - b) > 0.005:
            why = f"{a:g} is {'less' if more else 'more'} than {b:g}"
            return [Finding("amount", CONTRADICTED, why, "")]
    return []
