"""A rule's consequence said the other way in the rule's own case: "you won't be told when the
transfer happens" where "when we transfer you, you are told that you are being transferred".

A claim often moves the case into the clause it denies ("… when the transfer happens") while the
evidence leads with it ("When we transfer you, …"), so neither clause restates the other word for
word. Each side is read as a case and a consequence: the cases must share a word, the claim's
consequence must say nothing the evidence's does not, and their polarities must differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.claims import content_terms
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.meaning import clauses, denied_terms, denies

# "when we transfer you", "once it has shipped", "if the card has expired"
_CASE = re.compile(r"\b(?:when|whenever|once|if)\s+(?P<case>[^,.;:!?]+)", re.IGNORECASE)


def check_consequence(
    text: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) when a claim denies what an evidence rule says follows in
    the same case, or says what the rule denies."""
    mine = _rules(text)
    if not mine:
        return []
    for s in sentences:
        if s.sentence.rstrip().endswith("?"):
            continue
        for their_case, their_result, their_text in _rules(s.text):
            for case, result, said in mine:
                if not case & their_case or not result or not result <= their_result:
                    continue
                if denies(said) == denies(their_text):
                    continue
                # the denial bears on a word both consequences share
                denied = denied_terms(said) if denies(said) else denied_terms(their_text)
                if not denied & result:
                    continue
                why = f"the evidence says the opposite in that case: {s.text.strip()[:80]!r}"
                return [(why, s)]
    return []


def _rules(text: str) -> list[tuple[set[str], set[str], str]]:
    """(case words, consequence words, consequence text) for each clause of a sentence that
    holds a case, or that follows a clause that is nothing but one."""
    parts = clauses(text)
    out: list[tuple[set[str], set[str], str]] = []
    for n, part in enumerate(parts):
        found = _CASE.search(part.text)
        if found is None:
            continue
        rest = (part.text[: found.start()] + " " + part.text[found.end() :]).strip(" ,")
        if not content_terms(rest) and n + 1 < len(parts):
            rest = parts[n + 1].text  # "When we transfer you, you are told …"
        case, result = set(content_terms(found.group("case"))), set(content_terms(rest))
        if case and result:
            out.append((case, result, rest))
    return out
