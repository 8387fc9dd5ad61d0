"""Additions: a clause, or the part of one after a leading condition or its last "and", made
of words the evidence never uses ("…, and you're subscribed to our newsletter", "… and comes
with a two-year warranty"). It adds a fact rather than restating one; the claim is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tether.grounding.arithmetic import (
    fraction_worked_out,
    money,
    ratio_worked_out,
    share_worked_out,
    worked_out,
)
from tether.grounding.claims import (
    STOP_WORDS,
    blank_framing,
    content_terms,
    joined_letters,
    norm,
    words,
)
from tether.grounding.facts import Finding
from tether.grounding.meaning import Clause, Vocabulary, clauses, negated, sets_outside
from tether.grounding.sources import SourceIndex, own_words

if TYPE_CHECKING:
    from tether.grounding.evidence_set import EvidenceSet

NOVEL = 0.66  # share of a clause's words the evidence never uses that makes it an addition
# what a clause says is not the case in setting what the evidence says against it ("runs off
# USB rather than batteries", "by e-mail instead of a letter"): named in saying no, not added
_CONTRASTED = re.compile(
    r"\b(?:rather\s+than|instead\s+of)\s+(?:(?:a|an|the|any|your|its)\s+)?[\w-]+(?:\s+[\w-]+)?",
    re.IGNORECASE,
)
_CONDITION_LED = re.compile(r"\W*(?:if|when|once|whenever)\b[^,]*,\s*", re.IGNORECASE)


def joined_by_and(text: str, start: int) -> bool:
    """True when the clause starting at `start` is joined to the one before it by "and"."""
    end = start
    while end > 0 and not (text[end - 1].isalnum() or text[end - 1] == "_"):
        end -= 1  # back over what parts the word from the clause, as the pattern's \W* does
    # only the last word before the clause matters: each clause is not a read of the answer
    return _JOINED_BY_AND.search(text, max(0, end - 4), start) is not None


def check_additions(
    body: str,
    evidence: EvidenceSet,
    vocabulary: Vocabulary,
    *,
    joined: bool = False,
    whole: str = "",
) -> list[Finding]:
    """A clause most of whose content words the evidence never uses: it adds something
    ("and you're subscribed to our newsletter"), not a paraphrase of what is there. The
    words of a share the sentence (`whole`) works out from amounts it states ("$2,195.04,
    roughly three-quarters" of "the $2,930.94") say how much, not what is added."""
    if negated(body) or sets_outside(body):
        return []  # saying something is not there, or not in the rules, adds nothing
    # what sets aside what the customer was told names that report, and adds nothing
    body = dismissed_reports(body)
    measure = _MEASURE if fraction_worked_out(whole or body) else frozenset()
    if ratio_worked_out(whole or body, evidence.index.records):
        measure = measure | _MEASURE | _RATIO_WORDS  # "almost four times as much" is how much
    if share_worked_out(whole or body, evidence.index.records):
        measure = measure | _MEASURE | _SHARE_WORDS  # "makes up roughly 59% of the total"
    if money(body):  # "together that comes to $1,298.02, which matches …": how an amount adds up
        measure = measure | _SUM_WORDS | (_TOGETHER if _ADDS_UP.search(body) else frozenset())
    # what follows a leading condition is judged on its own as well ("if the card has
    # expired, store credit is issued automatically"): the condition may be grounded
    led = _CONDITION_LED.match(body)
    # so is what a clause adds after its last "and" ("… is available at $240.97 and comes with
    # a two-year warranty"): the first half may be grounded
    added = _ADDED.match(body)
    parts = (body, *([body[led.end() :]] if led else []), *([added.group(1)] if added else []))
    asked = evidence.index.referents
    restating = RESTATING.search(whole or body) is not None
    # a sentence denying something ("A courier swapping them on one visit: not something I can
    # confirm") may name what the customer was told in denying it
    declining = negated(whole or body)
    # a clause of a sentence the evidence speaks to names the customer's things in applying
    # it ("…, so the silver smart watch works"; "Gold to silver smart watch: yes, provided …")
    spoken_to = bool(whole) and (
        bool(evidence.index.terms.intersection(plain_terms(whole, vocabulary)))
        or _labelled_by_evidence(whole, evidence.index.terms)
    )
    for part in parts:
        # "…, so please pick another payment method": a request, no fact added
        part = _PLEASE.sub(" ", part)
        # what frames the clause (an amount in words, judged as a number; "as far as this
        # record shows") and what a contrast sets aside are not what it adds
        said_plain = _set_aside(blank_framing(part), evidence.index.terms)
        terms = [
            t
            for t in plain_terms(said_plain, vocabulary)
            if len(t) > 1 and t not in measure and t not in _ANSWERS
        ]
        judged = state_words(part, vocabulary)
        known = _known_here(part, evidence.index)
        # the names the customer gives ("the Amex") are not added by naming them; nor are
        # their other words ("could I swap the boots?") in a sentence the evidence speaks to at
        # all, or one that says back what they asked: a sentence of nothing but the customer's
        # words ("yes, you get free express shipping") otherwise only says the customer back
        anchored = restating or bool(known.intersection(terms)) or spoken_to
        spoken = asked.words if anchored else asked.names
        if restating or declining:  # what they ask about, or are told no to, includes
            spoken = spoken | asked.heard  # what they were told
        novel = sorted({t for t in terms if t not in known and t not in judged and t not in spoken})
        if len(novel) >= 3 and len(novel) / len(set(terms)) >= NOVEL:
            return [_added(novel)]
    # a short clause joined by "and" to what the evidence grounds, every word of it new
    # ("…, and you're subscribed to our newsletter"); identifiers are checked as such
    for part in (*([body] if joined else []), *([added.group(1)] if added else [])):
        if _states_a_result(part, whole or body, evidence.question):
            continue  # "and $400 leaves $15.65 uncovered": its words say how it is worked out
        plain = joined_letters(_IDENTIFIER.sub(" ", blank_framing(part)))
        own = {t for t in plain_terms(plain, vocabulary) if len(t) > 1 and t not in measure}
        own -= state_words(part, vocabulary)
        # a word the evidence or the customer uses, as written or joined ("e-mail"), is not
        # new; a clause of nothing but the customer's words is judged whole, above
        raw = set(plain_terms(_IDENTIFIER.sub(" ", part), vocabulary))
        said = asked.words | asked.heard if restating else asked.words
        if len(own) >= 2 and not (own | raw) & (evidence.index.terms | said):
            return [_added(sorted(own))]
    return []


def _known_here(part: str, index: SourceIndex) -> frozenset[str] | set[str]:
    """The evidence's terms as `part` may use them: a term only a field map's words give
    ("ship" of "shipment") is the evidence's where the part says it in those words ("a single
    shipment"), not in others ("free standard shipping")."""
    if not index.field_only:
        return index.terms
    said = {norm(w) for w in words(part) if w.lower() in index.field_forms}
    return index.terms - (index.field_only - said)


# a line that is a label and what fills it in ("Items going back: the urethane set only")
_LABEL = re.compile(r"^\W*(?P<label>[^:\u2192]{2,40}?)\s*(?::|\u2192)\s*\S")


def _labelled_by_evidence(sentence: str, known: frozenset[str] | set[str]) -> bool:
    """True when the sentence fills in a label made wholly of the evidence's words ("Items
    going back: …" of "the list of items you are sending back"): what follows is what the
    evidence asks for, named in the customer's words."""
    found = _LABEL.match(sentence)
    said = content_terms(found.group("label")) if found else []
    # the genre's words count here ("items"); light verbs ("going") say nothing either way
    label = [t for t in said if t not in _LIGHT and t not in ADVERBS and t not in STOP_WORDS]
    return bool(label) and all(t in known for t in label)


def _states_a_result(part: str, sentence: str, question: str) -> bool:
    """True when the clause states an amount of money that is, to the cent, the sum or the
    difference of two others the sentence or the customer's own words state ("$400 leaves
    $15.65 uncovered" of "I paid $415.65"). Whether those are grounded is for the amount
    checks to judge."""
    said = [*money(sentence), *money(own_words(question))]
    return any(worked_out(v, [a for a in said if a != v], said) for v in money(part))


# a sentence saying back what the customer asks ("you're asking whether …", "you'd like to
# know when …", "you're returning the wristwatch and asking what we need"): its words are the
# customer's
RESTATING = re.compile(
    r"\byou(?:[\u2019'](?:re|ve)|\s+are|\s+have)?\s+(?:ask|wonder)(?:ing|ed)\b|"
    r"\byou(?:[\u2019']d|\s+would)?\s+(?:like|want)\s+to\s+know\b|"
    r"\byou(?:[\u2019']re|\s+are|(?:[\u2019']d|\s+would)\s+like\s+to|\s+want\s+to)\b"
    r"(?:[^.;:?!]|\.\d)*?\band\s+(?:ask(?:ing)?|wonder(?:ing)?)\b",
    re.IGNORECASE,
)


# a clause setting aside what someone told the customer ("…, whatever was said on the phone
# about holding one for you", "regardless of what the bot promised"), to the end of its clause
_DISMISSED = re.compile(
    r"\b(?:whatever|regardless\s+of\s+what|no\s+matter\s+what|despite\s+what|"
    r"contrary\s+to\s+what)\b[^,;:.!?]*?\b(?:said|told|promis\w*|heard|claim\w*|mention\w*|"
    r"wrote|written)\b[^,;:.!?]*",
    re.IGNORECASE,
)


def dismissed_reports(text: str) -> str:
    """`text` without the clauses setting aside what the customer was told: they refer to a
    report in declining to vouch for it. What follows such a clause is the answer's own
    ("whatever was said, you get free shipping" still adds free shipping)."""
    return _DISMISSED.sub(" ", text)


# a clause hanging on the one before it ("…, since you read that …", "…, whether …")
_HANGING = re.compile(r"\W*(?:since|as|because|whether|if|that|which)\b", re.IGNORECASE)
_CONNECTIVE = re.compile(r"\b(?:since|as|because|whether|if|that|which)\b", re.IGNORECASE)


def said_back(text: str) -> list[tuple[Clause, bool]]:
    """Each clause of a sentence, with whether it says back what the customer asks: one
    saying so ("you're asking whether …"), or one hanging on such a clause ("…, since you
    read that …"); a new main clause after it is the answer's own."""
    out: list[tuple[Clause, bool]] = []
    back, end = False, 0
    for clause in clauses(text):
        joint = text[end : clause.start] + clause.text  # with the word the split took
        back = RESTATING.search(clause.text) is not None or (
            back and _HANGING.match(joint) is not None
        )
        out.append((clause, back))
        end = clause.end
    return out


def asks_back(text: str, evidence: EvidenceSet) -> bool:
    """True for a sentence that only says back what the customer asks ("You're asking whether
    we can verify you without your user id."): every clause says back, in words the customer
    or the evidence uses. Like a question, it asserts nothing; a clause after it ("…, and yes,
    …") is the answer's own, and so is a word neither uses."""
    parts = said_back(text)
    if not parts or not all(back for _, back in parts):
        return False
    asked = evidence.index.referents
    known = asked.words | asked.heard | evidence.index.terms
    said = _CONNECTIVE.sub(" ", RESTATING.sub(" ", text))
    return all(t in known for t in content_terms(said))


# how much of a whole a thing is, said roughly ("the bicycle alone was $2,195.04, roughly
# three-quarters"): a measure of what the clause states, which the amount checks judge, never
# a fact it adds
# a yes answers; it adds nothing ("Delivered, yes, in a single shipment")
_ANSWERS = frozenset(("yes", "yeah", "yep"))
_MEASURE = frozenset(
    norm(w)
    for w in [
        "roughly", "approximately", "nearly", "almost", "around", "alone", "half", "halves",
        "third", "thirds", "quarter", "quarters",
    ]
)  # fmt: skip


# the words of a ratio said of two amounts ("more than three times as much as", "twice what
# the two cost together")
_RATIO_WORDS = frozenset(
    norm(w) for w in ["times", "time", "twice", "much", "cost", "costs", "together", "over"]
)


# the words of a share of a total ("makes up roughly 59% of the total", "85 per cent of")
_SHARE_WORDS = frozenset(norm(w) for w in ["total", "share", "percent", "cent", "make", "makes"])
# the words of an amount adding up or agreeing with another: how much, not what is added
_PLEASE = re.compile(r"(?:,?\s*\b(?:so|and|then)\s+)?\bplease\s+[^.;!?]*", re.IGNORECASE)
_SUM_WORDS = frozenset(
    norm(w)
    for w in [
        "altogether", "combined", "total", "sum", "add", "adds", "match", "matches", "matching",
        "comes", "come", "amount", "amounts", "short", "falls", "fall", "shy",
    ]
)  # fmt: skip
# "together" says how an amount adds up only before what it comes to ("together that comes to",
# "together they cost"), not in what is pooled ("together they hold $3,500")
_TOGETHER = frozenset({norm("together")})
_ADDS_UP = re.compile(
    r"\btogether\b[^.;:]{0,15}?\b(?:comes?|came|costs?|adds?\s+up|totals?|amounts?\s+to|makes?)\b",
    re.IGNORECASE,
)


def _set_aside(part: str, known: set[str] | frozenset[str]) -> str:
    """`part` with what each contrast sets aside blanked, where what it is set against (the
    word before "rather than") is the evidence's: "charges by cable instead of a dock" of
    evidence naming neither adds both."""
    out = part
    for found in _CONTRASTED.finditer(part):
        before = content_terms(part[max(0, found.start() - 60) : found.start()])
        if before and before[-1] in known:
            out = out[: found.start()] + " " * (found.end() - found.start()) + out[found.end() :]
    return out


def _added(novel: Sequence[str]) -> Finding:
    return Finding("novel", "unsupported", f"the evidence never uses {', '.join(novel[:4])}", "")


_IDENTIFIER = re.compile(r"\S*\d\S*|\S+@\S+")
_ADDED = re.compile(r".*\s(?:and|plus)\s+([^,;:]+)$", re.IGNORECASE | re.DOTALL)
_JOINED_BY_AND = re.compile(r"\b(?:and|plus)\W*$", re.IGNORECASE)


# adverbs of time and degree: "can still be cancelled" restates "can be cancelled", and "at
# the moment" is "now"
ADVERBS = frozenset(
    norm(w)
    for w in ["still", "yet", "already", "longer", "even", "now", "just", "also", "ever", "moment"]
)


def plain_terms(body: str, vocabulary: Vocabulary) -> list[str]:
    """A clause's content words but adverbs, light verbs and genre words."""
    return [
        t
        for t in content_terms(body)
        if t not in ADVERBS
        and t not in _LIGHT
        and t not in vocabulary.genre
        and t not in STOP_WORDS
    ]


# words any answer may use whatever the evidence says: light verbs and their particles,
# money's unit, "the way to go", "that's fine", "anything else needs …"; they are never the
# thing an addition adds
_LIGHT = frozenset(
    norm(w)
    for w in [
        "go", "goes", "going", "went", "gone", "back", "way", "get", "gets", "got", "make",
        "makes", "made", "take", "takes", "took", "come", "comes", "came", "put", "puts",
        "reach", "reached", "pay", "paid", "dollar", "dollars", "thing", "things", "note",
        "sure", "let", "see", "look", "know", "want", "like", "need", "needs", "fine",
        "anything", "else",
    ]
)  # fmt: skip


def state_words(body: str, vocabulary: Vocabulary) -> set[str]:
    """The words of the states a clause names ("shipped"): the state checks judge them, so
    they are never words the evidence lacks."""
    return {
        t
        for cls, _, a, b in vocabulary.members(body)
        if cls in vocabulary.states
        for t in content_terms(body[a:b])
    }
