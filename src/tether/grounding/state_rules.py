"""Rules that tie what can be done to a record's state: "an order can be cancelled only while
it is pending", "once delivered, its items can be returned".

A sentence that names lifecycle states and says what can (or cannot) be done is read as rules:
for those states, the act is allowed or not; "only" makes the allowance exclusive. A claim that
allows an act in a state the evidence forbids it in, or outside the only states the evidence
allows it in, moves the rule's scope ("you can cancel while it is pending or processed").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.grounding.claims import content_terms, norm
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.facts import CONTRADICTED, SUPPORTED
from tether.grounding.meaning import Vocabulary, negated, states

# "can be cancelled", "can no longer be changed", "cannot be returned", "you can cancel"
_ABLE = re.compile(
    r"\b(?:can(?:not|[\u2019']t)?|could(?:n[\u2019']t)?|may)(?![\w\u2019'])((?:\s+(?:not|no|longer|still|"
    r"only|also|then|now|always|never|be|get))*)\s+([a-z]+)(?:\s+(?:or|and|nor)\s+(?:be\s+)?"
    r"([a-z]+))?",
    re.IGNORECASE,
)
# "cancellation is possible", "changes are not allowed"
_POSSIBLE = re.compile(
    r"\b([a-z]+?)s?\s+(?:is|are|stays?|remains?)((?:\s+(?:not|no|longer|still|only|also|then|"
    r"now|always|never))*)\s+(?:possible|allowed|permitted)\b",
    re.IGNORECASE,
)
_ONLY = re.compile(r"\bonly\b", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:until|till|before)\b(?:\s+\w+){0,4}\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class StateRule:
    """For these states, whether the act can be done; `only` when no other state allows it."""

    states: frozenset[str]
    act: str
    allowed: bool
    only: bool


def state_rules(text: str, vocabulary: Vocabulary, label: Iterable[str] = ()) -> list[StateRule]:
    """The rules a sentence states, for the states it names (and its list item's label's).
    A state and an act tie only within one part of the sentence: "…; any other reason is
    declined" conditions nothing before it."""
    labelled = tuple(label)
    return [r for part in _PARTS.split(text) for r in _rules(part, vocabulary, labelled)]


_PARTS = re.compile(r";|,?\s+(?:but|so|whereas|although|though)\s+", re.IGNORECASE)


def _rules(text: str, vocabulary: Vocabulary, label: tuple[str, ...]) -> list[StateRule]:
    acts: list[tuple[str, bool, int, int]] = []
    for match in _ABLE.finditer(text):
        allowed = not negated(text[match.start() : match.end(1)])
        for n in (2, 3):
            word = match.group(n)
            terms = content_terms(word) if word else []
            if terms:
                acts.append((terms[0], allowed, match.start(n), match.end(n)))
    for match in _POSSIBLE.finditer(text):
        terms = content_terms(match.group(1))
        if terms:
            allowed = not negated(match.group(2))
            acts.append((terms[0], allowed, match.start(1), match.end(1)))
    if not acts:
        return []
    named: set[str] = set(label)
    for cls, canonical, start, _ in vocabulary.members(text):
        if cls not in vocabulary.states or any(a <= start < b for _, _, a, b in acts):
            continue
        # "until it is delivered": the states a record passes through before that one
        if _UNTIL.search(text[max(0, start - 40) : start]) and canonical in vocabulary.progress:
            named.update(vocabulary.progress[: vocabulary.progress.index(canonical)])
        else:
            named.add(canonical)
    if not named:
        return []
    only = bool(_ONLY.search(text))
    return [StateRule(frozenset(named), act, ok, only and ok) for act, ok, _, _ in acts]


def _memo(vocabulary: Vocabulary, name: str) -> dict[Any, Any]:
    """A bounded memory kept on the vocabulary: the same evidence is read for every claim."""
    memo: dict[Any, Any] = vocabulary.__dict__.setdefault(f"_memo_{name}", {})
    if len(memo) > 4096:
        memo.clear()
    return memo


def label_states(c: EvidenceClause, vocabulary: Vocabulary) -> set[str]:
    """The states a list item's label names ("**pending (item modified):**" → pending)."""
    if not c.label:
        return set()
    forms = _memo(vocabulary, "state_words").get("all")
    if forms is None:
        forms = [
            (canonical, frozenset(norm(w) for w in canonical.split()))
            for name in vocabulary.states
            for canonical in vocabulary.classes.get(name, {})
        ]
        _memo(vocabulary, "state_words")["all"] = forms
    return {canonical for canonical, words in forms if any(words <= alt for alt in c.label)}


def _evidence_rules(c: EvidenceClause, vocabulary: Vocabulary) -> list[StateRule]:
    memo = _memo(vocabulary, "rules")
    key = (c.sentence, c.label)
    if key not in memo:
        memo[key] = state_rules(c.sentence, vocabulary, label_states(c, vocabulary))
    rules: list[StateRule] = memo[key]
    return rules


def check_state_rules(
    sentence: str, pool: Iterable[EvidenceClause], vocabulary: Vocabulary
) -> list[tuple[str, str, EvidenceClause | None]]:
    """(status, reason, deciding evidence sentence) for each rule the claim states."""
    claimed = state_rules(sentence, vocabulary)
    if not claimed:
        return []
    rules: list[tuple[StateRule, EvidenceClause]] = []
    for c in pool:
        rules.extend((r, c) for r in _evidence_rules(c, vocabulary))
    # a state no rule of the evidence names is not what the claim's rule is conditioned on
    # ("any other reason is declined")
    known = {state for r, _ in rules for state in r.states}
    out: list[tuple[str, str, EvidenceClause | None]] = []
    for mine in claimed:
        same = [(r, c) for r, c in rules if r.act == mine.act]
        if mine.only:
            # "only pending orders can be returned" when the evidence allows it in another state
            wider = next(
                ((r, c) for r, c in same if r.allowed and not r.states & mine.states), None
            )
            if wider is not None:
                where = ", ".join(sorted(wider[0].states))
                out.append((CONTRADICTED, f"the evidence allows {mine.act} when {where}", wider[1]))
                continue
        for state in sorted(mine.states & known):
            held = [(r, c) for r, c in same if state in r.states]
            if any(r.allowed == mine.allowed for r, _ in held):
                out.append((SUPPORTED, f"{mine.act} in {state} agrees", None))
                continue
            against = next(((r, c) for r, c in held if r.allowed != mine.allowed), None)
            if against is None and mine.allowed:
                against = next(((r, c) for r, c in same if r.only), None)
            if against is not None:
                r, c = against
                said = "can" if r.allowed else "cannot"
                scope = (
                    f"only when {', '.join(sorted(r.states))}" if state not in r.states else state
                )
                out.append((CONTRADICTED, f"the evidence says it {said} {mine.act} ({scope})", c))
    return out


# "processed means …", "'delivered' is when …", "a processed order is one that …"
_DEFINES = re.compile(
    r"^\W*(?:an?\s+|the\s+)?[\"'\u2018\u201c*]*(?P<term>[\w ()-]{3,40}?)[\"'\u2019\u201d*]*"
    r"(?:\s+\w+)?\s+(?:means|is when|refers to|is (?:(?:an?|the) \w+|one) (?:that|which|where|whose))\s+(?P<body>.+)",
    re.IGNORECASE,
)


def defines(sentence: str) -> bool:
    """True when the sentence has the shape of a definition ("X means …")."""
    return _DEFINES.match(sentence) is not None


def check_definition(
    sentence: str, pool: Iterable[EvidenceClause], vocabulary: Vocabulary
) -> tuple[str, EvidenceClause] | None:
    """A state defined with what the evidence says of another: "processed means it has
    arrived" when the list item for "delivered" says it has arrived. (reason, evidence)."""
    found = _DEFINES.match(sentence)
    if found is None:
        return None
    named = [m for m in vocabulary.members(found["term"]) if m[0] in vocabulary.states]
    if not named:
        return None
    state = named[0][1]
    items: dict[str, list[EvidenceClause]] = {}
    for c in pool:
        for label in label_states(c, vocabulary):
            items.setdefault(label, []).append(c)
    if state not in items or len(items) < 2:
        return None
    body = found["body"]
    said = {m.state for m in states(body, vocabulary) if m.asserted and not m.modal} - {state}
    # its own item naming the other state ("pending: not yet processed") speaks of it too
    told = {m[1] for c in items.get(state, []) for m in vocabulary.members(c.text)}
    wanted = set(content_terms(body))
    overlap = {
        label: len(wanted & set().union(*(c.terms for c in clauses)))
        for label, clauses in items.items()
    }
    own = overlap[state]
    for other, clauses in items.items():
        if other == state or other in told:
            continue
        if other not in said and overlap[other] <= max(own, 1):
            continue
        return f"the evidence says this of {other!r}, not of {state!r}", clauses[0]
    return None


# a state a record comes to be in, or stays in: "the status becomes cancelled", "stays pending"
_CHANGE = (
    r"becomes?|became|(?:changes?|changed|moves?|moved|switch(?:es)?|switched|goes|went|turns?|"
    r"turned|set|updated|reverts?|reverted)\s+(?:back\s+)?to|(?:goes|went|moves?|moved)\s+into|"
    r"enters|entered|"
    # what it shows now the customer has acted: "the status is now exchange requested", "is
    # now marked exchange requested"
    r"(?:is|are)\s+now(?:\s+marked)?(?:\s+as)?|(?:is|are)\s+marked(?:\s+as)?|now\s+(?:shows|reads)"
)
_STAY = r"reads?|stays?|stayed|remains?|remained"
_TRANSITION = re.compile(rf"\b(?:{_CHANGE}|(?P<stay>{_STAY}))\s+[\"'*\u201c]*", re.IGNORECASE)
# "reads 'processed'" says what a record shows now unless the sentence is about what follows
_SEQUENCE = re.compile(r"\b(?:after|afterwards|then|once|will|until)\b|[\u2019']ll\b", re.I)


def transition_states(text: str, vocabulary: Vocabulary, evidence: bool = True) -> dict[str, str]:
    """The states a text says a record becomes or stays in, each with the words that name it
    (with a qualifier that follows it: "pending (item modified)"). A claim's "reads X" or
    "stays X" counts only in a sentence about what follows (`evidence=False`)."""
    out: dict[str, str] = {}
    sequence = evidence or bool(_SEQUENCE.search(text))
    for frame in _TRANSITION.finditer(text):
        if frame.group("stay") and not sequence:
            continue
        if negated(_last_words(text, frame.start(), 4)):
            continue  # "the status does not change to cancelled"
        window = text[frame.end() : frame.end() + 60]
        found = vocabulary.members(window)
        if found and found[0][2] == 0 and found[0][0] in vocabulary.states:
            qualified = re.match(r"[^()]{0,30}\([^()]{1,40}\)", window)
            out.setdefault(found[0][1], qualified[0] if qualified else window[: found[0][3]])
    return out


def check_transitions(
    sentence: str, passages: Mapping[str, str], vocabulary: Vocabulary
) -> list[tuple[str, str]]:
    """(reason, passage id) for each state the claim says a record becomes ("the order moves
    to processed") when the passages give the states records become and this is none."""
    said = transition_states(sentence, vocabulary, evidence=False)
    if not said:
        return []
    stated: dict[str, str] = {}
    memo = _memo(vocabulary, "transitions")
    for source, text in passages.items():
        if text not in memo:
            memo[text] = transition_states(text, vocabulary)
        for state in memo[text]:
            stated.setdefault(state, source)
    if not stated:
        return []
    # a sub-state the evidence names in the same words ("pending (item modified)") is its own
    told = " ".join(t.lower() for t in passages.values())
    return [
        (
            f"the evidence says a record becomes {', '.join(sorted(stated))}, not {state!r}",
            next(iter(stated.values())),
        )
        for state, words in sorted(said.items())
        if state not in stated and not ("(" in words and words.lower() in told)
    ]


# a state said to end: "will no longer be pending", "won't remain pending"
# ("leaves pending", "stops being pending"; denied, "won't stop being pending" keeps it)
_LEFT = re.compile(
    rf"\bno\s+longer\s+(?:be\s+|{_STAY}\s+)?[\"'*\u201c]*|\b(?:{_STAY}|stay|remain)\s+[\"'*\u201c]*|"
    r"\b(?P<ends>leaves?|left|leaving|stops?\s+being|stopped\s+being|ceases?\s+to\s+be)\s+"
    r"[\"'*\u201c]*",
    re.IGNORECASE,
)


def check_left_states(
    sentence: str, passages: Mapping[str, str], vocabulary: Vocabulary
) -> list[tuple[str, str]]:
    """(reason, passage id) for each state the claim says a record leaves ("the order won't
    stay pending", "will no longer be pending") where the passages say it stays in it."""
    left: set[str] = set()
    for frame in _LEFT.finditer(sentence):
        before = _lead(sentence, frame.start())
        if frame.group("ends"):
            if negated(before):
                continue  # "won't stop being pending" keeps the state
        elif not frame.group(0).lower().startswith("no") and not negated(before):
            continue  # "stays pending" keeps the state
        found = vocabulary.members(sentence[frame.end() : frame.end() + 60])
        if found and found[0][2] == 0 and found[0][0] in vocabulary.states:
            left.add(found[0][1])
    out: list[tuple[str, str]] = []
    if not left:
        return out  # nothing left: the passages are not read
    for source, text in passages.items():
        kept = {
            state
            for frame in _TRANSITION.finditer(text)
            if frame.group("stay") and not negated(_last_words(text, frame.start(), 4))
            for state in _state_at(text, frame.end(), vocabulary)
        }
        out.extend(
            (f"the evidence says a record stays {state}", source) for state in sorted(left & kept)
        )
    return out


def _last_words(text: str, at: int, count: int) -> str:
    """The last `count` words before `at`, read off the text just before it: a long passage is
    not split whole at each place it is read."""
    start = at
    while start > 0:
        start = max(0, start - 256)
        if len(text[start:at].split()) > count:
            break
    return " ".join(text[start:at].split()[-count:])


# where a clause begins: a denial before it ("No cancelling, it stays pending") is another's
_CLAUSE_START = re.compile(r"[,;:\u2013\u2014]")


def _lead(text: str, at: int) -> str:
    """The up to four words before `at` in its own clause: what a denial there falls on."""
    before = text[:at]
    cut = max((m.end() for m in _CLAUSE_START.finditer(before)), default=0)
    return " ".join(before[cut:].split()[-4:])


def _state_at(text: str, at: int, vocabulary: Vocabulary) -> list[str]:
    found = vocabulary.members(text[at : at + 60])
    return [found[0][1]] if found and found[0][2] == 0 and found[0][0] in vocabulary.states else []
