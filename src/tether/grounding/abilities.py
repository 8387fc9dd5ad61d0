"""An ability the evidence lists, said not to be there: "the desk can't look up your profile"
where the evidence says "our support desk can look up your profile, orders and products, …".

A list of what someone can do is one sentence of many acts, so no denied act restates it word
for word; the act itself does. The act a clause denies is read up to its first stop or joining
word ("look up your profile"), and the evidence denies it nothing when the same words follow a
"can" in a sentence with no denial of its own between them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.meaning import negated

# "can't look up", "cannot cancel", "isn't able to update", "won't be able to change"
_CANNOT = re.compile(
    r"\b(?:can[\u2019']?t|cannot|can\s+not|(?:is|are|am)(?:n[\u2019']t|\s+not)\s+able\s+to|"
    r"won[\u2019']t\s+be\s+able\s+to|will\s+not\s+be\s+able\s+to)\s+(?P<act>[^,;:.!?()]+)",
    re.IGNORECASE,
)
_ACT_END = re.compile(r"\s(?:and|or|but|because|since|so|unless|until|if|when|for\s+you)\s", re.I)
# "can", not "can't", "cannot" or "can not"
_CAN = re.compile(r"\bcan\b(?![\u2019']t)(?!\s+not\b)", re.IGNORECASE)
# "if hot water can't get them clean": a case, not a denial; "can not only": emphasis
_CASE = re.compile(r"\b(?:if|unless|when|whether|until)\b[^,;:.!?]*$", re.IGNORECASE)
_MOST_ACT_WORDS = 4


def denied_abilities(
    clause: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) for an act the clause says cannot be done that an evidence
    sentence says can, in the same words."""
    out: list[tuple[str, EvidenceClause]] = []
    for m in _CANNOT.finditer(clause):
        if _CASE.search(clause, 0, m.start()) or m.group("act").lower().startswith("only "):
            continue
        act = _ACT_END.split(f" {m.group('act')} ", maxsplit=1)[0]
        said = content_terms(act)[:_MOST_ACT_WORDS]
        if len(said) < 2:
            continue  # "can't do it": no act to find
        for s in sentences:
            if s.sentence.rstrip().endswith("?"):
                continue  # "Can UVA sue for defamation?" asks; it says nothing can be done
            if _said_after_can(said, s.text):
                why = f"the evidence says {act.strip()!r} can be done: {s.text.strip()[:80]!r}"
                out.append((why, s))
                return out
    return out


def _said_after_can(said: list[str], text: str) -> bool:
    """Whether `text` says the act's words in a row after a "can" with no denial between."""
    for can in _CAN.finditer(text):
        after = text[can.end() : can.end() + 240]
        stop = re.search(r"[.;:!?]", after)
        span = after[: stop.start()] if stop else after
        terms = content_terms(span)
        for i in range(len(terms) - len(said) + 1):
            if terms[i : i + len(said)] == said:
                lead = span[: _position(span, said[0])]
                if not negated(text[: can.start()][-40:] + " can " + lead):
                    return True
    return False


def _position(span: str, first: str) -> int:
    """Where the first word of the act starts in `span` (its comparison form), else its end."""
    for m in re.finditer(r"[A-Za-z][\w'-]*", span):
        if content_terms(m.group(0))[:1] == [first]:
            return m.start()
    return len(span)
