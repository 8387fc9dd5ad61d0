"""Sentences, for clarifying turns and claim checks: a text split into its sentences, and
which of them state something rather than ask or greet."""

from __future__ import annotations

import re

from tether.policy.consent import _question
from tether.policy.consent_lexicon import _lexicon, _read

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
