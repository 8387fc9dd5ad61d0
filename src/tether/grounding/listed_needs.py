"""A member of what the evidence says is needed, said not to be: "the list of items isn't needed"
under "What we need from you" with "- the list of items you are sending back" among its bullets.

A bulleted run whose heading (the line right before it) says what is needed or required lists
what must be given; a claim clause that denies the need of one of its items ("isn't needed",
"don't need", "not required", "no need for", "we can go ahead without knowing …") contradicts
it. The item is the bullet holding every word the clause names it by (at least two, or its one
word being the bullet's only one).
A denied need of something no bullet is ("no photo is needed"), and a condition ("if you keep
all of it, the list isn't needed"), decide nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from tether.grounding.claims import content_terms
from tether.grounding.sources import BULLET_RUNS

_NEEDED = re.compile(r"\b(?:need|needs|needed|require|required|requires)\b", re.IGNORECASE)
# "isn't needed", "are not required", "don't need", "no need for", "not necessary"
_DENIED_NEED = re.compile(
    r"\b(?:is|are|was|were)(?:n[\u2019']t|\s+not)\s+(?:\w+\s+)?(?:needed|required|necessary)\b"
    r"|\b(?:do|does|did)(?:n[\u2019']t|\s+not)\s+(?:\w+\s+)?need\b"
    r"|\bno\s+need\s+(?:for|of)\b|\bnot\s+(?:needed|required|necessary)\b"
    # "we can go ahead without knowing where the refund should go"
    r"|\b(?:go\s+ahead|proceed|carry\s+on|manage|do\s+it|start)\s+without\s+"
    r"(?:(?:knowing|having|being\s+told|hearing|asking)\s+)?",
    re.IGNORECASE,
)
_CASE = re.compile(r"\b(?:if|unless|whether|when|once)\b", re.IGNORECASE)
_NEED_WORDS = frozenset(content_terms("need needed required require necessary"))
# the verbs a need is met by and whom to: "you don't need to give us the list" names the list
_GIVING = frozenset(content_terms("give send provide tell show bring include us me"))
_PASSIVE = re.compile(r"\s+to\s+be\b", re.IGNORECASE)
_PART = re.compile(r"[,;:\u2014]")


def _named(clause: str, denial: re.Match[str]) -> set[str]:
    """The words of what the clause says is not needed: its subject before "isn't needed", its
    object after "don't need" or "no need for" (with the subject when the need is passive), each
    up to the nearest comma."""
    said_after = re.search(r"(?:need|without\s+(?:\w+\s+)*)$", denial.group(0), re.IGNORECASE)
    if said_after is not None or denial.group(0).lower().startswith("no"):
        after = clause[denial.end() :]
        cut = _PART.search(after)
        said = set(content_terms(after[: cut.start()] if cut else after))
        if not _PASSIVE.match(after):
            return said
        # "the items don't need to be listed": the subject and the act together
        return said | _subject(clause[: denial.start()])
    return _subject(clause[: denial.start()])


def _subject(before: str) -> set[str]:
    cuts = list(_PART.finditer(before))
    return set(content_terms(before[cuts[-1].end() :] if cuts else before))


def check_listed_needs(clause: str, passages: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(why, evidence id, bullet) when the clause denies the need of a listed item."""
    denial = _DENIED_NEED.search(clause)
    if denial is None or _CASE.search(clause) or clause.rstrip().endswith("?"):
        return []
    named = _named(clause, denial) - _NEED_WORDS - _GIVING
    if not named:
        return []
    for source, text in passages.items():
        for line, terms in _needed_items(text):
            if named <= terms and (len(named) >= 2 or len(terms) == 1):
                return [(f"the evidence says it needs {line.strip()!r}", source, line)]
    return []


@lru_cache(maxsize=256)
def _needed_items(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The bullets of every run whose heading says what is needed, with their words."""
    out: list[tuple[str, frozenset[str]]] = []
    for run in BULLET_RUNS.finditer(text):
        before = text[: run.start()].rstrip("\n")
        heading = before[before.rfind("\n") + 1 :]
        if not _NEEDED.search(heading):
            continue
        for line in run.group(0).strip().splitlines():
            terms = frozenset(content_terms(line))
            if terms:
                out.append((line, terms))
    return tuple(out)


# "we need the order id, the items and a photo of each", "I'll need three things: …": what the
# claim says is needed, as a list, up to the end of its clause
_NEED_LIST = re.compile(
    r"\b(?:need|needs|require|requires)\b(?:\s+(?:from\s+you|to\s+(?:have|get|know|see)|"
    r"you\s+to\s+(?:give|send|tell|provide)(?:\s+(?:us|me))?))?"
    r"(?:\s+(?:\w+\s+)?(?:things|details|pieces\s+of\s+information)\s*:|\s+the\s+following\s*:)?"
    r"\s*:?\s*(?P<list>[^.;:!?]+)",
    re.IGNORECASE,
)
_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+-\s+", re.IGNORECASE)
_ASIDE = re.compile(r"\([^()]*\)?|\[[^\[\]]*\]?")
# what says more of the item before it, to the next comma ("…, which you have given,", "…,
# here the perfume and the pet bed,")
_MORE_OF = re.compile(
    r",\s*(?:which|who|that|here|so|but|since|as|because|including|namely|i\.e\.|e\.g\.)\b"
    r"[^,]*",
    re.IGNORECASE,
)


def check_added_needs(text: str, passages: Mapping[str, str]) -> list[tuple[str, str]]:
    """(why, evidence id) when a claim lists more things as needed than a list the evidence
    gives under a heading that says what is needed, restating at least two of its items, and
    one of the claim's opens with a word the evidence never uses ("… where the refund should go,
    and a photo of each item")."""
    said = _NEED_LIST.search(text)
    if said is None or _CASE.search(text) or text.rstrip().endswith("?"):
        return []
    if _DENIED_NEED.search(text) or re.search(
        r"n[\u2019']t\b|\bnot\b|\bno\b", text[: said.start()], re.IGNORECASE
    ):
        return []
    parts: list[tuple[str, list[str]]] = []
    # an aside says which one ("(the blender and the toaster)", "#W6603371"), no item of its own
    listed = _MORE_OF.sub("", _ASIDE.sub(" ", said.group("list")))
    for part in _LIST_SPLIT.split(listed):
        part = part.strip(" -\u2022")
        terms = content_terms(part)
        if terms and not any(c.isdigit() for c in terms[0]):
            parts.append((part, terms))
    for source, passage in passages.items():
        items = _needed_items(passage)
        if not items or len(parts) <= len(items):
            continue
        known = _passage_terms(passage)
        restated = [p for p, terms in parts if any(set(terms) & t for _, t in items)]
        added = [p for p, terms in parts if terms[0] not in known]
        if len(restated) >= 2 and added:
            given = "; ".join(line.strip(" -,") for line, _ in items)
            return [(f"the evidence needs only: {given}; not {added[0]!r}", source)]
    return []


@lru_cache(maxsize=256)
def _passage_terms(text: str) -> frozenset[str]:
    return frozenset(content_terms(text))
