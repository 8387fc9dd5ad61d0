"""The consent lexicon and the folding it is written in: the closed grammar, cue lists,
question openings, greetings and emoji moods of `data/consent-lexicon.yaml`, filed by first
word, and a reply folded into the clauses and words they are matched against."""

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
    grammar: dict[Phrase, str]  # consent | filler | pre | verb+obj | object | proposal
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
    emoticons: dict[str, str]  # ASCII emoticon -> the emoji of the same face
    emoticon_pattern: re.Pattern[str]


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
        ("proposal", raw["proposal_objects"]),
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
    emoticons = {face: emoji for emoji, faces in raw["emoticons"].items() for face in faces}
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
        emoticons=emoticons,
        emoticon_pattern=_emoticon_pattern(emoticons),
    )


def _emoticon_pattern(faces: Iterable[str]) -> re.Pattern[str]:
    """Longest face first (">:(" before ":("); a face that begins or ends with a letter or
    digit ("xD", ":D") only where no word runs into it ("boxD" is no face)."""
    parts = []
    for face in sorted(faces, key=len, reverse=True):
        before = r"(?<![^\W_])" if face[0].isalnum() else ""
        after = r"(?![^\W_])" if face[-1].isalnum() else ""
        parts.append(before + re.escape(face) + after)
    return re.compile("|".join(parts))


_DETERMINERS = ("the", "my", "this", "that")


@lru_cache(maxsize=64)
def _grammar(action: str | None, targets: tuple[str, ...] = ()) -> _PhraseIndex[str]:
    """The closed grammar, plus the action's verb when one is named, its nouns as names of the
    proposal ("the cancellation"), and the nouns of what it acts on (`targets`, "order") as
    objects ("my order"): a target wins over a proposal noun of the same name."""
    lex = _lexicon()
    grammar = dict(lex.grammar)
    nouns: list[tuple[Phrase, str]] = []
    if action:
        verb = _fold(action).strip()
        grammar[(verb,)] = "verb"
        nouns += [((noun,), "proposal") for noun in lex.action_nouns.get(verb, ())]
    nouns += [(tuple(_WORD.findall(_fold(t).replace("'", ""))), "object") for t in targets]
    for noun, kind in nouns:
        if noun:
            for det in _DETERMINERS:
                grammar[(det, *noun)] = kind
    return _PhraseIndex(grammar.items())


# -- normalisation ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u00b4\u2032", "'"))
_CLAUSE_BREAK = re.compile(r"[.,;:!?\u00a1\u00bf()\[\]\"\u201c\u201d\u2014\u2013\n]+|\s-+\s")
_WORD = re.compile(r"[^\W_]+")
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
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


def _emoticons_as_emoji(text: str) -> str:
    """ASCII faces (":(", ";)") as the emoji of the same face, before folding ("XD", ":D")."""
    lex = _lexicon()
    return lex.emoticon_pattern.sub(
        lambda m: f" {lex.emoticons[m.group(0)]} ", text.translate(_APOSTROPHES)
    )


def _read(text: str) -> _Reply:
    text = _emoticons_as_emoji(text)
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
