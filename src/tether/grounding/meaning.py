"""What a clause means beyond its words: polarity, states, timings and closed-class values.

Word overlap cannot tell "the order is pending" from "the order is not pending", or "gift-card
refunds are immediate" from "gift-card refunds take 5 to 7 business days". These readers pull
out of a clause the parts whose swap changes its meaning, so that a claim clause can be set
against the evidence clause it restates:

- polarity: a negation word or contraction within the clause;
- states: lifecycle words ("pending", "delivered", "cancelled") and whether the clause asserts,
  denies or merely mentions them ("can be returned" asserts nothing about the present);
- timings: immediacy, durations and relative days (`tether.grounding.timings`);
- closed classes: words of which exactly one holds (before/after, more/less, the weekdays, a
  pack's payment methods): a clause that swaps one for another says something else.

A `Vocabulary` holds the closed classes; the default is domain-neutral and a domain pack extends
it (`Vocabulary.extended`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from tether.grounding.claims import NEGATIONS, content_terms, norm, words

# A clause ends at these: sentence-internal punctuation, contrast and relative words.
# ("twelve hundred dollars or so" is one amount: its "so" joins no clause; "has yet to ship"
# is one denial)
_CLAUSE_BREAK = re.compile(
    r"[;:()\u2014]|\s[-\u2013]\s|(?<!\bor),?\s\b(?:but|however|although|though|whereas|while|yet(?!\s+to\b)|"
    r"except|unless|whereas|so|because|since)\b|,\s*(?:such as|for example|for instance|"
    r"as long as|provided)\b|,\s*(?:and|or)\s|\band\s+(?=(?:it|its|they|"
    r"their|there|the|this|that|he|she|we|you|your|our)\b)|,\s*(?=(?:it|its|they|their|there|"
    r"this|these|he|she|we|you|i)\b)",
    re.IGNORECASE,
)
# a bracket that only tells which one and what it costs: "($261.11)", "(item 7717598293,
# $985.66)", "(128GB)"; one that holds words ("(not the blue one)") parts the clause
_PRICE = r"[$\u20ac\u00a3]\s?[\d,]+(?:\.\d+)?"
_ASIDE_IN_BRACKETS = re.compile(
    rf"\(\s*(?:(?:(?:item|id|sku|order|product|no\.?)\s+)?#?[a-z0-9.-]*\d[a-z0-9.-]*"
    rf"(?:\s*,\s*{_PRICE})?|{_PRICE})\s*\)",
    re.IGNORECASE,
)
_EXTRA_NEGATIONS = frozenset(("unable", "neither", "nowhere", "nobody", "noone", "nothing"))
_DENYING = NEGATIONS | _EXTRA_NEGATIONS
_NEGATED_CONTRACTION = re.compile(r"\b\w+n[\u2019']t\b|\bcannot\b", re.IGNORECASE)
_CUT_VERB = ("'s", "\u2019s")  # a verb cut down to its "s": "nothing's shipped"
_NO_LONGER = re.compile(r"\bno\s+(?:longer|more)\b", re.IGNORECASE)
# "no later than", "not only", "no more than N": negation words that do not deny the clause
_NOT_DENIAL = re.compile(
    r"\bno\s+(?:later|earlier|sooner|more|less|fewer)\s+than\b|\bnot\s+only\b|"
    r"\bif\s+not\b|\bnot\s+(?:just|merely)\b|\bwhether\s+or\s+not\b|\bno\s+matter\b",
    re.IGNORECASE,
)


# a clause left open by a preposition shares its object with the next ("act on, or share …")
_PREPOSITIONS = frozenset(("on", "of", "to", "for", "with", "from", "about", "at", "by", "into"))
_SHARED_OBJECT = re.compile(rf"\b(?:{'|'.join(sorted(_PREPOSITIONS))})\s*$", re.IGNORECASE)
_DENIED_REASON = re.compile(r"\bnot\s*$", re.IGNORECASE)
_REASON = re.compile(r",?\sbecause\b", re.IGNORECASE)
_JOINED = re.compile(r",\s*(?:and|or)\s", re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    """A stretch of a sentence that asserts one thing, and where it sits in the sentence."""

    text: str
    start: int
    end: int


def clauses(text: str) -> list[Clause]:
    """Split a sentence at contrast words, semicolons and clause-joining "and"s."""
    out: list[Clause] = []
    begin = 0
    # a price in brackets parts no clause: "it was paid in full ($261.11) and has shipped" is
    # one clause, whose subject the bracket does not cut from what follows it; after a denial
    # it still parts one ("no water resistance ($298.91) can be ordered": the "no" is the
    # option's)
    asides = {m.start(): m.end() for m in _ASIDE_IN_BRACKETS.finditer(text)} if "(" in text else {}
    inside = -1  # the end of the aside the clause runs through
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() < inside:
            continue
        # the clause up to the last aside it ran through was read already: only the rest is
        if match.start() in asides and not negated(text[max(begin, inside) : match.start()]):
            inside = asides[match.start()]
            continue
        if _SHARED_OBJECT.search(text, begin, match.start()) and _JOINED.match(match.group(0)):
            continue  # "act on, or share details of, an account": one object, one clause
        if _DENIED_REASON.search(text, begin, match.start()) and _REASON.match(match.group(0)):
            continue  # "not because the payment is returned": the denial is the reason's
        if match.start() > begin:
            out.append(Clause(text[begin : match.start()], begin, match.start()))
        begin = match.end()
    if begin < len(text):
        out.append(Clause(text[begin:], begin, len(text)))
    return [c for c in out if any(ch.isalpha() for ch in c.text)]


_INTERJECTION = re.compile(r"^\W*(?:\w+\s+){0,2}no\s*[.!,;]\s+", re.IGNORECASE)
_CUE = re.compile(
    r"\b(?:not|no|never|none|without|cannot|unable|nor|neither)\b|\b\w+n[\u2019']t\b"
    r"|\byet\s+to\b",
    re.IGNORECASE,
)
# "has yet to ship", "is yet to be refunded": what has not happened so far
_YET_TO = re.compile(
    r"\b(?:has|have|had|is|are|was|were)\s+yet\s+to\b|[\u2019']s\s+yet\s+to\b", re.I
)


def negated(text: str) -> bool:
    """True when the clause denies what it says: "not", "never", "no", "n't", "unable"…

    Comparisons and emphasis built on a negation word ("no later than", "not only") are not
    denials, nor is an answer's leading "Unfortunately no." (it answers; the clause states).
    """
    plain = _NOT_DENIAL.sub(" ", _INTERJECTION.sub(" ", text))
    if _NEGATED_CONTRACTION.search(plain) or _NO_LONGER.search(plain) or _YET_TO.search(plain):
        return True
    # "nothing's shipped": a negation word with its verb cut down to "'s"
    for word in words(plain):
        low = word.lower()
        if (low[:-2] if low.endswith(_CUT_VERB) else low) in _DENYING:
            return True
    return False


# a possessive naming who said something: "your nephew's", "the forum's", "brother-in-law's"
_POSSESSIVE = re.compile(r"\b([a-z][\w-]*)[\u2019']s\b", re.IGNORECASE)


# a denial of error or of doubt grants what it names: "isn't wrong", "'s not far off", "isn't
# something I can dispute", "can't argue with"
_GRANTING_DENIAL = re.compile(
    r"(?:\bnot|\bnever|n[\u2019']t)\s+(?:\w+\s+){0,1}(?:wrong|mistaken|incorrect|false|untrue|"
    r"(?:far\s+)?off|lying)\b|"
    r"(?:\bnot|\bnever|n[\u2019']t|\bcannot)\b[^.;:!?]{0,30}?\b(?:dispute|argue|deny|doubt|"
    r"question|fault|contradict)\b",
    re.IGNORECASE,
)


def grants(text: str) -> bool:
    """True when the clause's denial is of error or doubt, and so grants what it names ("the
    forum's $500 limit isn't wrong"): no denial of it."""
    return _GRANTING_DENIAL.search(text) is not None


def declines_reporter(text: str, reporters: frozenset[str]) -> bool:
    """True when the clause denies what it names as someone's report ("your nephew's serial
    numbers aren't needed", "the forum's $500 limit isn't part of our rule", "your coworker's
    ten to fourteen days doesn't apply"): it is about the report, not about the rules. A
    denial of error ("your brother-in-law's not wrong") grants the report instead."""
    if not reporters or not denies(text) or grants(text):
        return False
    return any(set(content_terms(m.group(1))) & reporters for m in _POSSESSIVE.finditer(text))


# "our rule gives no 48-hour window", "our timings have no paid option": what the rules hold
# none of
_NONE_IN_RULES = re.compile(
    r"\b(?:rules?|polic(?:y|ies)|steps|timings|terms)\s+(?:gives?|has|have|holds?|includes?|"
    r"sets?|says?|mentions?)\s+(?:no|nothing)\b|"
    # "not in our timings", "isn't part of what happens next", "not something our timings say"
    r"\bnot\s+(?:in|part\s+of|something)\s+(?:our|the|what)\b|"
    r"\b(?:is|are)(?:n[\u2019']t|\s+not)\s+part\s+of\b|"
    # "nothing in our rule limits that to the last 90 days"
    r"\bnothing\s+in\s+(?:our|the|these|those)\s+(?:rules?|polic(?:y|ies)|steps|timings|terms)\b",
    re.IGNORECASE,
)


def none_in_rules(text: str) -> bool:
    """True when the clause says the rules hold none of what it names ("our timings have no
    paid option that brings it down to 24 hours"): what it names is declined, not timed."""
    return _NONE_IN_RULES.search(text) is not None


# a predicate putting what its clause names outside what the evidence's rules say: "falls
# outside how a difference gets paid", "goes further than our rules do", "is a point our steps
# are silent on", "is the chat agent's idea"
_OUTSIDE_THE_RULES = re.compile(
    r"\b(?:falls?|is|are)\s+outside\b|\bgo(?:es)?\s+(?:further|beyond)\b|\bsilent\s+on\b|"
    r"\b(?:is|was)\s+(?:the|your)\s+(?:[\w-]+\s+){0,2}[\w-]+[\u2019']s\s+idea\b|"
    # "the split your husband suggested is out as well", "is off the table"
    r"\b(?:is|are)\s+(?:out|off\s+the\s+table|a\s+no-go|ruled\s+out)"
    r"(?:\s+(?:as\s+well|too|also))?\s*(?=[.,;:!)]|$)",
    re.IGNORECASE,
)


def sets_outside(text: str) -> bool:
    """True when the clause puts what it names outside what the rules say ("cash to the
    courier falls outside how a difference gets paid"): like a denial, it grants nothing."""
    return _OUTSIDE_THE_RULES.search(text) is not None


def denial_start(text: str) -> int:
    """Where a clause's denial begins ("A swap over a shop counter | is no part of …"): its
    first negation word or outside-the-rules predicate, else the clause's end."""
    found = [m.start() for m in (_CUE.search(text), _OUTSIDE_THE_RULES.search(text)) if m]
    return min(found, default=len(text))


# what joins two stretches of one subject: a bare "and" or "or", no comma
_JOINED_SUBJECT = re.compile(r"\s*(?:and|or)\s*", re.IGNORECASE)


# how many clauses one subject is read across: "A and B and C aren't needed" (a bound, so that
# a long run of "and"s is read in time linear in its length)
_SUBJECT_PARTS = 4


def subject_start(text: str, found: Sequence[Clause], n: int) -> int:
    """Where the subject of clause `n` of `text` begins when a bare "and" or "or" cut it
    ("The address you'll post from | and | the kit's condition aren't on that list"): at the
    first of the clauses before it so joined that deny nothing themselves."""
    first = n
    while (
        first
        and n - first < _SUBJECT_PARTS
        and _JOINED_SUBJECT.fullmatch(text, found[first - 1].end, found[first].start)
    ):
        before = found[first - 1].text
        if negated(before) or sets_outside(before):
            break
        first -= 1
    return found[first].start


def denied_with_next(text: str, found: Sequence[Clause], n: int) -> bool:
    """Whether clause `n` is the first part of a subject a later clause, joined to it by bare
    "and"s or "or"s, denies or puts outside the rules."""
    for m in range(n + 1, min(len(found), n + 1 + _SUBJECT_PARTS)):
        if not _JOINED_SUBJECT.fullmatch(text, found[m - 1].end, found[m].start):
            return False
        if negated(found[m].text) or sets_outside(found[m].text):
            return True
    return False


def declined_label(text: str) -> bool:
    """True for a label and a denial of it: "Verified for a week: nowhere in our steps",
    "Cash to the courier: not something we take". The label names what is declined."""
    label, colon, rest = text.partition(":")
    return bool(colon and label.strip()) and (
        negated(rest) or sets_outside(rest) or _ANSWERED_NO.match(rest) is not None
    )


# a label answered "no" ("Mastercard ending 3762: no, it's another card"): the "no" is the
# answer to the label, however the words after it go on
_ANSWERED_NO = re.compile(r"\s*no\b", re.IGNORECASE)


# a heading that declines what its list names: "Not needed: the address you post from, or
# whether the kit was opened", "No need for: …", "Also not required: …"
_DECLINING_HEAD = re.compile(
    r"^\W*(?:\d+[.)]\s*)?(?:also\s+|but\s+)?(?:"
    r"(?:not|never)\s+(?:\w+\s+)?(?:needed|required|necessary|asked\s+for|wanted|"
    r"on\s+(?:the|that|our)\s+list|part\s+of\s+(?:it|the\s+list)|possible|allowed|an\s+option)"
    r"|no\s+need(?:\s+for)?|unnecessary|nothing\s+(?:else\s+)?needed)\s*$",
    re.IGNORECASE,
)


def declining_heading(text: str) -> bool:
    """True for a heading that declines the list after it ("Not needed: the address you post
    from, or whether the kit was opened")."""
    head, colon, rest = text.partition(":")
    return bool(colon and rest.strip()) and _DECLINING_HEAD.match(head) is not None


def declined_part(text: str) -> str | None:
    """What a label and its denial decline, either way round: the label of "Cash to the
    courier: not something we take", the list of "Not needed: the address you post from";
    None for neither."""
    if declining_heading(text):
        return text.partition(":")[2]
    return text.partition(":")[0] if declined_label(text) else None


# a denial inside a relative clause that narrows who or what the main clause is about
_RELATIVE_DENIAL = re.compile(
    r"\b(?:who|that|which|whose)\s+(?:\w+\s+){0,2}?(?:not|never|\w+n[\u2019']t|cannot)\b",
    re.IGNORECASE,
)


# "A, not B": a main clause, then the alternative it sets aside
_CONTRAST_TAIL = re.compile(
    r"^(.*\w)\s*,\s*(?:and\s+|but\s+)?not\s+(?!only\b|just\b|merely\b)\S.*$", re.IGNORECASE
)


def main_part(clause: str) -> str:
    """The main part of "A, not B" when A itself denies nothing ("goes back onto the gift card
    straight away, not in 5 to 7 business days": the denial sets an alternative aside), else
    the whole clause."""
    if "not" not in clause:
        return clause
    main = _CONTRAST_TAIL.match(clause)
    return main.group(1) if main is not None and not negated(main.group(1)) else clause


def denies(text: str) -> bool:
    """True when the clause as a whole denies: a denial inside a narrowing relative clause and
    one in the main clause cancel ("a neighbour who isn't named can't collect it" says what
    "only a named neighbour can collect it" says)."""
    if not negated(text):
        return False
    plain = _NOT_DENIAL.sub(" ", _INTERJECTION.sub(" ", text))
    cues = list(_CUE.finditer(plain))
    inner = _RELATIVE_DENIAL.search(plain)
    return not (len(cues) == 2 and inner is not None and inner.end() == cues[0].end())


_MODALITY = frozenset(content_terms("possible allowed permitted"))
_DEGREE = frozenset(("longer", "still", "yet", "already", "even", "ever", "always", "really"))


# (and "be given": what a person is given, they get)
_HAVING = frozenset(
    content_terms("get gets got receive receives received have has had given provided")
)


def denied_terms(text: str) -> set[str]:
    """The words each negation governs: the first content word after its cue, past adverbs,
    with the words coordinated to it ("can no longer be changed or cancelled" → change,
    cancel; "does not move orders" → move), and what a verb of having has ("doesn't get a
    summary" → get, summary)."""
    plain = _NOT_DENIAL.sub(" ", _INTERJECTION.sub(" ", text))
    out: set[str] = set()
    for cue in _CUE.finditer(plain):
        tokens = [w.lower().strip(".,;:!?") for w in plain[cue.end() :].split()[:10]]
        tokens = [w for w in tokens if w and w not in _DEGREE]
        taken: list[str] = []
        n = 0
        while n < len(tokens):
            terms = content_terms(tokens[n])
            if terms:
                taken.extend(terms)
                # "act on, or share": a preposition may stand before the coordinator
                at = n + 2 if n + 2 < len(tokens) and tokens[n + 1] in _PREPOSITIONS else n + 1
                if at + 1 < len(tokens) and tokens[at] in ("or", "and", "nor"):
                    n = at + 1
                    continue
                break
            n += 1
        # a need denied is the act denied: "don't need to verify your identity" denies that the
        # identity is verified, as "don't verify it" would
        if taken[:1] == ["need"] and tokens[n + 1 : n + 2] == ["to"]:
            taken.extend(t for w in tokens[n + 2 : n + 3] for t in content_terms(w))
        # a verb of having bears the negation onto what is had, said as a thing of its kind:
        # "doesn't get a summary" (not "doesn't get your request in full")
        if (
            len(taken) == 1
            and taken[0] in _HAVING
            and tokens[n + 1 : n + 2] in (["a"], ["an"], ["any"])
        ):
            rest = [t for w in tokens[n + 2 : n + 4] for t in content_terms(w)]
            taken.extend(rest[:1])
        out.update(taken)
    out.update(paid_to_nothing(plain))
    return out


def paid_to_nothing(text: str) -> set[str]:
    """The words of what money is said not to have gone on: "nothing went on a credit card or
    PayPal" → credit, card, paypal."""
    out: set[str] = set()
    lowered = text.lower()
    if "nothing" not in lowered and "none" not in lowered:
        return out
    for went in _NOTHING_WENT.finditer(text):
        phrase = _PAID_TO_END.split(text[went.end() : went.end() + 60], maxsplit=1)[0]
        out.update(content_terms(" ".join(phrase.split()[:6])))
    return out


# money said to have gone nowhere: what it went on is denied ("nothing went on a credit card or
# PayPal", "none of it was charged to your card")
_NOTHING_WENT = re.compile(
    r"\b(?:nothing|none\s+of\s+(?:it|that|this|the\s+(?:money|payment|amount|total)))\s+"
    r"(?:(?:was|were|is|has\s+been|have\s+been|got|will\s+be)\s+)?"
    r"(?:went|goes|go|charged|paid|put|billed|taken|came|comes)\s+"
    r"(?:onto|on|to|through|via|from|with|by|off)\s+",
    re.IGNORECASE,
)
_PAID_TO_END = re.compile(r"[,.;:!?()]|\b(?:because|since|so|as|but|while|though)\b", re.I)


# "polyester rather than cotton", "wireless instead of wired": the word after it is set aside
_CONTRAST_CUE = r"\b(?:rather\s+than|instead\s+of|as\s+opposed\s+to|in\s+place\s+of)\s+"
_CONTRAST = re.compile(_CONTRAST_CUE + r"(?:an?\s+|the\s+)?", re.IGNORECASE)


def contrasted_terms(text: str) -> set[str]:
    """The words a contrast sets aside: the first two content words after "rather than",
    "instead of" … before a stop ("polyester rather than cotton" → cotton, "silver rather than
    gunmetal grey" → gunmetal, grey). The clause denies them, as "not" would."""
    out: set[str] = set()
    for cue in _CONTRAST.finditer(text):
        phrase = _PHRASE_STOP.split(text[cue.end() : cue.end() + 80], maxsplit=1)[0]
        out.update(content_terms(" ".join(phrase.split()[:3]))[:2])
    return out


_PHRASE_STOP = re.compile(r"[,;:.!?()\u2013\u2014]|\s(?:and|but|or|so|with)\s", re.IGNORECASE)


def denied_acts(text: str) -> set[str]:
    """The act a clause says is not possible or allowed: its first content word ("exchanging
    for another product is not possible" → exchange)."""
    plain = _NOT_DENIAL.sub(" ", _INTERJECTION.sub(" ", text))
    out: set[str] = set()
    for cue in _CUE.finditer(plain):
        after = content_terms(" ".join(plain[cue.end() :].split()[:3]))
        if after and after[0] in _MODALITY:
            out.update(content_terms(plain[: cue.start()])[:1])
    return out


# ---------------------------------------------------------------------------------------------
# closed classes


@dataclass(frozen=True)
class Vocabulary:
    """Closed classes of words (exactly one member holds), and lifecycle states.

    `classes` maps a class name to its members; each member is a canonical name and the surface
    forms that mean it ("cancelled": "canceled", "cancellation"). `states` names the classes
    whose members are states of a record (the ones a status field holds). `values` maps a
    record field's name (lower case) to the values it can take, each with its forms ("size":
    "large": "L"): a value named with its field's name ("size large") is read as that field's.
    `names` maps an object's full name (lower case) to the short names it is called by beside
    its name's last word ("vacuum cleaner": "vacuum"; "smartphone": "phone").
    """

    classes: Mapping[str, Mapping[str, tuple[str, ...]]]
    states: frozenset[str] = frozenset()
    genre: frozenset[str] = field(default_factory=frozenset)  # words whose absence proves nothing
    progress: tuple[str, ...] = ()  # states in the order a record passes through them
    values: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def holds(self, state: str, current: str) -> bool:
        """True when a record in `current` is (or has been) in `state`: a delivered order has
        shipped; a pending one has not."""
        if state == current:
            return True
        if state in self.progress and current in self.progress:
            at = self.progress.index(state)
            return 0 < at < self.progress.index(current)
        return False

    def extended(
        self,
        classes: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        *,
        states: Iterable[str] = (),
        genre: Iterable[str] = (),
        values: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        names: Mapping[str, Sequence[str]] | None = None,
    ) -> Vocabulary:
        """A copy with more classes (a class of the same name gains members), genre words,
        field values (a field of the same name gains values) and short names."""
        return Vocabulary(
            _merged(self.classes, classes),
            self.states | frozenset(states),
            self.genre | frozenset(norm(w) for w in genre),
            self.progress,
            _merged(self.values, {k.lower(): v for k, v in (values or {}).items()}),
            _short_names(self.names, names or {}),
        )

    def members(self, text: str) -> list[tuple[str, str, int, int]]:
        """Every (class, member, start, end) the text names, longest form first, no overlaps.

        One alternation of every form, compiled once per vocabulary, scans the text in a single
        pass; the answers for recent texts are kept (the same evidence clauses are asked about
        by every claim of an answer)."""
        return self._scanned().scan(text)

    def _scanned(self) -> _Scanner:
        scanner = self.__dict__.get("_scanner")
        if scanner is None:
            scanner = _Scanner(self)
            object.__setattr__(self, "_scanner", scanner)
        return scanner


class _Scanner:
    """The compiled forms of one vocabulary and a bounded memory of recent scans."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        forms: dict[str, tuple[str, str]] = {}
        for name, members in vocabulary.classes.items():
            for canonical, more in members.items():
                for form in (canonical, *more):
                    forms.setdefault(form.lower(), (name, canonical))
        ordered = sorted(forms, key=len, reverse=True)
        body = "|".join(re.escape(f) for f in ordered) or r"(?!)"
        self.pattern = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)
        self.forms = forms
        self.memory: dict[str, list[tuple[str, str, int, int]]] = {}
        # text -> its `states`: a clause's states are asked for by several checks
        self.states: dict[str, tuple[StateMention, ...]] = {}

    def scan(self, text: str) -> list[tuple[str, str, int, int]]:
        found = self.memory.get(text)
        if found is None:
            found = []
            at = 0
            while (match := self.pattern.search(text, at)) is not None:
                match = self._reaching(text, match)
                name, canonical = self.forms[match.group(0).lower()]
                found.append((name, canonical, *match.span()))
                at = match.end()
            if len(self.memory) > 4096:
                self.memory.clear()
            self.memory[text] = found
        return list(found)

    def _reaching(self, text: str, match: re.Match[str]) -> re.Match[str]:
        """The form reaching furthest of those that start inside `match` at a word: "already
        on" (an existing thing) gives way to "on your doorstep" (a delivered one)."""
        best = match
        for space in _INNER_WORD.finditer(match.group(0)):
            inner = self.pattern.match(text, match.start() + space.end())
            if inner is not None and inner.end() > best.end():
                best = inner
        return best


_INNER_WORD = re.compile(r"\s+(?=\w)")


def _forms(spec: str) -> dict[str, tuple[str, ...]]:
    """ "pending|awaiting; cancelled|canceled" → {pending: (awaiting,), cancelled: (canceled,)}"""
    out: dict[str, tuple[str, ...]] = {}
    for member in spec.split(";"):
        forms = [f.strip() for f in member.split("|") if f.strip()]
        if forms:
            out[forms[0]] = tuple(forms[1:])
    return out


def _short_names(
    kept: Mapping[str, tuple[str, ...]], more: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Short names by full name, `more` added to `kept`, lower case and squeezed (a blank one
    is dropped)."""
    out = dict(kept)
    for name, shorts in more.items():
        full = " ".join(name.lower().split())
        added = (" ".join(s.lower().split()) for s in shorts if s.strip())
        if full:
            out[full] = tuple(dict.fromkeys((*out.get(full, ()), *added)))
    return {k: v for k, v in out.items() if v}


def _merged(
    kept: Mapping[str, Mapping[str, Sequence[str]]],
    more: Mapping[str, Mapping[str, Sequence[str]]] | None,
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Named groups of canonical words with their forms, `more` added to `kept`."""
    merged = {name: {c: tuple(f) for c, f in members.items()} for name, members in kept.items()}
    for name, members in (more or {}).items():
        target = merged.setdefault(name, {})
        for canonical, forms in members.items():
            target[canonical] = tuple(dict.fromkeys((*target.get(canonical, ()), *forms)))
    return merged


DEFAULT_VOCABULARY = Vocabulary(
    classes={
        "lifecycle": _forms(
            "pending|awaiting processing; processed|processing|being prepared; "
            "shipped|dispatched|in transit|on its way|on their way|on the way|out for delivery; "
            "delivered|arrived; cancelled|canceled; returned; exchanged; refunded; completed; failed; "
            "expired; suspended; approved; rejected|declined; closed; open; active; inactive"
        ),
        "order": _forms("before|earlier than|prior to; after|later than|following"),
        "amount": _forms(
            "more than|over|above|greater than|exceeds|exceeding; less than|under|below|"
            "fewer than; at least|minimum of|no less than; at most|maximum of|no more than|"
            "up to"
        ),
        "trend": _forms(
            "increase|increased|increases|rose|rise|rises|grew|growth; "
            "decrease|decreased|decreases|fell|fall|falls|declined|drop|dropped"
        ),
        "colour": _forms(
            "black; white; grey|gray; silver; gold; rose gold; red; blue; navy; green; yellow; "
            "pink; purple; orange; brown; beige"
        ),
        "level": _forms("low; medium; high"),
        # how a message reaches someone: "a text message" where the evidence says "an e-mail"
        "channel": _forms("e-mail|email; text message|sms; phone call; letter in the post"),
        "novelty": _forms(
            "new|newly created|brand new; existing|already exists|already exist|already have|"
            "already hold|already on"
        ),
        "size": _forms("small; medium-sized|medium size; large; extra large"),
        "weekday": _forms("monday; tuesday; wednesday; thursday; friday; saturday; sunday"),
        "month": _forms(
            "january; february; march; april; june; july; august; september; october; "
            "november; december"
        ),
    },
    states=frozenset(("lifecycle",)),
    progress=("pending", "processed", "shipped", "delivered"),
)

# ---------------------------------------------------------------------------------------------
# states

# ("has yet to ship" says what has not happened: a denial, no modal)
_MODAL_BEFORE = re.compile(
    r"\b(?:can|could|may|might|will|would|should|must|(?<!\byet\s)to|shall|able\s+to|eligible\s+to|"
    r"once|when|if|until|after|before|unless|only)\s+(?:\w+\s+){0,4}$",
    re.IGNORECASE,
)


_STATE_FRAME = re.compile(
    r"\b(?:is|are|was|were|been|be|being|now|still|already|remains?|stays?|became|becomes|"
    r"got|gets|has|have|had|not|yet|never)\b|n[\u2019']t\b|[\u2019'](?:s|re)\b",
    re.IGNORECASE,
)


# forms that say where a record is now, not what it has been through (a place a pack names,
# "with the carrier", "at your door", included)
_PROGRESSIVE = re.compile(
    r"on (?:its|their|the) way|in transit|out for delivery|being prepared|processing|awaiting"
    r"|(?:with|at|on)\s+(?:the|your)\s",
    re.I,
)


# a state a contrast sets aside: "is shipped rather than processed", "instead of being
# cancelled" deny the second as "not" would
_SET_ASIDE_BEFORE = re.compile(
    _CONTRAST_CUE + r"(?:(?:being|having\s+been|been|getting|the|an?)\s+)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class StateMention:
    """A lifecycle word in a clause: the state, and whether the clause asserts or denies it."""

    state: str
    asserted: bool  # False when the clause denies it ("is not pending", "hasn't shipped")
    modal: bool  # a possibility or condition ("can be returned", "once delivered")
    attributive: bool  # describes a kind ("pending orders"), not one record's state
    start: int
    end: int
    current: bool = False  # said of now ("still being processed"): a later state is not it


def states(text: str, vocabulary: Vocabulary) -> list[StateMention]:
    """The state words of a clause and how the clause uses each."""
    kept = vocabulary._scanned().states
    found = kept.get(text)
    if found is None:
        found = tuple(_states(text, vocabulary))
        if len(kept) > 4096:
            kept.clear()
        kept[text] = found
    return list(found)


def _states(text: str, vocabulary: Vocabulary) -> list[StateMention]:
    out: list[StateMention] = []
    for name, canonical, start, end in vocabulary.members(text):
        if name not in vocabulary.states:
            continue
        # what bears on a mention sits close before it; a bounded window keeps this linear
        before, after = text[max(0, start - 80) : start], text[end : end + 40]
        modal = bool(_MODAL_BEFORE.search(before))
        attributive = bool(re.match(r"\s+[a-z]+s\b", after)) and not re.search(
            r"\b(?:is|are|was|were|been|be|being|now|still|already|has|have|had)\s+$",
            before,
            re.IGNORECASE,
        )
        window = " ".join(before.split()[-6:])
        if not _STATE_FRAME.search(window) and "status" not in text.lower():
            continue  # "a supervisor approved it" is an act, not the record's state
        denied = (
            negated(window)
            or bool(re.match(r"\s+(?:not|no longer)\b", after, re.I))
            or bool(_SET_ASIDE_BEFORE.search(before))  # "shipped rather than processed"
        )
        current = bool(
            re.search(r"\b(?:still|now|currently|being)\s+(?:\w+\s+)?$", before, re.I)
        ) or bool(_PROGRESSIVE.match(text[start:end]))
        out.append(StateMention(canonical, not denied, modal, attributive, start, end, current))
    return out


@lru_cache(maxsize=4096)
def label_of(text: str) -> str:
    """The lead label of a list item ("**Gift card:** the money is back…" → "Gift card"), its
    bullet included ("- **Credit card or PayPal:** …")."""
    match = _LABEL.match(text)
    if match is None or len(match.group(1).split()) > 5:
        return ""
    return match.group(1)


_LABEL_TEXT = r"[*_]{0,2}([^:*_\n]{1,40}?)[*_]{0,2}\s*:\s*[*_]{0,2}\s*\S"
_LABEL = re.compile(rf"^\s*(?:[-*\u2022]\s+)?{_LABEL_TEXT}")
