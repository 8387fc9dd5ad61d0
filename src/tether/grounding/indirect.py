"""Indirect wordings of a denial, restated plainly before a claim's meaning is checked.

"An exchange is off the table" denies what "an exchange is not possible" denies, and "the order
has left the pending stage" says "the order is no longer pending"; the polarity, state and
scope checks read negation words, so these idioms are given theirs. A denied idiom ("isn't off
the table") is a plain affirmation. A denial without a verb of its own borrows the one before
it: "it is paid for, though not processed" says "… though it is not processed", "paid, but no
refund yet" says "… but there is no refund yet", and "address on file: none" says "there is no
address on file". A clause that ends on its verb borrows what the clause before it says: "the
manual models are available, but the capsule one isn't" says "… but the capsule one isn't
available". "Moves out of pending" says "is no longer pending"; two denials that make one are
read as the one: "there's no gray chair you can't order" and "you won't find a gray chair that
can't be ordered" say "every gray chair can be ordered", and "none of the white kettles is
unavailable" says every one is available. An item "missing from the delivery", "left out of the
shipment" or that "didn't arrive." was not delivered ("nothing is missing" denies nothing). A
status that "changes to cancelled" becomes cancelled. The
rewrite is only for reading meaning: the claim's text and spans are kept as written.
"""

from __future__ import annotations

import re

_BE = r"(?:is|are|was|were)"
_DENIED_BE = rf"(?:{_BE}n[\u2019']t|{_BE}\s+not)"
_RULED_OUT = r"(?:off\s+the\s+table|out\s+of\s+the\s+question|ruled\s+out)"
_STAGE = r"(?:stage|state|status|phase|step)"
_MOVE = r"(?:moves?|moved|moving|goes|go|went|gone|comes?|came|gets?|got)"
# what something goes out of that is no state it was in ("out of stock", "out of reach")
_NOT_A_STATE = r"(?:stock|print|date|reach|sight|hand|order|time|pocket|town|the\s+question)"

_RESTATED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b{_DENIED_BE}\s+{_RULED_OUT}", re.IGNORECASE), "is possible"),
    # "changing an item doesn't rule out cancelling": it still allows it
    (
        re.compile(
            r"\b(?:does|do|did|will|would)(?:n[\u2019']t|\s+not)\s+(?:rule\s+out|stop|prevent|"
            r"block|(?:stand|get)\s+in\s+the\s+way\s+of)\b",
            re.IGNORECASE,
        ),
        "still allows",
    ),
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
    # "doesn't move out of pending": still in it; "moves out of pending", "goes out of the
    # processing stage": no longer in it (not "out of stock")
    (
        re.compile(
            r"(?:\b\w+n[\u2019']t|\b(?:(?:does|do|did|will|would|can|could|should|may|might)\s+)?"
            rf"(?:not|never))\s+{_MOVE}\s+out\s+of\s+"
            rf"(?:the\s+)?(?!{_NOT_A_STATE}\b)(\w+)(?:\s+{_STAGE})?\b",
            re.IGNORECASE,
        ),
        r"is still \1",
    ),
    (
        re.compile(
            rf"\b{_MOVE}\s+out\s+of\s+(?:the\s+)?(?!{_NOT_A_STATE}\b)(\w+)(?:\s+{_STAGE})?\b",
            re.IGNORECASE,
        ),
        r"is no longer \1",
    ),
    # "it's past the pending stage"
    (
        re.compile(
            rf"(?<=\w)[\u2019']s\s+(?:past|beyond)\s+the\s+(\w+(?:\s\w+)?)\s+{_STAGE}\b",
            re.IGNORECASE,
        ),
        r" is no longer \1",
    ),
)
_CUE = re.compile(
    r"table|question|rule|stage|state|status|phase|step|out\s+of|stop|prevent|block|in\s+the\s+way",
    re.IGNORECASE,
)

# ", though not processed yet", ", but no refund yet": a denial opening its clause, after a
# conjunction, with no verb before its words ("but not only", "but not least" are no denials)
_BARE = re.compile(
    r"(?P<lead>[,;]\s*(?:but|though|although|yet|and)\s+)(?P<cue>not|no)\s+"
    r"(?!(?:only|just|least|even|because|since|if|when|unless)\b)(?P<rest>[^,;.!?]+)",
    re.IGNORECASE,
)
# the clause's own verb, after which "not" would stand: "is", "was", "can", "will" …
_AUX = re.compile(
    r"\b(?:(?P<be>is|are|was|were)|(?P<modal>can|could|will|would|should|may|must))\b",
    re.IGNORECASE,
)
_PREPOSITION = re.compile(r"(?:to|from|for|by|with|in|on|at|into|onto)\b", re.IGNORECASE)
_VERB_WORD = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|can|could|will|would|should|may|"
    r"must|\w+ed|\w+n't)\b",
    re.IGNORECASE,
)
# ", but the capsule one isn't.": a contrasted clause that stops at its verb
_ELLIPTIC = re.compile(
    r"(?P<lead>,\s*(?:but|though|although|whereas|while|yet)\s+(?:[^,;:.!?]|\.\d){1,60}?\s)"
    rf"(?P<be>{_BE}(?:n[\u2019']t|\s+not)?)(?=\s*(?:[.;!?]|$))",
    re.IGNORECASE,
)
# the verb of the clause before it and what it says ("are available", "isn't in stock")
_PREDICATE = re.compile(
    rf"\b{_BE}(?:n[\u2019']t|\s+not)?\s+(?P<said>(?:[\w-]+\s+){{0,3}}[\w-]+)\s*$",
    re.IGNORECASE,
)
# "address on file: none" — a label said to have nothing
_NONE = re.compile(r"(?P<label>\b[a-z][\w ]{2,40}?):\s*none\b", re.IGNORECASE)


def _borrowed(text: str, bare: re.Match[str]) -> str | None:
    """The verbless denial with the verb of the clause before it, or None when that clause has
    no verb to lend or the denial holds one of its own."""
    rest = bare.group("rest")
    if _VERB_WORD.search(rest) and not re.match(r"\s*(?:yet\b|\w+ed\b)", rest, re.I):
        return None  # "but not everyone has shipped": a verb of its own
    start = max(text.rfind(sep, 0, bare.start()) for sep in (".", ";", ":", "!", "?")) + 1
    before = text[start : bare.start()]
    aux = _AUX.search(before)
    if bare.group("cue").lower() == "no":
        return f"{bare.group('lead')}there is no {rest}"
    if aux is None:
        return None
    subject = "they" if aux.group(0).lower() in ("are", "were") else "it"
    if aux.group("be"):
        return f"{bare.group('lead')}{subject} {aux.group(0)} not {rest}"
    # "can go to your gift card, but not to the card you paid with": the verb up to the
    # preposition the denial repeats
    prep = _PREPOSITION.match(rest)
    if prep is None:
        return None
    at = before.lower().rfind(f" {prep.group(0).lower()} ", aux.end())
    if at < 0:
        return None
    verb = before[aux.end() : at].strip()
    return f"{bare.group('lead')}{subject} {aux.group(0)} not {verb} {rest}"


def _completed(text: str, cut: re.Match[str]) -> str:
    """The clause that stops at its verb with the predicate of the clause before it, or as
    written when that clause has no verb and a few words after it."""
    start = max(text.rfind(sep, 0, cut.start()) for sep in (".", ";", ":", "!", "?")) + 1
    said = _PREDICATE.search(text, start, cut.start())
    if said is None:
        return cut.group(0)
    return f"{cut.group(0)} {said.group('said')}"


# "there's no gray chair you can't order", "there isn't a single variant you can't buy": two
# denials that make one "every … can be ordered"
_NONE_BUT_CAN = re.compile(
    r"\bthere(?:(?:[\u2019']s|\s+is|\s+are)\s+(?:no|not\s+(?:a\s+single|one|a|any))|"
    r"\s+(?:is|are)n[\u2019']t\s+(?:a\s+single|one|a|any))\s+"
    # what is had, then "you can't order" ending its clause ("no reason you can't order it" is
    # no such pair)
    r"(?!(?:reason|way|need|problem|issue|doubt|harm|chance|point)\b)"
    r"(?P<what>[\w-]+(?:\s+[\w-]+){0,3}?)\s+(?:that\s+|which\s+)?(?:you|we|anyone)\s+"
    r"(?:can[\u2019']t|cannot|can\s+not|couldn[\u2019']t)\s+(?P<verb>order|buy|get|purchase)"
    r"(?=\s*(?:[.,;:!?]|$)|\s+(?:right\s+now|now|today|at\s+the\s+moment)\b)",
    re.IGNORECASE,
)
_DONE = {"order": "ordered", "buy": "bought", "get": "got", "purchase": "purchased"}
# "none of the white kettles is unavailable", "not one rubber hose is sold out": every one is
# in stock
_NONE_UNAVAILABLE = re.compile(
    r"\b(?:none\s+of\s+(?:the|your|its|these|those)|not\s+(?:one|a\s+single)(?:\s+of\s+the)?|"
    r"no)\s+(?P<what>[\w-]+(?:\s+[\w-]+){0,3}?)\s+(?:is|are)\s+"
    r"(?:unavailable|out\s+of\s+stock|sold\s+out)\b",
    re.IGNORECASE,
)
# "you won't find an electric grill that can't be ordered": every one can be
_FIND_NONE = re.compile(
    r"\byou\s+(?:won[\u2019']t|will\s+not|can[\u2019']t|cannot)\s+find\s+(?:a|an|any)\s+"
    r"(?P<what>[\w-]+(?:\s+[\w-]+){0,3}?)\s+(?:that|which)\s+(?:you\s+)?"
    r"(?:can[\u2019']t|cannot|can\s+not)\s+(?:be\s+)?"
    r"(?P<verb>order|buy|bought|get|purchase)(?:ed|d)?\b",
    re.IGNORECASE,
)


# "the phone is missing from the delivery", "was left out of the shipment", "wasn't in that
# parcel", "didn't arrive.": said of an item, it was not delivered ("nothing is missing from
# the box" and "none of them was left out" deny no delivery: `_not_delivered`)
_PARCEL = r"(?:delivery|shipment|parcel|package|box|consignment)"
_LEFT_OUT = re.compile(
    rf"\b(?P<be>{_BE}|has\s+been|have\s+been)\s+(?:(?:still|also)\s+)?"
    rf"(?:missing\s+from|left\s+out\s+of|absent\s+from)\s+(?:the|that|this|your|its)\s+{_PARCEL}\b"
    rf"|\b(?P<denied>{_BE}n[\u2019']t|{_BE}\s+not)\s+(?:included\s+)?in\s+(?:the|that|this|your|its)"
    rf"\s+{_PARCEL}\b"
    # ending its clause: "didn't arrive with a charger" or "until Tuesday" says it came
    r"|\b(?:didn[\u2019']t|did\s+not)\s+(?:arrive|turn\s+up|show\s+up)"
    r"(?=\s*(?:[.,;:!?)]|$)|\s+(?:yet|either|at\s+all)\b)",
    re.IGNORECASE,
)
_NOTHING_BEFORE = re.compile(
    r"\b(?:nothing|none|neither|no\s+\w+|not\s+(?:one|a\s+single)(?:\s+\w+)?)"
    r"(?:\s+of\s+(?:them|the\s+\w+|your\s+\w+))?\s*$",
    re.IGNORECASE,
)


def _not_delivered(text: str, m: re.Match[str]) -> str:
    """The item said to be missing from its delivery as "was not delivered", unless what is
    missing is nothing."""
    start = max(text.rfind(sep, 0, m.start()) for sep in (".", ";", ":", "!", "?", ",")) + 1
    if _NOTHING_BEFORE.search(text, start, m.start()):
        return m.group(0)
    be = (m.group("be") or m.group("denied") or "was").split()[0].lower()
    be = be.removesuffix("n't").removesuffix("n\u2019t")
    plural = be in ("are", "were", "have")
    return f"{'were' if plural else 'was'} not delivered"


def _every(m: re.Match[str]) -> str:
    verb = m.group("verb").lower()
    return f"every {m.group('what')} can be {_DONE.get(verb, verb)}"


# a state said to change into another: what it becomes, not a change made to the thing
_CHANGES_TO = re.compile(
    r"\b(status|state)\s+(?:changes|changed|switches|switched|updates|updated|is\s+changed|"
    r"gets\s+changed|will\s+change|will\s+switch|will\s+update)\s+to\b",
    re.IGNORECASE,
)


def plainly(text: str) -> str:
    """The text with indirect denials in plain words ("is off the table" → "is not possible",
    "paid, though not processed" → "paid, though it is not processed")."""
    if _CUE.search(text) is not None:
        for pattern, plain in _RESTATED:
            text = pattern.sub(plain, text)
    if "," in text:
        text = _ELLIPTIC.sub(lambda m: _completed(text, m), text)
    if "find" in text.lower():
        text = _FIND_NONE.sub(_every, text)
    text = _LEFT_OUT.sub(lambda m: _not_delivered(text, m), text)
    if "to" in text:  # "its status changes to cancelled": it becomes cancelled
        text = _CHANGES_TO.sub(r"\1 becomes", text)
    if "no" not in text.lower():
        return text  # nor any of the verbless denials, nor two denials made one
    if "there" in text.lower():
        text = _NONE_BUT_CAN.sub(_every, text)
    text = _NONE_UNAVAILABLE.sub(lambda m: f"every {m.group('what')} is available", text)
    text = _NONE.sub(lambda m: f"there is no {m.group('label').strip()}", text)
    return _BARE.sub(lambda m: _borrowed(text, m) or m.group(0), text)
