"""A permission said to last where the evidence says it ends: "the order can still be cancelled
afterwards" where "an order whose items were already changed can no longer be cancelled", and the
case the rule names (items changed) is the one in view.

A rule that allows "one return or one exchange, not both" ends each act once the other is done
("I already exchanged the jacket … you can still return them"), and a rule's proviso ends it
outside the proviso: "if the colour you want is sold out, you can still exchange the lamp for
it" where it "can be exchanged …, provided that variant is available".

"Still" and "no longer" say the same thing of an act with opposite outcomes; the claim rarely
repeats the rule's words, as it puts the case in another clause ("Changing the size first is no
problem; …") or leaves it to the question ("I changed an item … Can I still cancel?"). So the
act is compared by the verb the modal governs, and the case by the words the rule's subject adds
("items … changed"), looked for anywhere in the claim or the question, never denied there (a
claim's "you can't exchange them" is the rule at work, not the case denied).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.bindings import IN_STOCK, OUT_OF_STOCK
from tether.grounding.claims import content_terms, norm
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.meaning import clauses, denied_terms, negated

SHARED = 0.5  # share of the rule's case the claim or the question must name

_STILL = re.compile(r"\bstill\b", re.IGNORECASE)
# "can be cancelled", "can still cancel", "is still possible to return"
_ALLOWED = re.compile(
    r"\b(?:can|could|may)\s+(?:still\s+)?(?:be\s+)?(?P<act>[a-z]+)|"
    r"\b(?:possible|allowed|able)\s+to\s+(?:be\s+)?(?P<act2>[a-z]+)",
    re.IGNORECASE,
)
# "can no longer be changed or cancelled": the acts the rule ends, coordinated ones included
_ENDED = re.compile(
    r"\b(?:can|could|may)\s+no\s+longer\s+(?:be\s+)?(?P<acts>[a-z]+(?:(?:\s*,\s*|\s+(?:or|nor|"
    r"and)\s+)(?:be\s+)?[a-z]+)*)",
    re.IGNORECASE,
)
# "one return or one exchange, not both": either act ends the other
_EITHER = re.compile(
    r"\b(?:one\s+)?(?P<a>[a-z]+)\s+or\s+(?:one\s+)?(?P<b>[a-z]+),?\s+(?:but\s+)?not\s+both\b",
    re.IGNORECASE,
)
# a permission denied ("you can't exchange them"), not a fact ("you haven't changed them")
_REFUSED = re.compile(
    r"\b(?:cannot|can[\u2019']t|can\s+not|could(?:n[\u2019']t|\s+not)|may\s+not|"
    r"(?:is|are)(?:n[\u2019']t|\s+not)\s+(?:possible|allowed))\b",
    re.IGNORECASE,
)
# "provided that variant is available", "as long as it is in stock", "only if …"
_PROVISO = re.compile(
    r"\b(?:provided(?:\s+that)?|as\s+long\s+as|so\s+long\s+as|only\s+if)\s+(?P<cond>[^,.;:!?]+)",
    re.IGNORECASE,
)
# the case a claim clause opens with or holds: "if the colour is sold out", "even when …"
_CASE = re.compile(
    r"(?<!\bnot\s)\b(?:even\s+)?(?:if|when|whenever|though)\s+(?P<cond>[^,.;:!?]+)",
    re.IGNORECASE,
)
# a condition a claim says need not hold: "which doesn't have to be in stock"
_WAIVED = re.compile(
    r"\b(?:do(?:es)?n[\u2019']t|do(?:es)?\s+not|need\s+not|needn[\u2019']t)\s+(?:have|need)\s+to\s+"
    r"be\s+(?P<cond>[^,.;:!?]+)",
    re.IGNORECASE,
)
# words that say when or how much, not which case: they name no case of the rule
_NO_CASE = frozenset(
    norm(w) for w in ("already", "whose", "longer", "still", "once", "ever", "yet", "now")
)


def allowed_acts(clause: str) -> set[str]:
    """The acts an affirmative clause says can be done ("can still be cancelled" → cancel)."""
    if negated(clause):
        return set()
    found = set()
    for m in _ALLOWED.finditer(clause):
        act = (m.group("act") or m.group("act2")).lower()
        found.update(content_terms(act))
    return found


def check_lasting(
    text: str, question: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) when a claim says an act is still possible in the case an
    evidence rule says it no longer is."""
    if _STILL.search(text) is None:
        return []
    acts = set().union(*(allowed_acts(c.text) for c in clauses(text)))
    if not acts:
        return []
    said = set(content_terms(text)) | set(content_terms(question))
    denied = denied_terms(question).union(
        *(denied_terms(c.text) for c in clauses(text) if not _REFUSED.search(c.text))
    )
    for s in sentences:
        if s.sentence.rstrip().endswith("?"):
            continue
        for ended, case in _rules(s, acts, text):
            held = case & said
            if not case or held & denied or len(held) < max(1, SHARED * len(case)):
                continue
            why = (
                f"the evidence says {' and '.join(sorted(ended))} is no longer possible "
                f"when {' '.join(sorted(held))}: {s.text.strip()[:80]!r}"
            )
            return [(why, s)]
    return []


def _rules(s: EvidenceClause, acts: set[str], text: str) -> list[tuple[set[str], set[str]]]:
    """(acts ended, the case that ends them) for each rule of an evidence sentence that ends
    one of `acts`."""
    out: list[tuple[set[str], set[str]]] = []
    for m in _ENDED.finditer(s.text):
        ended = set(content_terms(m.group("acts"))) & acts
        if ended:
            # the rule's case: what its subject adds, else the list item it sits under
            case = set(content_terms(s.text[: m.start()])) - _NO_CASE - acts
            case -= set(content_terms(_subject_of(text)))
            out.append((ended, case or set().union(*s.label) - _NO_CASE))
    for m in _EITHER.finditer(s.text):
        a, b = (set(content_terms(m.group(k))) for k in ("a", "b"))
        if a & acts and b and not b & acts:
            out.append((a & acts, b))
        if b & acts and a and not a & acts:
            out.append((b & acts, a))
    return out


def _subject_of(text: str) -> str:
    """What the claim's permission is said of: the words before its modal ("the order")."""
    m = _ALLOWED.search(text)
    if m is None:
        return ""
    before = text[: m.start()]
    cut = max(before.rfind(p) for p in (",", ";", ":"))
    return before[cut + 1 :]


def check_proviso(
    text: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """(reason, evidence sentence) when a claim allows an act in the case opposite to the
    proviso an evidence rule allows it under ("if it's sold out, you can still exchange it"
    against "can be exchanged …, provided that variant is available")."""
    waived = [m.group("cond") for m in _WAIVED.finditer(text)]
    for s in sentences if waived else ():
        for m in _PROVISO.finditer(s.text):
            # "a size 8 pair, which doesn't have to be in stock": the proviso said not to hold
            if any(_same_case(w, m.group("cond")) for w in waived):
                return [(f"the evidence allows it only {m.group(0).strip()!r}", s)]
    parts = clauses(text)
    for n, part in enumerate(parts):
        acts = allowed_acts(part.text)
        if not acts:
            continue
        # the case in the clause itself, or in a clause before it that is nothing but the case
        cases = [m.group("cond") for m in _CASE.finditer(part.text)]
        if n and _CASE.match(parts[n - 1].text.strip()):
            cases.extend(m.group("cond") for m in _CASE.finditer(parts[n - 1].text))
        for s in sentences:
            for m in _PROVISO.finditer(s.text):
                if not allowed_acts(s.text[: m.start()]) & acts:
                    continue
                against = next((c for c in cases if _opposite(c, m.group("cond"))), None)
                if against is not None:
                    why = (
                        f"the evidence allows it {m.group(0).strip()!r}, the claim when "
                        f"{against.strip()!r}: {s.text.strip()[:80]!r}"
                    )
                    return [(why, s)]
    return []


def _opposite(case: str, proviso: str) -> bool:
    """Whether a case is the one a proviso rules out: availability said the other way ("sold
    out" against "available"), or the proviso's words with the other polarity."""
    mine, theirs = _availability(case), _availability(proviso)
    if mine and theirs:
        return mine != theirs
    shared = set(content_terms(case)) & set(content_terms(proviso)) - _NO_CASE
    return len(shared) >= 2 and negated(case) != negated(proviso)


def _same_case(case: str, proviso: str) -> bool:
    """Whether a case is the one a proviso names: availability said the same way ("in stock"
    for "available"), or most of the proviso's words with its polarity."""
    mine, theirs = _availability(case), _availability(proviso)
    if mine and theirs:
        return mine == theirs
    shared = set(content_terms(case)) & set(content_terms(proviso)) - _NO_CASE
    return len(shared) >= 2 and negated(case) == negated(proviso)


def _availability(text: str) -> int:
    """1 when a phrase says something is available, -1 when it says it is not, else 0."""
    said = -1 if OUT_OF_STOCK.search(text) else 1 if IN_STOCK.search(text) else 0
    return -said if negated(text) else said
