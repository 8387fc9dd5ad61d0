"""Reading the customer's reply to "shall I go ahead?": yes only on unambiguous consent, now.

A reply confirms only when every word in it belongs to a closed grammar: consent phrases ("yes",
"go ahead", "please do", "sí, adelante", "ja, bitte", ...), courtesies ("please", "thanks") and
restatements of the action ("cancel it", with `action="cancel"`). Cue lists for negation,
deferral, hedging, conditions, amendments, questions, other requests and sarcasm only name *why*
a reply is not a yes; the closed grammar is what keeps an unforeseen "no" from reading as "yes".

Decisions, each conservative because a "no" read as "yes" is the failure that matters:
- An emoji alone ("👍") is not consent: a reaction may acknowledge the message rather than agree
  to it, and clients render and send them differently. Next to words, 👍 ✅ 🙂 🙏 are ignored;
  👎 ❌ ✋ read as negation, 🤔 🤷 as a hedge, 🙄 😒 😏 😂 as sarcasm, any other as unclear.
- A single letter ("y", "k") is not consent: too easily a slip of the thumb.
- Sarcasm markers ("yeah right", "oh great", "lol", a stretched "suuure") void a yes; a
  stretched yes ("yesss", "pleeease") is still a yes. An ellipsis ("yes...") reads as a hedge.
- A restated action is consent only for the action asked about (`action`) and only with a
  pronoun or generic object ("cancel it", "cancel my order"); an id, amount or address in the
  reply is a detail this reader cannot check, so it is not consent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import yaml

LEXICON_FILE = Path(__file__).parent / "data" / "consent-lexicon.yaml"

Phrase = tuple[str, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class ConsentReading:
    """How a reply was read: `confirmed` only on unambiguous consent; `reason` a stable short
    label (affirmative, negation, hedge, deferral, condition, amendment, question, instruction,
    sarcasm, detail, emoji, empty, unclear, other_language_unclear); `matched` the deciding text."""

    confirmed: bool
    reason: str
    matched: str

    def to_dict(self) -> dict[str, object]:
        return {"confirmed": self.confirmed, "reason": self.reason, "matched": self.matched}


# -- the lexicon ----------------------------------------------------------------------------


class _PhraseIndex(Generic[T]):
    """Phrases (word tuples) filed by their first word, longest first, each with a value: a
    reply is matched word by word in a few dict lookups, not one regex per list."""

    def __init__(self, entries: Iterable[tuple[Phrase, T]]) -> None:
        by_first: dict[str, list[tuple[Phrase, T]]] = {}
        for phrase, value in dict(entries).items():
            by_first.setdefault(phrase[0], []).append((phrase, value))
        self._by_first = {
            w: tuple(sorted(found, key=lambda pv: -len(pv[0]))) for w, found in by_first.items()
        }

    def at(self, words: Phrase, i: int) -> list[tuple[int, T]]:
        """(length, value) of each phrase that starts at word `i`, longest first."""
        found = self._by_first.get(words[i])
        if not found:
            return []
        return [(len(p), v) for p, v in found if words[i : i + len(p)] == p]


@dataclass(frozen=True)
class _Lexicon:
    grammar: dict[Phrase, str]  # phrase -> consent | filler | pre | verb+obj | object
    action_nouns: dict[str, tuple[str, ...]]
    foreign_words: frozenset[str]  # words of the other languages' consent and fillers
    exceptions: _PhraseIndex[int]
    cues: _PhraseIndex[int]  # phrase -> position of its list in cue_reasons (the priority)
    cue_reasons: tuple[str, ...]
    stretch_ok: frozenset[str]
    sarcasm_stretched: frozenset[str]
    wh_words: frozenset[str]
    how_next: frozenset[str]
    auxiliaries: frozenset[str]
    subjects: frozenset[str]
    personal_subjects: frozenset[str]
    personal_only: frozenset[str]
    openers: _PhraseIndex[int]
    greetings: tuple[Phrase, ...]
    emoji: dict[str, frozenset[str]]


def _phrases(entries: list[str]) -> tuple[Phrase, ...]:
    return tuple(tuple(e.split()) for e in entries)


def _only_strings(node: Any, where: str = "lexicon") -> None:
    """YAML 1.1 reads a bare yes/no/on as a boolean: every phrase must stay a string."""
    if isinstance(node, dict):
        for key, value in node.items():
            _only_strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for value in node:
            _only_strings(value, where)
    elif not isinstance(node, str):
        raise ValueError(f"{LEXICON_FILE.name}: {where} holds {node!r}, not a string; quote it")


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    raw: dict[str, Any] = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    _only_strings(raw)
    grammar: dict[Phrase, str] = {}
    by_language = (("filler", raw["fillers"]), ("consent", raw["consent"]))
    for kind, entries in (
        ("object", raw["objects"]),
        ("pre", raw["pre_verbs"]),
        ("verb+obj", raw["verbs_with_object"]),
    ):
        grammar.update(dict.fromkeys(_phrases(entries), kind))
    for kind, languages in by_language:  # consent last: it wins a clash ("ya")
        for entries in languages.values():
            grammar.update(dict.fromkeys(_phrases(entries), kind))
    english = {w for _, langs in by_language for e in langs["en"] for w in e.split()}
    foreign = {
        w
        for _, langs in by_language
        for lang, entries in langs.items()
        if lang != "en"
        for e in entries
        for w in e.split()
    }
    q = raw["questions"]
    return _Lexicon(
        grammar=grammar,
        action_nouns={k: tuple(v) for k, v in raw["action_nouns"].items()},
        foreign_words=frozenset(foreign - english),
        exceptions=_PhraseIndex((p, 0) for p in _phrases(raw["cue_exceptions"])),
        # reversed, so that a phrase in two lists keeps the earlier (higher) priority
        cues=_PhraseIndex(
            (p, rank)
            for rank, cue in reversed(list(enumerate(raw["cues"])))
            for p in _phrases(cue["phrases"])
        ),
        cue_reasons=tuple(c["reason"] for c in raw["cues"]),
        stretch_ok=frozenset(raw["stretch_ok"]),
        sarcasm_stretched=frozenset(raw["sarcasm_stretched"]),
        wh_words=frozenset(q["wh_words"]),
        how_next=frozenset(q["how_next"]),
        auxiliaries=frozenset(q["auxiliaries"]),
        subjects=frozenset(q["subjects"]),
        personal_subjects=frozenset(q["personal_subjects"]),
        personal_only=frozenset(q["personal_only"]),
        openers=_PhraseIndex((p, 0) for p in _phrases(q["openers"])),
        greetings=_phrases(raw["greetings"]),
        emoji={mood: frozenset(chars) for mood, chars in raw["emoji"].items()},
    )


@lru_cache(maxsize=32)
def _grammar(action: str | None) -> _PhraseIndex[str]:
    """The closed grammar, plus the action's verb and nouns when one is named."""
    lex = _lexicon()
    grammar = dict(lex.grammar)
    if action:
        verb = _fold(action).strip()
        grammar[(verb,)] = "verb"
        for noun in lex.action_nouns.get(verb, ()):
            for det in ("the", "my", "this", "that"):
                grammar[(det, noun)] = "object"
    return _PhraseIndex(grammar.items())


# -- normalisation ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u00b4\u2032", "'"))
_CLAUSE_BREAK = re.compile(r"[.,;:!?\u00a1\u00bf()\[\]\"\u201c\u201d\u2014\u2013\n]+|\s-+\s")
_WORD = re.compile(r"[^\W_]+")
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
_ELLIPSIS = re.compile(r"\.{2,}")
_DETAIL = re.compile(r"[\d#@$\u20ac\u00a3%/<>{}=_*`|\\~^+&]")
_COMBINING = re.compile(r"[\u0300-\u036f]")  # the accents of Latin letters, once decomposed
_JOINERS = frozenset("\ufe0f\ufe0e\u200d\u20e3") | {chr(c) for c in range(0x1F3FB, 0x1F400)}


def _fold(text: str) -> str:
    """NFKC, case-folded, apostrophes unified, accents dropped (people often type "si" for
    "sí"), so the lexicon is written once, without accents."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFD", text))


def _is_symbol(ch: str) -> bool:
    return ch in _JOINERS or unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


class _Reply(NamedTuple):
    text: str  # folded, apostrophes removed, emoji blanked
    clauses: tuple[Phrase, ...]  # words per clause, letter runs collapsed
    words: Phrase
    emoji: tuple[str, ...]
    stretched: tuple[str, ...]  # collapsed forms of the words typed with a run ("suuure")


def _read(text: str) -> _Reply:
    folded = _fold(text).replace("'", "")  # "don't" -> "dont", "d'accord" -> "daccord"
    emoji: tuple[str, ...] = ()
    if not folded.isascii() and any(_is_symbol(c) for c in folded if c > "\x7f"):
        emoji = tuple(c for c in folded if _is_symbol(c) and c not in _JOINERS)
        folded = "".join(" " if _is_symbol(c) else c for c in folded)
    clauses = [tuple(_WORD.findall(part)) for part in _CLAUSE_BREAK.split(folded)]
    stretched: list[str] = []
    if _STRETCH.search(folded):
        for n, clause in enumerate(clauses):
            collapsed = tuple(_STRETCH.sub(r"\1", w) for w in clause)
            stretched += [c for c, w in zip(collapsed, clause, strict=True) if c != w]
            clauses[n] = collapsed
    kept = tuple(c for c in clauses if c)
    return _Reply(folded, kept, tuple(w for c in kept for w in c), emoji, tuple(stretched))


# -- questions and cues ----------------------------------------------------------------------


def _interrogative(words: Phrase, lex: _Lexicon) -> str | None:
    """The opening that makes a clause a question without a "?", if any."""
    first = words[0]
    second = words[1] if len(words) > 1 else ""
    if first in lex.wh_words and (not second or second in lex.auxiliaries or second == "not"):
        return " ".join(words[:2])
    if first == "how" and second in lex.how_next:
        return f"how {second}"
    if first in lex.auxiliaries:
        personal = first in lex.personal_only  # "do it" is an order, "do you" a question
        if second in (lex.personal_subjects if personal else lex.subjects):
            return f"{first} {second}"
    opener = lex.openers.at(words, 0)
    return " ".join(words[: opener[0][0]]) if opener else None


def _question(reply: _Reply, lex: _Lexicon) -> str | None:
    if "?" in reply.text or "\u00bf" in reply.text:
        return "?"
    for clause in reply.clauses:
        found = _interrogative(clause, lex)
        if found:
            return found
    return None


def _cue(reply: _Reply, lex: _Lexicon) -> tuple[str, str] | None:
    """(reason, phrase) of the highest-priority cue, leftmost and longest; words inside an
    exception ("no problem") are no cue."""
    words = reply.words
    masked: set[int] = set()
    for i in range(len(words)):
        for size, _ in lex.exceptions.at(words, i):
            masked.update(range(i, i + size))
            break
    best: tuple[int, int, int] | None = None  # (rank, start, size)
    for i in range(len(words)):
        for size, rank in lex.cues.at(words, i):
            if (best is None or rank < best[0]) and masked.isdisjoint(range(i, i + size)):
                best = (rank, i, size)
    if best is None:
        return None
    rank, i, size = best
    return lex.cue_reasons[rank], " ".join(words[i : i + size])


def _emoji_reading(emoji: tuple[str, ...], lex: _Lexicon) -> ConsentReading | None:
    for mood in ("negation", "sarcasm", "hedge"):
        hit = next((e for e in emoji if e in lex.emoji[mood]), None)
        if hit:
            return ConsentReading(False, mood, hit)
    unknown = next((e for e in emoji if e not in lex.emoji["positive"]), None)
    return ConsentReading(False, "unclear", unknown) if unknown else None


# -- the closed grammar ----------------------------------------------------------------------


_CONSENTING = ("consent", "verb", "verb+obj")
MAX_WORDS = 40  # a plain yes is short; longer replies say something else too


def _follows(previous: str, kind: str) -> bool:
    """An object only after a verb; a verb+obj needs its object; a pre-verb ("i want to")
    needs consent or a verb after it."""
    if kind == "object":
        return previous in ("verb", "verb+obj")
    if previous == "verb+obj":
        return False
    return previous != "pre" or kind in _CONSENTING


def _parse(words: Phrase, action: str | None) -> tuple[str | None, str | None]:
    """(first consent phrase, first word no reading gets past): a yes needs the one and not
    the other. Every split of the words into grammar phrases is tried ("yes please | do it"
    and "yes | please do | it"), memoised by position."""
    grammar = _grammar(action)
    memo: dict[tuple[int, str], tuple[bool, str | None]] = {}
    furthest = 0

    def walk(i: int, previous: str) -> tuple[bool, str | None]:
        nonlocal furthest
        if i == len(words):
            return previous not in ("verb+obj", "pre"), None
        if (i, previous) in memo:
            return memo[(i, previous)]
        furthest = max(furthest, i)
        best: tuple[bool, str | None] = (False, None)
        for size, kind in grammar.at(words, i):
            if not _follows(previous, kind):
                continue
            ok, later = walk(i + size, kind)
            if ok:
                here = " ".join(words[i : i + size]) if kind in _CONSENTING else None
                best = (True, here or later)
                if best[1]:
                    break
        memo[(i, previous)] = best
        return best

    ok, consent = walk(0, "")
    return (consent, None) if ok else (None, words[furthest])


def _foreign(reply: _Reply, lex: _Lexicon) -> bool:
    """Written in a language this reader does not know, or partly in one it knows a little."""
    text = reply.text
    latin = text.isascii() or all(
        not c.isalpha() or unicodedata.name(c, "").startswith("LATIN") for c in text
    )
    return not latin or any(len(w) > 1 and w in lex.foreign_words for w in reply.words)


def classify_reply(text: str, *, action: str | None = None) -> ConsentReading:
    """Read a customer's reply to a confirmation request: `confirmed` only on unambiguous
    consent to the proposed action, now. `action` is the verb of that action ("cancel"), so a
    restatement such as "yes, cancel it" counts; without it a restated action is unclear."""
    if not text.strip():
        return ConsentReading(False, "empty", "")
    lex = _lexicon()
    reply = _read(text)
    question = _question(reply, lex)
    if question:
        return ConsentReading(False, "question", question)
    if not reply.words:
        if reply.emoji:
            alone = ConsentReading(False, "emoji", "".join(reply.emoji))
            return _emoji_reading(reply.emoji, lex) or alone
        return ConsentReading(False, "empty", text.strip())
    cue = _cue(reply, lex)
    if cue:
        return ConsentReading(False, *cue)
    odd = next((w for w in reply.stretched if w not in lex.stretch_ok), None)
    if odd:
        return ConsentReading(False, "sarcasm" if odd in lex.sarcasm_stretched else "hedge", odd)
    if _ELLIPSIS.search(reply.text):
        return ConsentReading(False, "hedge", "...")
    emoji = _emoji_reading(reply.emoji, lex) if reply.emoji else None
    if emoji:
        return emoji
    detail = _DETAIL.search(reply.text)
    if detail:
        return ConsentReading(False, "detail", detail.group(0))
    if len(reply.words) > MAX_WORDS:
        return ConsentReading(False, "unclear", f"{len(reply.words)} words")
    consent, stray = _parse(reply.words, action)
    if consent and stray is None:
        return ConsentReading(True, "affirmative", consent)
    reason = "other_language_unclear" if _foreign(reply, lex) else "unclear"
    return ConsentReading(False, reason, stray or " ".join(reply.words))


# -- sentences, for clarifying turns ---------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d)\]]*\s+|\n+")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "approx"}
)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, punctuation kept. A break needs end punctuation and a space
    (so "$12.50" and "e.g. this" hold together), not after a known abbreviation or before a
    lower-case word; a newline always breaks."""
    sentences: list[str] = []
    start = 0
    for found in _SENTENCE_END.finditer(text):
        piece = text[start : found.start()]
        if "\n" not in found.group(0):
            last = piece.rstrip(".!?\u2026\"')]").rsplit(None, 1)
            following = text[found.end() : found.end() + 1]
            if (last and last[-1].casefold() in _ABBREVIATIONS) or following.islower():
                continue
        if piece.strip():
            sentences.append(piece.strip())
        start = found.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def is_question(sentence: str) -> bool:
    """A "?" (or "¿"), or an interrogative opening ("could you ...", "how long ...")."""
    return _question(_read(sentence), _lexicon()) is not None


def is_greeting(sentence: str) -> bool:
    """A salutation or welcome ("Hello!", "Hi Raj,", "Thanks for contacting us.") with at
    most a short address after it."""
    words = _read(sentence).words
    for greeting in _lexicon().greetings:
        if words[: len(greeting)] == greeting:
            return len(words) - len(greeting) <= 3
    return False


def assertive_sentences(text: str) -> list[str]:
    """The sentences of `text` that state something: neither a question nor a greeting."""
    return [s for s in split_sentences(text) if not is_question(s) and not is_greeting(s)]
