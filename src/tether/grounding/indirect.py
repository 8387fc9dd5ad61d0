"""Indirect wordings of a denial, restated plainly before a claim's meaning is checked.

"An exchange is off the table" denies what "an exchange is not possible" denies, and "the order
has left the pending stage" says "the order is no longer pending"; the polarity, state and
scope checks read negation words, so these idioms are given theirs. A denied idiom ("isn't off
the table") is a plain affirmation. The rewrite is only for reading meaning: the claim's text
and spans are kept as written.
"""

from __future__ import annotations

import re

_BE = r"(?:is|are|was|were)"
_DENIED_BE = rf"(?:{_BE}n[\u2019']t|{_BE}\s+not)"
_RULED_OUT = r"(?:off\s+the\s+table|out\s+of\s+the\s+question|ruled\s+out)"
_STAGE = r"(?:stage|state|status|phase|step)"

_RESTATED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b{_DENIED_BE}\s+{_RULED_OUT}", re.IGNORECASE), "is possible"),
    (re.compile(rf"\b{_BE}\s+{_RULED_OUT}", re.IGNORECASE), "is not possible"),
    # "hasn't left the pending stage": still in it
    (
        re.compile(
            rf"\b(?:has|have|had)(?:n[\u2019']t|\s+not)\s+(?:yet\s+)?(?:left|moved\s+past|"
            rf"gone\s+past|moved\s+beyond)\s+the\s+(\w+(?:\s\w+)?)\s+{_STAGE}\b",
            re.IGNORECASE,
        ),
        r"is still \1",
    ),
    # "has left the pending stage", "is past the processing stage"
    (
        re.compile(
            rf"\b(?:(?:has|have|had)\s+(?:left|moved\s+past|gone\s+past|moved\s+beyond)|"
            rf"{_BE}\s+(?:past|beyond))\s+the\s+(\w+(?:\s\w+)?)\s+{_STAGE}\b",
            re.IGNORECASE,
        ),
        r"is no longer \1",
    ),
)
_CUE = re.compile(r"table|question|ruled|stage|state|status|phase|step", re.IGNORECASE)


def plainly(text: str) -> str:
    """The text with indirect denials in plain words ("is off the table" → "is not possible")."""
    if _CUE.search(text) is None:
        return text  # most claims hold none of the idioms' words
    for pattern, plain in _RESTATED:
        text = pattern.sub(plain, text)
    return text
