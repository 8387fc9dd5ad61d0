"""The state the customer gives a thing of theirs, said otherwise by the answer: "I'm returning
the kettle from my delivered order" in the question and "your order's still in transit" in the
answer.

Only the question's own thing is read, by the state word set right before its noun ("my
delivered order", "the cancelled order"): a passage's "a delivered order can be returned" is a
rule's case, not this customer's order. A noun the question gives two states ("one cancelled
order and one pending order") decides nothing. The answer's state is read as the record checks
read it (asserted, not a possibility), and only when it is said to hold now ("still in
transit", "is still pending"): then it must be the question's state. What the thing will become
("once you confirm, the order becomes cancelled") is left to the rules.
"""

from __future__ import annotations

import re

from tether.grounding.claims import norm
from tether.grounding.facts import CONTRADICTED, Finding
from tether.grounding.meaning import Vocabulary, states

# "my delivered order", "the cancelled order": the owner or article before, the noun after
_OWNED_BEFORE = re.compile(r"\b(?:my|our|the|this|that)\s+$", re.IGNORECASE)
_NOUN_AFTER = re.compile(r"\s+([a-z]+)\b", re.IGNORECASE)
# a clause about what will be, or in which case, or what it has now become ("your order's
# status is now exchange requested", after the exchange), says nothing of the state the
# customer gave it
_TO_COME = re.compile(
    r"\b(?:once|after|when|if|until|unless|will|becomes?|became|now)\b", re.IGNORECASE
)
# a question that wonders about a state gives none ("if my delivered order …" still does)
_WONDERED = re.compile(r"\b(?:whether|wonder|hope|want|wish)\b", re.IGNORECASE)


def check_question_states(body: str, question: str, vocabulary: Vocabulary) -> list[Finding]:
    """A contradiction when the clause gives a thing of the customer's a state the question's
    own wording of it rules out."""
    if not question or not vocabulary.states:
        return []
    held = _given(question, vocabulary)
    if not held:
        return []
    lowered = {norm(w) for w in re.findall(r"[a-z]+", body.lower())}
    out: list[Finding] = []
    for m in states(body, vocabulary):
        # only a state said to hold now: "once you confirm, the order becomes cancelled" is
        # what will be
        if not (m.asserted and m.current) or m.modal or m.attributive:
            continue
        if _TO_COME.search(body, 0, m.start):
            continue
        for noun, state in held.items():
            if noun not in lowered:
                continue
            if m.state != state:
                out.append(
                    Finding(
                        "status",
                        CONTRADICTED,
                        f"the question says the {noun} is {state!r}, not {m.state!r}",
                        "question",
                    )
                )
    return out[:1]


def _given(question: str, vocabulary: Vocabulary) -> dict[str, str]:
    """noun -> the one state the question sets right before it."""
    found: dict[str, set[str]] = {}
    for cls, member, start, end in vocabulary.members(question):
        if cls not in vocabulary.states:
            continue
        if not _OWNED_BEFORE.search(question, max(0, start - 8), start):
            continue
        noun = _NOUN_AFTER.match(question, end)
        sentence_start = max(question.rfind(s, 0, start) for s in ".?!") + 1
        if noun is None or _WONDERED.search(question, sentence_start, start):
            continue
        found.setdefault(norm(noun.group(1)), set()).add(member)
    return {noun: next(iter(s)) for noun, s in found.items() if len(s) == 1}
