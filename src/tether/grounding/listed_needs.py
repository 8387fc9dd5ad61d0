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
