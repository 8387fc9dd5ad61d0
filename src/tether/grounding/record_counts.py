"""Counts a claim clause gives of a record's lists, checked against their lengths: "contains
three items", "both items", "all three items", "your account lists four orders"; and what it
says the record has none of ("no tracking number") where the field holds some.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.grounding.claims import norm
from tether.grounding.facts import CONTRADICTED, SUPPORTED, key_words
from tether.grounding.fields import FieldFinding, RecordView
from tether.grounding.meaning import negated
from tether.grounding.variants import availability_said

_NUMBER = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
_COUNT = re.compile(
    r"\b(?:has|have|had|got|holds?|contains?|includes?|with|see|shows?|lists?|"
    r"there (?:are|is|were|was)|there[\u2019']s|"
    rf"total of|all|both)\s+{_NUMBER}\s+(\w+)|"
    # "both items" counts two as surely as "two items" does
    r"(?<!\bof )\b(both)\s+(\w+s)\b|"
    # a whole split into parts said to be apart ("came in two separate shipments"); without
    # that word, "in one review" is as often one of several
    rf"\b(?:in|into)\s+{_NUMBER}\s+(?:separate|different|distinct|individual)\s+(\w+)",
    re.IGNORECASE,
)

# a line that is a count and what it lists, with no verb ("• two orders, #W1 and #W2",
# "Three items: …"): what the record has, as "has two orders" says
_LISTED = re.compile(
    r"\W*(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(\w+)\s*(?:[,:(\u2013\u2014-]|$)",
    re.IGNORECASE,
)


# "came in two parcels", "shipped in one package": a whole in so many parts, read only of the
# nouns a pack declares for a count field ("in one review" is as often one of several)
_IN_PARTS = re.compile(rf"\b(?:in|into|across)\s+{_NUMBER}\s+(\w+)", re.IGNORECASE)
# what is said to come in one part is the whole: "it", "everything", "the order", "both"
_WHOLE_SUBJECT = re.compile(
    r"\W*(?:(?:and|so|but)\s+)?(?:it|everything|all\s+of\s+it|the\s+whole\s+(?:order|thing)|"
    r"(?:the|your|this|that)\s+order|both(?:\s+items)?|all\s+(?:the\s+|your\s+)?items|"
    r"(?:the|your|its)\s+(?:\w+\s+)?items)\b",
    re.IGNORECASE,
)
# "Parcels: two", "- Orders: 4": a one-word label naming what is counted, answered with the
# count (not "Size M: 2 of 7", a part)
_ANSWERED_COUNT = re.compile(
    r"\s*:\s*(\d{1,2}|none|nothing|one|two|three|four|five|six|seven|eight|nine|ten)\b"
    r"(?!\s*(?:of|out\s+of)\b|[.,]\d)",
    re.IGNORECASE,
)
_LABEL_WORD = re.compile(r"[\s*\u2022-]*([A-Za-z]+)\s*")


def _label_count(clause: str, whole: str) -> tuple[str, str] | None:
    """(the count, the label's word) of a clause that is a label the text answers with a
    count ("Parcels: two"), else None."""
    label = _LABEL_WORD.fullmatch(clause)
    at = whole.find(clause) if label and whole else -1
    count = _ANSWERED_COUNT.match(whole, at + len(clause)) if at >= 0 else None
    return (count.group(1), label.group(1)) if count and label else None


# "the only payment method saved", "your one order": a count of one, when nothing after the
# noun narrows what is counted ("the only order still pending" counts a part)
_ONLY = re.compile(
    r"\b(?:the|your|its|their)\s+(?:only|sole|single|one)\s+(?P<noun>\w+)(?:\s+\w+)??"
    r"(?=\s*(?:[.,;:!?)]|$)|\s+(?:saved|stored|on\s+file|on\s+(?:your|the)\s+(?:account|profile)|"
    r"(?:you|we)\s+(?:have|hold)\b|is\b|are\b|was\b|were\b|in\s+(?:the|this|that|your)\s+order\b))",
    re.IGNORECASE,
)

# "the only option available", "the only colour left": the only one of some, not of all
_NARROWED = re.compile(
    r"\s(?:available|left|remaining|offered|orderable|purchasable|stocked|listed)$", re.IGNORECASE
)
# "For Google Assistant, …", "In black, …", "Among the wireless ones, …": a part of the list
_SCOPED = re.compile(r"^\W*(?:for|in|among|of|within|out\s+of)\s+[^,]{1,60},", re.IGNORECASE)
# "went out in a separate shipment": more than one part of the kind a pack counts
_SEPARATE = re.compile(r"\b(?:in|as|by)\s+(?:a\s+|its\s+own\s+)?separate\s+(\w+)", re.I)
_EMPTY: tuple[Any, ...] = (None, "", False, "none", "None", "no", [])
# a value saying the thing is not there: "not resistant", "non-slip" is not
_NOT_THERE = re.compile(r"(?:no|none|not\s+[\w\s-]+)", re.IGNORECASE)


def _empty(value: Any) -> bool:
    """Whether a field's value says there is none of it."""
    return value in _EMPTY or (isinstance(value, str) and _NOT_THERE.fullmatch(value) is not None)


def _present(noun: str, phrase: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """ "no tracking number" when every field named for it ("tracking_id") holds a value."""
    for v in targets:
        named = [
            fact
            for fact in v.facts
            if any(noun in {norm(w) for w in key_words(k)} for k in fact.path)
        ]
        # a value that is the thing itself ("transaction_type": "refund")
        valued = [f for f in v.facts if isinstance(f.value, str) and norm(f.value) == noun]
        if valued:
            named = valued
        if named and all(not _empty(f.value) for f in named):
            fact = named[0]
            return [
                FieldFinding(
                    f"{v.evidence_id}:{fact.key}",
                    "count",
                    CONTRADICTED,
                    phrase,
                    fact.value,
                    (f"{fact.key} is {fact.value!r}",),
                )
            ]
    return []


# "no tracking number", "without any refund", "you don't have any payment method saved",
# "hasn't placed any orders", "no e-mail address", "was never given a tracking number", "hasn't
# been issued a refund", "without any saved payment method", "lacks an e-mail address"
_NONE = re.compile(
    r"\b(?:no|without(?: any)?|not any|"
    r"(?:do|does|did|have|has|had)(?:n[\u2019']t|\s+not)\s+(?:\w+\s+)?any|"
    # "there aren't any orders", "there isn't a tracking number"
    r"there\s+(?:(?:is|are|was|were)(?:n[\u2019']t|\s+not)|[\u2019']s\s+not)\s+(?:any|a|an)|"
    r"(?:(?:has|have|had|was|were|did)(?:n[\u2019']t|\s+not)|never)\s+(?:been\s+)?"
    r"(?:given|assigned|issued|got|gotten|get|received?)\s+(?:a|an|any)|"
    # "the record doesn't carry a tracking number", "doesn't list any", "doesn't show a"
    r"(?:do|does|did)(?:n[\u2019']t|\s+not)\s+(?:carry|list|show|include|hold|have)\s+(?:a|an)|"
    r"lack(?:s|ed|ing)?\s+(?:a|an|any)"
    # what a record keeps is none the less kept for being "saved" ("without any saved payment
    # method")
    r")\s+(?:(?:saved|stored|registered|linked)\s+)?([\w-]+)",
    re.IGNORECASE,
)
# a part of a list ("two of the items") is no count of it, nor is what someone means to do
# with some ("can return two items"); a "to" after the count ("… delivered to Washington") is
_PART = re.compile(r"\bof (?:the|your)\b", re.IGNORECASE)
_INTENT = re.compile(r"\b(?:can|could|may|will|would|want|wants|to)\b", re.IGNORECASE)
_SMALL = {"none": 0, "nothing": 0, "one": 1, "both": 2, "two": 2, "three": 3, "four": 4,
          "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip


def _separate(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """Something said to come in a separate part of a kind the record counts ("in a separate
    shipment") where the record lists one: it came with the rest."""
    out: list[FieldFinding] = []
    if "separate" not in clause.lower():
        return out
    for m in _SEPARATE.finditer(clause):
        if negated(clause[max(0, m.start() - 30) : m.start()]):
            continue  # "nothing came in a separate shipment"
        noun = norm(m.group(1))
        for v in targets:
            for spec in v.fields:
                if spec.kind != "count" or noun not in {norm(w) for w in spec.words}:
                    continue
                for path, value in v.values(spec):
                    if isinstance(value, list) and len(value) == 1:
                        out.append(
                            FieldFinding(
                                f"{v.evidence_id}:{path}",
                                "count",
                                CONTRADICTED,
                                m.group(0),
                                1,
                                (f"{path} holds 1: nothing came separately",),
                            )
                        )
    return out


def check_counts(clause: str, targets: Sequence[RecordView], whole: str = "") -> list[FieldFinding]:
    """What a clause counts of a record's lists: "contains three items", "both items", "your
    account lists four orders", what it says there is none of ("no tracking number"), and, as
    a label of its sentence `whole`, what the label is answered with ("Parcels: two")."""
    out: list[FieldFinding] = []
    if _PART.search(clause):
        return out  # "return two of the items": a part, not the count
    # where the first word of intent ends: a count after it is what is to be done (both
    # patterns start at a word's start, so this is the search of the text before each match)
    intent = _INTENT.search(clause)
    after_intent = intent.end() if intent is not None else len(clause) + 1
    for match in _NONE.finditer(clause):
        if after_intent <= match.start() or availability_said(clause, match.end()):
            continue
        noun = norm(match.group(1).replace("-", ""))  # "e-mail" is the "email" field
        out.extend(_present(noun, match.group(0), targets))
        for v in targets:
            for spec in v.fields:
                names = {norm(w) for w in (*key_words(spec.path.split(".")[-1]), *spec.words)}
                if spec.kind != "count" or noun not in names:
                    continue
                for path, value in v.values(spec):
                    if isinstance(value, list) and value:
                        out.append(
                            FieldFinding(
                                f"{v.evidence_id}:{path}",
                                "count",
                                CONTRADICTED,
                                match.group(0),
                                len(value),
                                (f"{path} holds {len(value)}",),
                            )
                        )
    counted: list[tuple[int, str, str, str]] = []
    for m in _COUNT.finditer(clause):
        amount, noun = next(m.group(n, n + 1) for n in (1, 3, 5) if m.group(n))
        counted.append((m.start(), m.group(0), amount, noun))
    # "the only payment method" is read less surely than "one payment method": it may only
    # contradict, never vouch for the clause
    only: set[int] = set()
    for m in _ONLY.finditer(clause):
        if _NARROWED.search(m.group(0)) or _SCOPED.match(clause[: m.start()]):
            continue  # "the only option available", "for Google Assistant, … the only option"
        if not re.search(r"(?:\bnot|n[\u2019']t)\s+(?:\w+\s+)?$", clause[: m.start()], re.I):
            counted.append((m.start(), m.group(0), "one", m.group("noun")))
            only.add(m.start())
    listed = _LISTED.match(clause)
    if listed:
        phrase = clause[listed.start(1) : listed.end(2)]
        counted.append((listed.start(1), phrase, listed.group(1), listed.group(2)))
    declared: set[int] = set()  # counts read only of the nouns a pack declares
    if not counted:
        for m in _IN_PARTS.finditer(clause):
            # "the keyboard came in one shipment" may be one of several; "it came in one" not
            if m.group(1).lower() in ("1", "one") and not _WHOLE_SUBJECT.match(clause):
                continue
            counted.append((m.start(), m.group(0), m.group(1), m.group(2)))
            declared.add(m.start())
    out.extend(_separate(clause, targets))
    labelled = _label_count(clause, whole)
    if labelled is not None:
        counted.append((0, f"{labelled[1]}: {labelled[0]}", *labelled))
    for start, phrase, amount, noun in counted:
        if after_intent <= start:
            continue  # "I want to return two items": what is to be done, not what there is
        said = float(_SMALL.get(amount.lower(), 0) if not amount.isdigit() else amount)
        noun = norm(noun)
        for v in targets:
            for spec in v.fields:
                if spec.kind != "count":
                    continue
                words = {norm(w) for w in spec.words}
                keys = {norm(w) for w in key_words(spec.path.split(".")[-1])}
                names = words if start in declared else words | keys
                if noun not in names:
                    continue
                for path, value in v.values(spec):
                    if isinstance(value, list | Mapping):
                        ok = len(value) == said
                        if ok and start in only:
                            continue
                        out.append(
                            FieldFinding(
                                f"{v.evidence_id}:{path}",
                                "count",
                                SUPPORTED if ok else CONTRADICTED,
                                phrase,
                                len(value),
                                () if ok else (f"{path} holds {len(value)}, not {said:g}",),
                            )
                        )
    return out
