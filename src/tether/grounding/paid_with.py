"""What the customer says they paid with, said otherwise by the answer: "I paid with my Amex"
in the question and "the refund will go back to the PayPal account you paid with" in the
answer. Only the question's first person ("I paid with", "I used my") and the answer's second
person ("you paid with", "the card you used") are read: a passage's "if you paid with a gift
card" is a rule's case, not what this customer did.
"""

from __future__ import annotations

import re

from tether.grounding.facts import CONTRADICTED, Finding
from tether.grounding.meaning import Vocabulary

# "paid with", "paid $522.03 for it with", "the one I paid $951.21 for from my gift card"
_PAY = (
    r"(?:paid|pay|bought\s+it|ordered)(?:\s+\$?\d[\d,]*(?:\.\d+)?)?"
    r"(?:\s+for(?:\s+(?:it|them|the\s+\w+|this(?:\s+order)?))?)?"
)
_MINE_BEFORE = re.compile(rf"\bI(?:\s+have)?\s+(?:{_PAY}\s+(?:with|by|via|using|through|from)|used|"
                          r"put\s+(?:it\s+|them\s+)?on|charged\s+(?:it\s+|them\s+)?to)"
                          r"\s+(?:my\s+|a\s+|an\s+)?$", re.IGNORECASE)  # fmt: skip
_YOURS_BEFORE = re.compile(
    rf"\byou(?:\s+have|[\u2019']ve)?\s+(?:{_PAY}\s+(?:with|by|via|using|through)|used)"
    r"\s+(?:your\s+|a\s+|an\s+|the\s+)?$",
    re.IGNORECASE,
)
_YOURS_AFTER = re.compile(
    rf"^(?:\s+(?:account|card))?\s+(?:that\s+)?you(?:\s+have|[\u2019']ve)?\s+(?:{_PAY}\s+"
    r"(?:with|by|through)|used\b)",
    re.IGNORECASE,
)

_CASE = re.compile(r"\b(?:if|unless|whether|when|had|were)\b[^,;.:!?]*$", re.IGNORECASE)


def check_paid_with(body: str, question: str, vocabulary: Vocabulary) -> list[Finding]:
    """A contradiction when the answer names what the customer paid with and the question
    names only something else of the same class."""
    said = _paid(body, vocabulary, mine=False)
    if not said:
        return []
    held = _paid(question, vocabulary, mine=True)
    return [
        Finding(
            "swap",
            CONTRADICTED,
            f"the question says it was paid with {theirs!r}, not {member!r}",
            "question",
        )
        for cls, member in sorted(said)
        for k, theirs in sorted(held)
        if k == cls
        and member != theirs
        and (cls, theirs) not in said
        # a customer who paid two orders two ways may be told either ("the gift card you paid
        # with" of the grinder, beside "I paid through PayPal" for the lamp)
        and (cls, member) not in held
    ][:1]


def _paid(text: str, vocabulary: Vocabulary, mine: bool) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for cls, member, a, b in vocabulary.members(text):
        before = text[max(0, a - 60) : a]
        if _CASE.search(before):
            continue  # "had you paid with a gift card", "if I used PayPal": a case, not a fact
        if mine:
            if _MINE_BEFORE.search(before):
                out.add((cls, member))
        elif _YOURS_BEFORE.search(before) or _YOURS_AFTER.match(text[b : b + 60]):
            out.add((cls, member))
    return out
