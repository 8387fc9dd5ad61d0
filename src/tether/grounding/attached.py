"""Attached parts: what an answer says a thing comes with, has or includes ("the chair, which
has a built-in lumbar pump", "complete with a milk-frothing wand", "with a folio cover").
A part named only in words the evidence never uses is a fact the answer adds, however well
the rest of the sentence is grounded; the claim is unsupported.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tether.grounding.additions import plain_terms, state_words
from tether.grounding.facts import UNSUPPORTED, Finding
from tether.grounding.meaning import Vocabulary, negated

if TYPE_CHECKING:
    from tether.grounding.evidence_set import EvidenceSet

# the words that attach a part to a thing, and the part they attach, to the end of its phrase
_ATTACHED = re.compile(
    r"\b(?P<lead>(?:comes?|came|coming|complete|supplied|fitted|equipped|bundled|paired)\s+with"
    r"|with(?:\s+(?:its|their))?|including|featuring"
    r"|(?:which|that)\s+(?:has|have|had|includes?|included|features?|featured))"
    r"\s+(?P<part>[^,;:.!?()\[\]\n]+)",
    re.IGNORECASE,
)
# a bare "with" after these says how, with whom or alongside what, not what a thing has:
# "paid with PayPal", "bought with a gift card", "along with the boots", "back with us"
_NOT_A_PART = re.compile(
    r"\b(?:pa(?:y|ys|id|ying)|bought|buy|purchased?|charged?|placed|ordered|covered|settled|"
    r"for|along|together|up|back|out|on|in|off|deal|dealt|help|helps|start|starts|done|"
    r"agree|happy|verif(?:y|ied)|registered|linked|associated|signed|logged|stays?|go|goes|"
    r"went|sent|send|shipped|refunded|replaced|exchanged?|swap(?:ped)?|do|did|does)\s*$",
    re.IGNORECASE,
)
_DENIED_LIST = re.compile(r"\s*(?:no|not|without|neither|nor|never)\b", re.IGNORECASE)
_CONJUNCT = re.compile(r"\s+(?:and|or|plus|as\s+well\s+as)\s+", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_PART_WORDS = 2  # a part of fewer new words ("with us") attaches nothing the checks can judge


def check_attached(body: str, evidence: EvidenceSet, vocabulary: Vocabulary) -> list[Finding]:
    """An unsupported finding for each part the clause attaches to a thing in words the
    evidence never uses (nor the customer, who may name what they ask about). A part said to
    be absent ("with no card saved") adds nothing, and one with a number in it ("with a
    10-hour battery") is the amount checks' to judge."""
    out: list[Finding] = []
    low = body.lower()
    if "with" not in low and "includ" not in low and "featur" not in low and "ha" not in low:
        return out
    known = evidence.index.terms
    asked = evidence.index.referents.words
    for found in _ATTACHED.finditer(body):
        if found.group("lead").lower() == "with" and _NOT_A_PART.search(body[: found.start()]):
            continue
        if _DENIED_LIST.match(found.group("part")):
            continue  # "with no gift card or PayPal account beside it": each one denied
        for part in _CONJUNCT.split(found.group("part")):
            if _NUMBER.search(part) or negated(part):
                continue
            judged = state_words(part, vocabulary)
            terms = {t for t in plain_terms(part, vocabulary) if len(t) > 1 and t not in judged}
            if len(terms) >= _PART_WORDS and not terms & (known | asked):
                listed = ", ".join(sorted(terms)[:4])
                out.append(Finding("novel", UNSUPPORTED, f"the evidence never names {listed}", ""))
    return out
