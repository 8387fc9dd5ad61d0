"""Reading the customer's reply to "shall I go ahead?": yes only on unambiguous consent, now.

A reply confirms only when every word in it belongs to a closed grammar: consent phrases ("yes",
"go ahead", "please do", "sí, adelante", "ja, bitte", ...), courtesies ("please", "thanks") and
restatements of the action ("cancel it", with `action="cancel"`). Cue lists for negation,
deferral, hedging, conditions, amendments, questions, other requests and sarcasm only name *why*
a reply is not a yes; the closed grammar is what keeps an unforeseen "no" from reading as "yes".

Decisions, each conservative because a "no" read as "yes" is the failure that matters:
- An emoji alone ("👍") is not consent: a reaction may acknowledge the message rather than agree
  to it, and clients render and send them differently. Next to words, 👍 ✅ 🙂 🙏 are ignored;
  👎 ❌ ✋ read as negation, 🤔 🤷 as a hedge, 🙄 😒 😏 😂 as sarcasm, any other as unclear. An
  ASCII face reads as the emoji of that face (":(" as 🙁, ";)" as 😉, ":)" as 🙂).
- A single letter ("y", "k") is not consent: too easily a slip of the thumb.
- Sarcasm markers ("yeah right", "oh great", "lol", a stretched "suuure") void a yes; a
  stretched yes ("yesss", "pleeease") is still a yes. An ellipsis ("yes...") reads as a hedge.
- A restated action is consent only for the action asked about (`action`) and only with a
  pronoun ("cancel it") or a noun of what it acts on (`targets`: "cancel my order" where the
  pending tool acts on an order); a noun for anything else ("yes, modify my order" when the
  customer's profile address is pending) is unclear. A noun of the proposal itself ("the
  request", "the cancellation") follows only "proceed with", "go ahead with" and the like: the
  action's own verb on it ("cancel the request") calls the proposal off. An
  id, amount or address in the reply is a detail this reader cannot check, so it is not
  consent.

The lexicon, and the folding a reply is read in, are in `tether.policy.consent_lexicon`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tether.policy.consent_lexicon import (
    Phrase,
    _grammar,
    _Lexicon,
    _lexicon,
    _read,
    _Reply,
)

_ELLIPSIS = re.compile(r"\.{2,}")
_DETAIL = re.compile(r"[\d#@$\u20ac\u00a3%/<>{}=_*`|\\~^+&]")


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
    """An object only after a verb, a noun of the proposal only after a verb+obj ("proceed
    with the request", never "cancel the request"); a verb+obj needs its object; a pre-verb
    ("i want to") needs consent or a verb after it."""
    if kind == "object":
        return previous in ("verb", "verb+obj")
    if kind == "proposal":
        return previous == "verb+obj"
    if previous == "verb+obj":
        return False
    return previous != "pre" or kind in _CONSENTING


def _parse(
    words: Phrase, action: str | None, targets: tuple[str, ...] = ()
) -> tuple[str | None, str | None]:
    """(first consent phrase, first word no reading gets past): a yes needs the one and not
    the other. Every split of the words into grammar phrases is tried ("yes please | do it"
    and "yes | please do | it"), memoised by position."""
    grammar = _grammar(action, targets)
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


def action_verb(tool: str) -> str:
    """The verb a user would restate ("yes, cancel it"): the tool name's first word."""
    return tool.split("_", 1)[0]


def action_targets(tool: str, resources: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The nouns a user would restate for what the tool acts on ("yes, cancel my order"): the
    tool name's last word ("cancel_pending_order" -> order, "modify_user_address" -> address)
    and the resource kinds of its arguments (`ToolSpec.resources`: "user_id" -> user). A
    restatement naming anything else ("modify my order" for the user's address) is unclear."""
    words = tool.split("_")
    nouns = [words[-1]] if len(words) > 1 else []
    nouns += [kind.replace("_", " ") for kind in (resources or {}).values()]
    return tuple(dict.fromkeys(n for n in nouns if n))


def classify_reply(
    text: str, *, action: str | None = None, targets: Iterable[str] = ()
) -> ConsentReading:
    """Read a customer's reply to a confirmation request: `confirmed` only on unambiguous
    consent to the proposed action, now. `action` is the verb of that action ("cancel"), so a
    restatement such as "yes, cancel it" counts; without it a restated action is unclear.
    `targets` are the nouns of what the action acts on ("order"), so "yes, cancel my order"
    counts; a restatement naming any other thing is unclear."""
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
    consent, stray = _parse(reply.words, action, tuple(sorted(set(targets))))
    if consent and stray is None:
        return ConsentReading(True, "affirmative", consent)
    reason = "other_language_unclear" if _foreign(reply, lex) else "unclear"
    return ConsentReading(False, reason, stray or " ".join(reply.words))
