"""Two ways a rule's text rules a claim out without sharing most of its words:

- **the others excluded** — the evidence denies an act for "any other card" or "anyone else's
  account"; the claim allows that act for "a new card" or "a different account";
- **a reason the rule disregards** — the evidence says its rule holds "even when you already
  know your user id" or "even a family member's"; the claim gives that very thing as the
  reason for something ("since you know your user id, we can skip…").

Both are read in the sentences of passages (a record states no rules) and report the evidence
sentence that decides them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from tether.grounding.claims import content_terms, norm
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.meaning import label_of, main_part, negated
from tether.grounding.timings import without_no_time

SHARED = 0.6  # share of the disregarded condition's words the claim's reason must hold

# "any other card", "no other account", "anyone else's account"
_OTHERS = re.compile(
    r"\b(?:any|no)\s+other\s+(?P<noun>[a-z]+)|\b(?:anyone|anybody|someone)\s+else(?:'s)?"
    r"\s+(?P<owned>[a-z]+)",
    re.IGNORECASE,
)
# "a new debit card", "a different card", "another account", "someone else's account"
_ANOTHER = r"(?:different|other|another|new|second|separate)(?:\s+[a-z]+){0,2}?\s+"
_OTHER_WORD = re.compile(r"\b(?:different|other|another|new|second|separate)\b", re.I)
_POSSIBLE = re.compile(
    r"\b(?:can|could|may|will|able to|allowed|permitted|possible|okay|ok|fine)\b", re.IGNORECASE
)
# "even when you already know your user id", "even a family member's"
_EVEN = re.compile(
    r"\beven\s+(?:when|if|though|for|after|with)?\s*(?P<cond>[^,.;:!?]+)", re.IGNORECASE
)
# "since you know your user id, …", "because he's family, …"
_BECAUSE = re.compile(
    r"\b(?:since|because|as long as|now that|given that|seeing that)\s+(?P<cond>[^,.;:!?]+)",
    re.IGNORECASE,
)
# a claim that keeps the rule despite the reason ("…, you'll still need to verify")
_DESPITE = re.compile(r"\b(?:still|even|either|anyway|regardless)\b", re.IGNORECASE)
_FILLER = frozenset(norm(w) for w in ("already", "just", "even", "also", "really"))


def check_exclusions(
    clause: str, whole: str, sentences: Sequence[EvidenceClause], texts: Mapping[str, str]
) -> list[tuple[str, EvidenceClause]]:
    """Why a claim clause is ruled out by an evidence sentence, with that sentence."""
    return [
        *_others(clause, sentences),
        *_disregarded(clause, whole, sentences),
        *_delisted(clause, texts, sentences),
        *_denied_option(clause, sentences),
    ]


# "a refund can only be paid to A, or to B": what follows the limit, split into its options
_ONLY_TO = re.compile(
    r"\b(?:can|may|will)\s+only\s+(?:be\s+)?\w+\s+(?:to|into|by|with|for|on)\s+(?P<options>.+)$",
    re.IGNORECASE,
)
_OPTION = re.compile(r",?\s+or\s+(?:to|into|by|with|for|on\s+)?|;\s*", re.IGNORECASE)
# the act itself denied, not a word beside it ("not to a new card", "Unfortunately no.")
_CANNOT = re.compile(
    r"\b(?:cannot|can[\u2019']t|can not|could(?:n[\u2019']t| not)|may not|won[\u2019']t|"
    r"will not|(?:is|are)(?:n[\u2019']t| not) (?:allowed|possible|able))\b",
    re.IGNORECASE,
)
_CUES = re.compile(r"\b(?:not|no|never|cannot|nor)\b|n[\u2019']t\b", re.IGNORECASE)


def _denied_option(
    clause: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """One of the options a rule limits an act to, said to be ruled out ("the original
    payment method can't receive it" where a refund "can only be paid to the payment method
    originally used, or to a gift card"). A clause with a second denial ("… a gift card you
    don't already have") restricts an option rather than striking it, and is left alone."""
    if len(_CUES.findall(clause)) != 1 or not _CANNOT.search(clause):
        return []
    mine = set(content_terms(clause)) - _FILLER
    for s in sentences:
        limit = _ONLY_TO.search(s.text)
        if limit is None or negated(s.text):
            continue
        for option in _OPTION.split(limit.group("options")):
            theirs = set(content_terms(option)) - _FILLER
            held = theirs & mine
            if theirs and (
                held == theirs or (len(held) >= 2 and len(held) / len(theirs) >= SHARED)
            ):
                why = f"the evidence allows {option.strip()[:60]!r}: {s.text.strip()[:80]!r}"
                return [(why, s)]
    return []


# a list's own words: its heading ("Accepted reasons") and the line that opens it ("give one
# of these two reasons:"), kept per evidence item
_LIST_ITEM = re.compile(r"^\s*[-*\u2022]\s+(.+)$", re.MULTILINE)
# a denial that restates the list's limit ("no reason other than …") rather than striking a
# member off it
_EXCEPT = re.compile(r"\b(?:other than|except|besides|apart from|but|only|just|else)\b", re.I)


def _delisted(
    clause: str, texts: Mapping[str, str], sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """A member of a list the evidence introduces ("Accepted reasons: … placed by mistake")
    said not to be one ("ordering by mistake isn't an accepted reason")."""
    clause = without_no_time(clause)  # "didn't take any time" is a timing, not a denial
    if not negated(clause) or _EXCEPT.search(clause) or main_part(clause) != clause:
        # "immediate refunds are for gift cards, not PayPal" sets an alternative aside
        return []
    lists = {source: _members(text) for source, text in texts.items()}
    # a denial inside a quoted or listed member ("'no longer needed'") denies nothing
    plain = _QUOTED.sub(" ", clause.lower())
    for members in lists.values():
        for item, _, _ in members:
            for cue in _CUE.findall(item.lower()):
                plain = plain.replace(cue, " ")
    if not negated(plain):
        return []
    mine = set(content_terms(clause)) - _FILLER
    for source, members in lists.items():
        for item, core, title in members:
            # a labelled item ("**Gift card:** the money is back …") is a case the list
            # states something of, no member of a kind the list admits
            if negated(item) or label_of(item):
                continue
            if any(_names(mine, form, title) for form in (item, core) if form):
                at = _sentence_of(item, source, sentences)
                if at is not None:
                    why = f"the evidence lists {item[:60]!r} under {' '.join(sorted(title))}"
                    return [(why, at)]
    return []


def _sentence_of(
    item: str, source: str, sentences: Sequence[EvidenceClause]
) -> EvidenceClause | None:
    """The evidence sentence a list item is (bold marks aside)."""
    return next(
        (x for x in sentences if x.source == source and item[:40] in x.sentence.replace("**", "")),
        None,
    )


def _names(mine: set[str], member: str, title: frozenset[str]) -> bool:
    """Most of a member's words are said, and a word of its list's heading besides."""
    theirs = set(content_terms(member)) - _FILLER
    held = theirs & mine
    return len(held) >= 2 and len(held) / len(theirs) >= SHARED and bool((mine - theirs) & title)


_LIST_NOUN = re.compile(
    r"\b(?:these|those|the following|following)\s+(?:\w+\s+)?(\w+)\s*:?\s*$", re.IGNORECASE
)
_QUOTED = re.compile(r"(?<!\w)['\"\u2018\u201c][^'\"\u2019\u201d]{1,60}['\"\u2019\u201d](?!\w)")
_CUE = re.compile(r"\b(?:no longer|not|never|no)\s+\w+")


@lru_cache(maxsize=256)
def _members(text: str) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """The items of each list in a text, each with its bold part ("**moves abroad**") and the
    words of the text's heading (its first line) and of the line that opens the list."""
    lines = [line.strip() for line in text.strip().splitlines()]
    heading = set(content_terms(lines[0])) if lines and len(lines[0].split()) <= 8 else set()
    out: list[tuple[str, str, frozenset[str]]] = []
    opener: set[str] = set()
    for n, line in enumerate(lines):
        found = _LIST_ITEM.match(line)
        if found is None:
            continue
        if n == 0 or not _LIST_ITEM.match(lines[n - 1]):
            # the list's noun in its opening line: "give one of these two reasons:"
            named = _LIST_NOUN.search(lines[n - 1]) if n else None
            opener = set(content_terms(named.group(1))) if named else set()
        bold = re.search(r"\*\*(.+?)\*\*", found.group(1))
        item = found.group(1).replace("**", "").strip()
        out.append((item, bold.group(1) if bold else "", frozenset(heading | opener)))
    return tuple(out)


def _others(clause: str, sentences: Sequence[EvidenceClause]) -> list[tuple[str, EvidenceClause]]:
    if _OTHER_WORD.search(clause) is None or negated(clause) or not _POSSIBLE.search(clause):
        return []
    mine = set(content_terms(clause))
    for n, s in enumerate(sentences):
        if not negated(s.text):
            continue
        for found in _OTHERS.finditer(s.text):
            noun = (found.group("noun") or found.group("owned")).lower()
            stem = noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun
            said = re.search(rf"\b{_ANOTHER}{re.escape(stem)}s?\b", clause, re.IGNORECASE)
            if said is None:
                continue
            # the act is the one the sentence (or the one before it) speaks of
            near = set(s.terms)
            if n > 0 and sentences[n - 1].source == s.source:
                near |= sentences[n - 1].terms
            if not (mine - set(content_terms(said.group(0))) - {norm(noun)}) & near:
                continue
            if _allowed_kind(said.group(0), clause, sentences):
                continue
            why = (
                f"the evidence rules out {found.group(0)!r} where the claim allows "
                f"{said.group(0)!r}: {s.text.strip()[:80]!r}"
            )
            return [(why, s)]
    return []


_ALREADY = re.compile(r"\b(?:already|existing)\b", re.IGNORECASE)


def _allowed_kind(said: str, clause: str, sentences: Sequence[EvidenceClause]) -> bool:
    """Whether "another gift card" is of a kind the evidence allows in so many words, held as
    the evidence holds it: "another gift card already on your account" of "or to a gift card
    that already exists on your account" (but not "a new gift card")."""
    kind = _OTHER_WORD.split(said, maxsplit=1)[-1].strip()
    if len(kind.split()) < 2 or not _ALREADY.search(clause):
        return False
    phrase = re.compile(rf"\b{re.escape(kind)}\b", re.IGNORECASE)
    return any(
        not negated(s.text) and _ALREADY.search(s.text) and phrase.search(s.text) for s in sentences
    )


def _disregarded(
    clause: str, whole: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    reason = _BECAUSE.search(clause)
    if reason is None or _DESPITE.search(whole):
        return []
    cond = reason.group("cond")
    given = set(content_terms(cond)) - _FILLER
    if not given:
        return []
    for s in sentences:
        for found in _EVEN.finditer(s.text):
            theirs = set(content_terms(found.group("cond"))) - _FILLER
            if not theirs or negated(found.group("cond")) != negated(cond):
                continue
            # one word ("a flatmate's") must be said; of more, most and at least two
            held = theirs & given
            if held == theirs or (len(held) >= 2 and len(held) / len(theirs) >= SHARED):
                why = (
                    f"the evidence's rule holds {found.group(0).strip()!r}; the claim gives "
                    f"{reason.group(0).strip()!r} as a reason: {s.text.strip()[:80]!r}"
                )
                return [(why, s)]
    return []


# a sentence led by what it is said of: "For returned items you choose …", "If the card has
# expired, …"; the qualifier ends at a comma or where the main clause's subject begins
_LED = re.compile(
    r"^\W*(?P<lead>for|if|when|once|on|with)\s+(?:(?:a|an|the|your|any)\s+)?"
    r"(?P<what>(?:(?!(?:the|you|we|it|they|a|an|your|our|this|that)\b)[\w'-]+\s*){1,4}?)"
    r"(?:,\s*|\s+(?=(?:the|you|we|it|they|a|an|your|our)\b))(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
RESTATED = 0.8  # share of the claim's consequence an evidence consequence must hold


def check_requalified(
    text: str, sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """What the evidence says under one qualifier, said under another it also gives: "for a
    cancelled order you can choose …" where the choice is given "for returned items" and a
    cancelled order's money "goes back to the original payment method"."""
    mine = _LED.match(text)
    if mine is None:
        return []
    what = set(content_terms(mine.group("what")))
    rest = set(content_terms(mine.group("rest"))) - _FILLER
    if not what or len(rest) < 3:
        return []
    led = [(s, m) for s in sentences if (m := _LED.match(s.text)) is not None]
    if not led:
        return []
    same = [
        (s, m)
        for s, m in led
        if m.group("lead").lower() == mine.group("lead").lower()
        and set(content_terms(m.group("what"))) == what
    ]
    if not same or any(_share(rest, m) >= SHARED for _, m in same):
        return []  # the evidence says it of this qualifier too (or nothing of it)
    for s, m in led:
        if set(content_terms(m.group("what"))) & what or _share(rest, m) < RESTATED:
            continue
        why = (
            f"the evidence says this {m.group('lead').lower()} {m.group('what').strip()!r}, "
            f"not {mine.group('what').strip()!r}: {s.text.strip()[:80]!r}"
        )
        return [(why, s)]
    return []


def _share(rest: set[str], m: re.Match[str]) -> float:
    return len(rest & set(content_terms(m.group("rest")))) / len(rest)


_APPLY = r"(?:apply|applies|hold|holds|count|counts|cover|covers)"
_ONLY_IF = re.compile(
    r"\bonly\s+(?:[a-z]+\s+){0,5}?(?:if|when|while|in case)\s+(?P<cond>[^,.;:!?]+)|"
    r"\b(?:if|when)\s+and\s+only\s+(?:if|when)\s+(?P<cond2>[^,.;:!?]+)|"
    # "I can't transfer you unless …" says "only if …"
    r"\b(?:cannot|can[\u2019']t|won[\u2019']t|will not|don[\u2019']t|do not)\s+"
    r"(?:[a-z]+\s+){0,5}?unless\s+(?P<cond3>[^,.;:!?]+)|"
    # "these timings only apply to cancelled orders", "… apply only to cancellations", "…
    # cover cancellations alone"
    r"\bonly\s+(?:apply|applies|hold|holds|count|counts)\s+(?:to|for)\s+(?P<cond4>[^,.;:!?]+)|"
    rf"\b{_APPLY}\s+only\s+(?:to|for|when|if)\s+(?P<cond5>[^,.;:!?]+)|"
    rf"\b{_APPLY}\s+(?:to\s+|for\s+)?(?P<cond6>[^,.;:!?]+?)\s+(?:alone|only)\b",
    re.IGNORECASE,
)
# "when an order is cancelled and when its payment method is changed": cases of one sentence,
# each led by the same word
_CASES = re.compile(
    r"\b(?P<lead>when|if|whenever)\s+(?P<a>[^,.;:!?]+?)\s+(?:and|or)\s+(?P=lead)\s+"
    r"(?P<b>[^,.;:!?]+?)(?=\s+because\b|[,.;:!?]|$)",
    re.IGNORECASE,
)


def _sentence_cases(text: str) -> list[tuple[str, str, frozenset[str]]]:
    """The cases one sentence joins ("when A and when B"), as the members of a list of their
    own (the match's start names it)."""
    out: list[tuple[str, str, frozenset[str]]] = []
    for m in _CASES.finditer(text):
        title = frozenset((f"@{m.start()}",))
        out.extend((m.group(part), "", title) for part in ("a", "b"))
    return out


_CONDITIONS = ("cond", "cond2", "cond3", "cond4", "cond5", "cond6")


def check_narrowed(
    text: str, texts: Mapping[str, str], sentences: Sequence[EvidenceClause]
) -> list[tuple[str, EvidenceClause]]:
    """ "Only if A" where the evidence lists A beside other cases that do as well ("in two cases
    only: A, or B"): the claim drops a case the evidence gives."""
    found = _ONLY_IF.search(text)
    if found is None:
        return []
    cond = next(found.group(g) for g in _CONDITIONS if found.group(g))
    if re.search(r"\b(?:or|either)\b", cond, re.IGNORECASE):
        return []  # the claim names several cases itself: which matches which is unclear
    said = set(content_terms(cond)) - _FILLER
    # what the claim says from its "only" to the end of its clause: the act before it is not
    # a case, and a clause after it may deny the other case ("asking isn't enough")
    # (what follows ", so" is what the claim draws from it, not another case it names)
    end = re.compile(r"[.;:!?]|,\s*so\b").search(text, found.end())
    mine = set(content_terms(text[found.start() : end.start() if end else len(text)])) - _FILLER
    if not said:
        return []
    for source, passage in texts.items():
        members = [*_members(passage), *_sentence_cases(passage)]
        for item, _, title in members:
            theirs = set(content_terms(item)) - _FILLER
            # the case restated: most of its words, or two and most of the condition's; a
            # condition of one word ("only to cancellations") names the one case holding it
            shared = len(theirs & said)
            if len(said) == 1:
                if not said <= theirs or len(theirs) > 3:
                    continue  # a short case holding the word, not any line that uses it
            elif not theirs or not (
                shared / len(theirs) >= SHARED or (shared >= 2 and shared / len(said) >= SHARED)
            ):
                continue
            siblings = [m for m in members if m[2] == title and m[0] != item]
            if len(said) == 1 and any(said <= set(content_terms(m[0])) for m in siblings):
                continue
            # a case of the same list the claim does not name at all (a short case is named
            # by one of its words: "cancellations" of "an order is cancelled")
            dropped = [
                m
                for m in siblings
                if (terms := set(content_terms(m[0])) - _FILLER)
                and len(terms & mine) < max(1, min(2, len(terms) - 1))
            ]
            if not siblings or not dropped:
                continue
            at = _sentence_of(item, source, sentences)
            if at is not None:
                why = (
                    f"the evidence gives {dropped[0][0].strip()[:60]!r} as well as "
                    f"{item.strip()[:60]!r}"
                )
                return [(why, at)]
    return []
