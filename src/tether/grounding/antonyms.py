"""A value said as its opposite: a record's option "wired" said "wireless", "corded" said
"cordless", "non-polarized" said "polarized", and the other way round. The "-less" form of a word names the thing without what
the word names, so one contradicts the other, wherever the record holds one and never the
other. A denied opposite ("it isn't wireless") restates the record, and a clause naming both
("wireless rather than wired") is left to the checks that read which one it denies.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.grounding.claims import norm
from tether.grounding.facts import CONTRADICTED, polarity
from tether.grounding.fields import ONE_WORD, FieldFinding, RecordView

_LESS = "less"
_NON = "non-"


def check_antonyms(clause: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """The record's one-word values the clause names by their "-less" opposite, or the
    reverse, where the record never holds the opposite it names."""
    said = {m.group(0).lower(): m for m in ONE_WORD.finditer(clause)}
    if not said:
        return []
    said_less = any(_marked(w) for w in said)
    out: list[FieldFinding] = []
    for v in views:
        held = v.words
        if not said_less and not any(_marked(value) for value in held):
            continue  # one side of an opposite is always a "-less" or a "non-" word
        for value, where in held.items():
            if value in said:
                continue  # both named: "wireless rather than wired" sets one against the other
            for word, m in said.items():
                if word in held or not _opposite(word, value):
                    continue
                if polarity(clause, m.start(), m.end())[0]:
                    continue  # "it isn't wireless"
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{where}",
                        "swap",
                        CONTRADICTED,
                        m.group(0),
                        value,
                        (f"{where} is {value!r}, not {m.group(0)!r}",),
                    )
                )
    return out


def _marked(word: str) -> bool:
    return word.endswith(_LESS) or word.startswith(_NON)


def _opposite(word: str, value: str) -> bool:
    """ "wireless" and "wired", "cordless" and "corded": one is the other's root with -less;
    "non-polarized" and "polarized": one is the other with non- before it."""
    if word.startswith(_NON) != value.startswith(_NON):
        marked, plain = (word, value) if word.startswith(_NON) else (value, word)
        return marked[len(_NON) :] == plain
    if word.endswith(_LESS) == value.endswith(_LESS):
        return False
    less, plain = (word, value) if word.endswith(_LESS) else (value, word)
    root = less[: -len(_LESS)]
    return len(root) >= 3 and norm(plain) in (root, norm(root))
