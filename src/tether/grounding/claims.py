"""Claims and their checkable parts: sentences, content words, numbers, names, negation.

The verifier and the hallucination detector read answers through these functions, so that a
claim means the same thing to both: a sentence or list item, with the words, quantities and
names it asserts, and whether it asserts them negatively.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from tether.grounding.bm25 import stem


def _word_list(text: str) -> list[str]:
    return text.split()


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common English function words: they carry no claim on their own.
STOP_WORDS = _word_set(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just let me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    may might must shall upon via per within without across along among around onto toward
    towards however therefore thus also although though whether either neither etc s t d ll re ve
    """
)

NEGATIONS = _word_set(
    "not no never none nothing nobody neither nor without cannot lack lacks lacking"
)
_NEGATED_CONTRACTION = re.compile(r"\b\w+n[\u2019']t\b", re.IGNORECASE)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\u2019'-]*[A-Za-z0-9]|[A-Za-z]")
_ABBREVIATIONS = _word_set(
    "mr mrs ms dr st jr sr prof inc ltd co corp vs etc e.g i.e u.s a.m p.m no fig approx dept "
    "mt ft gen gov sen rep lt col sgt"
)
_ENDS_NO = re.compile(r"\bno\.$", re.IGNORECASE)
_BREAK = re.compile(r"(?<=[.!?])[\"\u201d\u2019')\]]*\s+(?=[\"\u201c\u2018(\[]?[A-Z0-9])|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•]+|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_MARKER_ONLY = re.compile(r"^\s*(?:\(?\d{1,2}|\(?[a-zA-Z]|[A-Za-z]{1,4}\.[A-Za-z])[.)]?\s*$")

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "half": 0.5, "twice": 2,
}  # fmt: skip
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "k": 1e3}
_NUMBER = re.compile(
    r"(?<![\w.])[$£€]?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(?:\s?(thousand|million|billion|trillion|k)\b)?(?:st|nd|rd|th|[A-Za-z]{1,3})?(?![\w])",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"\b(\d{1,2})(?::(\d{1,2}))?\s?(a\.?m\.?|p\.?m\.?)(?![a-z])|\b(\d{1,2}):(\d{1,2})\b",
    re.IGNORECASE,
)
_DISCOURSE = re.compile(
    r"^(?:sure|certainly|of course|absolutely|great question|hello|hi)\b[^.!?:]{0,20}[.!?:]?$|"
    r"^(?:here(?:'s| is| are)|below is|the following)\b.{0,120}:$|"
    r"^(?:based on|according to|using)\s+(?:the\s+)?(?:given|provided|above|these|available)\b"
    r"[^.!?]{0,120}:$|"
    r"\b(?:i hope this helps|let me know|feel free|hope (?:this|that) helps|if you have any"
    r"(?: other| more| further)? questions)|"
    r"^(?:unable to answer|i (?:cannot|can't|am unable to) (?:answer|provide))|"
    r"^(?:therefore|so|in summary|to summarize),?\s+(?:the\s+)?(?:answer|steps?|ways?)[^.!?]{0,80}:$|"
    r"^\(?(?:passages?|sources?|references?)\s*\d+(?:\s*(?:,|and|&)\s*\d+)*\)?\.?$",
    re.IGNORECASE,
)
_NOT_NAMES = _word_set("am pm a.m p.m i i'm i've i'd i'll ok")
MONTHS = _word_list(
    "january february march april may june july august september october november december"
)
WEEKDAYS = _word_list("monday tuesday wednesday thursday friday saturday sunday")


@dataclass(frozen=True)
class Claim:
    """One checkable statement of an answer: its text and where it sits in the answer."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        """The claim as JSON-ready data."""
        return {"text": self.text, "start": self.start, "end": self.end}


def _ends_with_abbreviation(text: str) -> bool:
    tail = text.rstrip().rstrip(".").rsplit(None, 1)
    if not tail:
        return False
    word = tail[-1].lower().lstrip("(\"'")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_claims(text: str) -> list[Claim]:
    """Split an answer into sentences and list items, each with its character span.

    Breaks at line ends and at sentence punctuation followed by a capital or a digit, except
    after common abbreviations and initials. Bullets and item numbers are not part of a claim.
    """
    # an answer is split for its claims, its score and its names: a short text is split once
    return list(_kept_claims(text) if len(text) <= 2_000 else _split(text))


def _split(text: str) -> tuple[Claim, ...]:
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _BREAK.finditer(text):
        if match.group(0).strip() == "" and "\n" not in match.group(0):
            head = text[start : match.start()]
            if (
                _MARKER_ONLY.match(head.split("\n")[-1])
                or (
                    _ends_with_abbreviation(head)
                    # "No." is a number's only before one: "No. 5", not "Uncle: no. Nothing is …"
                    and not (_ENDS_NO.search(head) and not text[match.end() :][:1].isdigit())
                )
            ):
                continue
        pieces.append((start, match.start()))
        start = match.end()
    pieces.append((start, len(text)))
    claims: list[Claim] = []
    for begin, end in pieces:
        chunk = text[begin:end]
        bullet = _BULLET.match(chunk)
        offset = bullet.end() if bullet else 0
        body = chunk[offset:].strip()
        if not any(ch.isalnum() for ch in body):
            continue
        lead = begin + offset + (len(chunk[offset:]) - len(chunk[offset:].lstrip()))
        claims.append(Claim(body, lead, lead + len(body)))
    return tuple(claims)


_kept_claims = lru_cache(maxsize=1024)(_split)


def is_discourse(text: str) -> bool:
    """True for sentences that assert nothing about the world: greetings, "here is…:",
    "I hope this helps", a bare "(Passage 2)" reference."""
    return bool(_DISCOURSE.search(text.strip()))


def words(text: str) -> list[str]:
    """The words of a text, as written (letters, inner apostrophes and hyphens)."""
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def norm(word: str) -> str:
    """A word's comparison form: lower case, straight apostrophe, no possessive, stemmed."""
    low = word.lower().replace("\u2019", "'")
    if low.endswith("'s"):
        low = low[:-2]
    low = low.strip("'-")
    return _settled(low, stem(_MATERIALS.get(low) or _IRREGULAR.get(low, low)))


# what a thing is made of, said as an adjective: "a wooden bookshelf" is a "wood" one
_MATERIALS = {"wooden": "wood", "woollen": "wool", "woolen": "wool", "silken": "silk"}
# the past forms of verbs no suffix rule reaches: "you are told" is what "we tell you" says
_IRREGULAR = {
    "told": "tell", "sold": "sell", "gave": "give", "given": "give",
    "took": "take", "taken": "take", "bought": "buy", "brought": "bring",
    "kept": "keep", "held": "hold", "chose": "choose", "chosen": "choose", "spent": "spend",
    "wrote": "write", "written": "write", "spoke": "speak", "spoken": "speak", "knew": "know",
    "known": "know", "shown": "show", "began": "begin", "begun": "begin", "came": "come",
    "got": "get", "gotten": "get", "sought": "seek",
}  # fmt: skip


# a short root an -ing or -ed took the final "e" from: "mov(ing)", "tak(en)", "us(ed)"
_LOST_E = re.compile(r"(?:^|[^aeiouy])[aeiou][^aeiouwxy]$")
_DOUBLED = re.compile(r"([^aeiouylsz])\1$")


def _settled(word: str, stemmed: str) -> str:
    """One form for every inflection of a short verb: the stemmer leaves "moving" and "moved"
    as "mov" but "moves" as "move", "getting" as "gett" but "gets" as "get"."""
    if not word.endswith(("ing", "ed")) or not word.isalpha():
        return stemmed
    if stemmed == word:  # a root too short for the stemmer: "using", "used"
        root = word[:-3] if word.endswith("ing") else word[:-2]
        return root + "e" if len(root) == 2 and _LOST_E.search(root) else stemmed
    if len(stemmed) == 3 and _LOST_E.search(stemmed):
        return stemmed + "e"
    if len(stemmed) == 4 and _DOUBLED.search(stemmed):
        return stemmed[:-1]
    return stemmed


# "you'll", "we're", "that's": a function word and its auxiliary carry no claim either
_FUNCTION_CONTRACTION = re.compile(
    r"(?:i|you|we|they|he|she|it|there|that|here|what|who)[\u2019'](?:ll|re|ve|d|m|s)"
)


def content_terms(text: str) -> list[str]:
    """Normalised content words (stop words dropped), in order, with repeats."""
    # a claim or a clause is read by several checks: short texts are read once
    return list(_short_terms(text)) if len(text) <= 400 else _content_terms(text)


@lru_cache(maxsize=8192)
def _short_terms(text: str) -> tuple[str, ...]:
    return tuple(_content_terms(text))


def _content_terms(text: str) -> list[str]:
    out: list[str] = []
    for word in words(text):
        low = word.lower()
        if (
            low in STOP_WORDS
            or low in NEGATIONS
            or low in _NOT_NAMES
            or len(low) < 2
            or low.endswith(("n't", "n\u2019t"))
            or (("'" in low or "\u2019" in low) and _FUNCTION_CONTRACTION.fullmatch(low))
        ):
            continue
        for part in low.replace("\u2019", "'").split("-"):
            if part and part not in STOP_WORDS and part not in _NUMBER_WORDS:
                out.append(norm(part))
    return out


def is_negated(text: str) -> bool:
    """True when the text holds a negation word or a negated contraction (n't)."""
    if _NEGATED_CONTRACTION.search(text):
        return True
    return any(w.lower() in NEGATIONS for w in words(text))


def names(text: str) -> list[str]:
    """Capitalised words that read as names: not the first word of a sentence or list item.

    Returned in comparison form, so "Smith's" and "smith" meet.
    """
    found: list[str] = []
    marked = _MARKS.search(text) is not None
    for claim in split_claims(text):
        # a tick, a cross or a bullet starts an item of its own ("Delivered ✓ One bookshelf"),
        # whose first word starts it as a sentence's does
        for item in _MARKS.split(claim.text) if marked else (claim.text,):
            for word in words(item)[1:]:
                if word[0].isupper() and word.lower() not in _NO_NAMES:
                    found.append(norm(word))
    return found


_MARKS = re.compile("[\u2713\u2714\u2717\u2718\u2022\u2192]")
# capitalised words that are no names: function words, "AM", "I'm", months and weekdays
_NO_NAMES = STOP_WORDS | _NOT_NAMES | frozenset(MONTHS) | frozenset(WEEKDAYS)


def _scaled(whole: str, fraction: str | None, scale: str | None) -> float:
    value = float(whole.replace(",", "") + (fraction or ""))
    if scale:
        value *= _SCALES[scale.lower()]
    return value


def numbers(text: str) -> list[float]:
    """Every quantity the text states: digits (with thousands separators and scale words),
    number words and ordinals. Clock times are left to `clock_times`."""
    # an answer's numbers are read for the answer, each claim and each clause: the same
    # sentence is read once (long texts, evidence, are not kept)
    return list(_kept_numbers(text) if len(text) <= 2_000 else _numbers(text))


def _numbers(text: str) -> tuple[float, ...]:
    values: list[float] = []
    masked = text
    if _DIGIT.search(text):  # figures and clock times are written with digits
        masked = _CLOCK.sub(" ", text)
        # a digit's own letters are no number word: the "K" of "three 5K" does not make 3000
        kept, at = [], 0
        for match in _NUMBER.finditer(masked):
            values.append(_scaled(match.group(1), match.group(2), match.group(3)))
            kept.append(masked[at : match.start()])
            at = match.end()
        kept.append(masked[at:])
        masked = " ".join(kept)
    lowered = masked.lower()
    if "dollar" in lowered:  # an amount in words ends in "dollars": most texts have none
        values.extend(spoken_amounts(masked))
        masked = _SPOKEN_AMOUNT.sub(" ", masked)
        lowered = masked.lower()
    if _ONE.search(lowered):  # "the silver one", "a new one": a pronoun, no count
        masked = _PRONOUN_ONE.sub(lambda m: m.group(0)[:-3] + "   ", masked)
    if _TWO.search(lowered):  # "however close the two feel": the pair named before, compared
        masked = _THE_PAIR.sub(lambda m: " " * len(m.group(0)), masked)
    tokens = [w.lower() for w in words(masked)]
    for position, word in enumerate(tokens):
        # most words are no number word: a word without a hyphen is looked up whole
        if "-" not in word:
            if word not in _NUMBER_WORDS:
                continue
            parts = [word]
        else:
            parts = word.split("-")
            if not all(p in _NUMBER_WORDS for p in parts):
                continue
        tens_and_unit = (
            len(parts) == 2 and _NUMBER_WORDS[parts[0]] % 10 == 0 and _NUMBER_WORDS[parts[1]] < 10
        )
        if len(parts) > 1 and not tens_and_unit:
            values.extend(float(_NUMBER_WORDS[p]) for p in parts)
            continue
        value = float(sum(_NUMBER_WORDS[p] for p in parts))  # "thirty-one" is 31
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        values.append(value * (_SCALES.get(following, 1.0) if value < 100 else 1.0))
    return tuple(values)


_kept_numbers = lru_cache(maxsize=1024)(_numbers)
# the words the two patterns below start from, whole: a text without them needs neither
_ONE, _TWO = re.compile(r"\bone\b"), re.compile(r"\btwo\b")
_DIGIT = re.compile(r"\d")
# "one" standing for a thing named before ("the brown one with brown lenses", "that one", "a
# new one."): after a determiner and at most two words, and followed by no word but one that
# starts a phrase of its own ("the one shipment" counts)
_PRONOUN_ONE = re.compile(
    r"\b(?:the|this|that|which|each|a|an|any|another|your|my)\s+(?:(?!(?:for|of|to|with|from|in|on|at|by|and|or|than)\s)[a-z][\w-]*\s+){0,3}?one\b"
    r"(?=\s*(?:[^\w\s$]|$|(?:with|that|which|who|is|are|was|were|has|had|isn[\u2019']t|"
    r"aren[\u2019']t|at|for|in|on|of|from|to|and|or|but|you|i|we|it|instead|too|either)\b))"
    # "it can't be exchanged for one, …": a thing named before, ending the phrase
    r"|\b(?:for|with)\s+one(?=\s*[,.;:!?)]|\s*$)",
    re.IGNORECASE,
)
# "the two" set side by side or added up: "however close the two feel", "the two differ",
# "the two together come to …", "between the two."
_THE_PAIR = re.compile(
    r"\bthe\s+two\b(?=\s+(?:feel|feels|seem|seems|look|looks|sound|sounds|differ|compare|"
    r"together|combined)\b)"
    r"|(?<=\bbetween\s)the\s+two\b(?=\s*(?:[^\w\s$]|$))",
    re.IGNORECASE,
)

_CARDINALS = "|".join(
    sorted(
        (
            w
            for w, n in _NUMBER_WORDS.items()
            if n >= 1
            and n == int(n)
            and w[-2:] not in ("st", "nd", "rd", "th")
            and w not in ("dozen", "twice")
        ),
        key=len,
        reverse=True,
    )
)
# an amount said in words is one amount: "one hundred ninety-two dollars and fifteen cents"
_SPOKEN_AMOUNT = re.compile(
    rf"\b((?:{_CARDINALS})(?:(?:[\s-]+|\s+and\s+)(?:{_CARDINALS}|thousand))*)\s+dollars?\b"
    rf"(?:\s+and\s+((?:{_CARDINALS})(?:[\s-]+(?:{_CARDINALS}))*)\s+cents?\b)?",
    re.IGNORECASE,
)


def spoken_amounts(text: str) -> list[float]:
    """The amounts of money the text says in words ("ninety-two dollars and fifteen cents")."""
    out: list[float] = []
    for match in _SPOKEN_AMOUNT.finditer(text):
        dollars = _spoken(match.group(1))
        cents = _spoken(match.group(2)) if match.group(2) else 0.0
        if dollars is not None and cents is not None:
            out.append(round(dollars + cents / 100, 2))
    return out


def in_figures(text: str) -> str:
    """The text with each amount of money said in words written in figures ("about 71 % of the
    three hundred forty-eight dollars and thirty-six cents" → "… of the $348.36"): for the
    checks that read an amount where it stands. Offsets change."""
    if "dollar" not in text.lower():
        return text

    def figure(match: re.Match[str]) -> str:
        dollars = _spoken(match.group(1))
        cents = _spoken(match.group(2)) if match.group(2) else 0.0
        if dollars is None or cents is None:
            return match.group(0)
        return f"${dollars + cents / 100:.2f}"

    return _SPOKEN_AMOUNT.sub(figure, text)


# where the answer says it read what it states: "as far as this record shows", "according to
# our records", "going by the details I have", "from what I can see"
_SOURCE_HEDGE = re.compile(
    r"\b(?:as\s+far\s+as\s+(?:i\s+can\s+(?:see|tell)|(?:the|this|that|our|your|these|my)\s+"
    r"(?:records?|data|details|information|system|account|file|notes?)\s+"
    r"(?:shows?|goes|go|says?|tells?))"
    r"|according\s+to\s+(?:the|this|that|our|your|these|my)\s+"
    r"(?:records?|data|details|information|system|account|file|notes?)"
    r"|going\s+by\s+(?:the|this|that|our|your|these)\s+"
    r"(?:records?|data|details|information|system|account|file|notes?)(?:\s+i\s+have)?"
    r"|from\s+what\s+i\s+can\s+see)\b",
    re.IGNORECASE,
)


def blank_framing(text: str) -> str:
    """`text` with what frames its facts rather than states them blanked out (its length
    kept): amounts said in words ("thousand", "cents" are the amount, judged as a number) and
    where the answer says it read them ("as far as this record shows")."""
    return _SOURCE_HEDGE.sub(_blank, _SPOKEN_AMOUNT.sub(_blank, text))


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _spoken(said: str) -> float | None:
    """The value of a run of number words: "one hundred ninety-two" is 192. None when a word
    the pattern matched only by case folding is no number word here ("FİVE" lowercases to a
    dotted "i̇ve"): such a run is not read as an amount."""
    total, current = 0.0, 0.0
    for word in re.split(r"[\s-]+", said.lower()):
        if word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        elif word != "and":
            value = _NUMBER_WORDS.get(word)
            if value is None:
                return None
            current += value
    return float(total + current)


_WORD_COUNTS = {
    2: "two|twice|both", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
    9: "nine", 10: "ten", 11: "eleven", 12: "twelve",
}  # fmt: skip


@lru_cache(maxsize=256)  # asked once per number the claim says, and numbers repeat
def stated_count(text: str, value: float) -> bool:
    """True when the claim states this quantity as a count: in digits, as a number word before
    a noun ("three ways"), or as "twice". "One" is left out: it is far more often the pronoun
    ("the cheaper one") than a count."""
    if value > 12 or value != int(value):
        return True
    # a figure of its own, not a part of a larger one ("$1,287.76" states no 1)
    if re.search(rf"(?<![\d.,]){int(value)}(?![\d]|[.,]\d)", text):
        return True
    if value == 2 and re.search(r"\btwice\b", text, re.I) and not is_negated(text):
        return True  # how many times: "exchanged up to twice" (not "never twice")
    word = _WORD_COUNTS.get(int(value))
    return bool(word) and re.search(rf"\b(?:{word})\s+[a-z]{{3,}}", text, re.I) is not None


def clock_times(text: str) -> list[int]:
    """Clock times as minutes after midnight ("9 PM" → 1260, "17:30" → 1050)."""
    found: list[int] = []
    for match in _CLOCK.finditer(text):
        if match.group(1) is not None:
            hour, minute = int(match.group(1)), int(match.group(2) or 0)
            meridiem = match.group(3).lower()[0]
            if hour > 24 or minute > 59:
                continue
            if hour <= 12:  # "21:00 PM" is read as the 24-hour time it spells
                hour = hour % 12 + (12 if meridiem == "p" else 0)
        else:
            hour, minute = int(match.group(4)), int(match.group(5))
            if hour > 24 or minute > 59:
                continue
        found.append((hour % 24) * 60 + minute)
    return found


def number_matches(value: float, known: set[float] | frozenset[float]) -> bool:
    """True when `value` equals a known quantity, allowing rounding and percent/fraction forms.

    Rounding is allowed where it is plausible: a decimal within 1.5% ("23.7" for 23.68), or a
    round figure within 2.5% ("49,000" for 49,400); other whole numbers (years, counts, ids)
    must match exactly.
    """
    if not math.isfinite(value):
        return False  # an overflowed or undefined figure matches nothing
    if value in known:
        return True
    whole = value == int(value)
    round_figure = whole and value >= 100 and value % 10 == 0
    for other in known:
        if other == 0 or not math.isfinite(other):
            continue
        # a share said as a percentage of a fraction, or the other way round ("45%" of 0.45),
        # never a whole number a hundred times another ("$100" of 1)
        if (0 < abs(other) < 1 and abs(value - other * 100) < 0.01) or (
            0 < abs(value) < 1 and abs(value * 100 - other) < 0.01
        ):
            return True
        if not whole or other != int(other):
            if abs(value - other) <= max(0.01, abs(other) * 0.015):
                return True
        elif round_figure and abs(value - other) <= abs(other) * 0.025 and rounds_to(other, value):
            return True
    return False


def rounds_to(exact: float, figure: float) -> bool:
    """True when the round `figure` is `exact` rounded at one of the places its trailing
    zeros leave free: 49,000 or 49,400 of 49,400 and 50,000 of 49,700, never 410 of 400 (400
    to the ten is 400: "Suite 410" is another suite)."""
    unit, whole = 10, int(figure)
    while whole % unit == 0:
        if round(exact / unit) * unit == figure:
            return True
        unit *= 10
    return False


# a request for details the agent needs ("Please tell me your order id.") asserts nothing; one
# that goes on to say something ("…, and we'll e-mail you a label") is a claim
_REQUEST = re.compile(
    r"^\W*(?:please\s+|just\s+|first,?\s+)?(?:(?:tell|give|send|show)\s+(?:me|us)|"
    r"let\s+(?:me|us)\s+know|share|confirm|provide)\b",
    re.IGNORECASE,
)
_GOES_ON = re.compile(
    r"[;:]|,\s*(?:and|but|so|then|while)\b|"
    r"\b(?:and|so|then)\s+(?:we|i|you|it|they|the|a|an|your|our|this|that)\b",
    re.IGNORECASE,
)


def is_request(text: str) -> bool:
    """A request for details ("Please tell me your order id."): it asserts nothing."""
    return _REQUEST.match(text) is not None and _GOES_ON.search(text) is None


_LETTER_LED = re.compile(r"\b([a-z])-(?=[a-z]{3})", re.IGNORECASE)


def joined_letters(text: str) -> str:
    """A word led by one letter and a hyphen, written as one word: "e-mail" is "email"."""
    return _LETTER_LED.sub(r"\1", text)
