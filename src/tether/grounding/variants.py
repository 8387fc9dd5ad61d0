"""What a claim says of a record's like objects taken as a set: that one with these values
exists, or that every one with a value is (or is not) in stock.

A product's variants have no names; a claim picks one out by the values it states ("the green
medium mountain bike"). When no variant holds all of them, the claim describes a variant that
does not exist, however right each value is on its own. A quantified claim ("the daylight bulbs
are all sold out") is judged on every variant it covers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tether.grounding.bindings import (
    IN_STOCK,
    OUT_OF_STOCK,
    STOCK_WORDS,
    excepted,
    like_groups,
    options_denied,
    without_case,
)
from tether.grounding.bound_prices import price_of
from tether.grounding.claims import NEGATIONS, STOP_WORDS, content_terms
from tether.grounding.facts import CONTRADICTED, SUPPORTED, value_regex
from tether.grounding.fields import ID_KEY, MONEY, FieldFinding, RecordView, mentions
from tether.grounding.list_objects import Sibling, mentions_value
from tether.grounding.meaning import negated

# a clause that offers alternatives or counts several ("red or blue", "both") picks no one
_SEVERAL = re.compile(r"\b(?:or|either|both|between|neither|nor)\b", re.IGNORECASE)
# ("the cheapest of all", "best of all" set a superlative's range, "eight in all" counts the
# whole: they quantify nothing)
_EVERY = re.compile(r"(?<!\bof )(?<!\bin )\b(?:all|every|each|both|none of)\b", re.IGNORECASE)
# "neither silver version", "no blue variant", "the blue versions are": said of every one
# ("no longer available" and an answer's "No," quantify nothing)
_ALL_OF = re.compile(
    r"\b(?:neither|none)\b|\bno\b(?!\s+longer\b|\s*,)"
    r"|\b(?:versions|variants|options|models|ones)\s+(?:are|were)\b",
    re.IGNORECASE,
)
# the objects named as a kind ("all variants"), not a pronoun for some named before ("both")
_KIND = re.compile(r"\b(?:variants?|options?|versions?|models?|kinds?|types?)\b", re.IGNORECASE)
# what a number just before counts, when it counts the objects themselves
_KINDS_AFTER = re.compile(r"\s+(?:variants|options|versions|models|kinds|types|ones)\b")
# "every other variant", "all the others", "the other three 5K versions": the set leaves out
# the one named before it
_OTHERS = re.compile(
    r"\b(?:every|all|each|any)\s+(?:of\s+)?(?:the\s+)?others?\b|\bthe\s+(?:others|rest)\b"
    r"|\bthe\s+other\s+(?:[\w-]+\s+){0,2}?(?:versions|variants|options|models|ones)\b",
    re.IGNORECASE,
)


# "neither silver version is available", "no blue variant is in stock": the words after the
# value, up to the availability word, are the rest of its noun and a verb
_STOCK_AFTER = re.compile(
    rf"^(?:\s+[\w-]+){{0,3}}?\s+(?:(?:is|are|was|were|'s)\s+(?:\w+\s+)?(?:{STOCK_WORDS})|"
    # "no RGB option at the moment", "no 1000ml ones left": none to be had now
    r"at\s+the\s+moment|right\s+now|currently|for\s+now|at\s+present|left|in\s+stock)\b",
    re.IGNORECASE,
)


def availability_said(clause: str, end: int) -> bool:
    """Whether the value ending at `end` is the subject of an availability word ("neither
    silver version is available"): a negation before it denies that they are in stock, not that
    the record holds the value."""
    return _STOCK_AFTER.match(clause[end : end + 80]) is not None


_WHETHER = re.compile(r",?\s*\bwhether\s+[^.;:!?]*(?=[.;:!?]?\s*$)", re.IGNORECASE)
_TAIL = re.compile(r"(?<=[a-z0-9])-([a-z]+)\b", re.IGNORECASE)


def key_tails(text: str, siblings: Sequence[Sibling]) -> str:
    """The text without the tails that name a value's field ("metal-band" of a "band material"
    of metal, "maple-deck"): the value said as the first part of a compound."""
    if "-" not in text:
        return text
    keys = {w for s in siblings for key in s[1] for w in re.split(r"[\s_.]+", key.lower())}
    return _TAIL.sub(lambda m: "" if m.group(1).lower() in keys else m.group(0), text)


def check_variants(
    clause: str, views: Sequence[RecordView], referent: str = ""
) -> list[FieldFinding]:
    """The combinations of values a clause states of nameless like objects, and what it says
    of all of those holding a value. A clause opening with a pronoun and stating no value ("It
    is also available") speaks of the one object `referent` (the claim before) describes."""
    # "It is also available, as is the clicky white full-size one": two subjects of one
    # predicate, each read with it
    also = _AS_IS.match(clause)
    if also is not None:
        main = also.group("main")
        stock = OUT_OF_STOCK.search(main) or IN_STOCK.search(main) or CAN_BUY.search(main)
        if stock is not None:
            state = "unavailable" if OUT_OF_STOCK.search(main) else "available"
            denied = "not " if negated(main) else ""
            other = f"{also.group('other').rstrip(' .')} is {denied}{state}."
            return [*check_variants(main, views, referent), *check_variants(other, views)]
    out: list[FieldFinding] = []
    # "…, whether portable, medium or large": the range it holds for, not values it names
    clause = without_case(_WHETHER.sub("", clause))
    for v in views:
        for siblings in like_groups(v.record, v.facts):
            if len(siblings) < 2 or any(
                "name" in s[1] and mentions_value(clause, s[1]["name"]) for s in siblings
            ):
                continue  # named objects are bound by name (`tether.grounding.bindings`)
            by_id = _named_by_id(clause, siblings)
            if len(by_id) == 1:  # "item 7717598293 is available": the one its id names
                out.extend(_availability(clause, v, by_id, {}))
                continue
            # "the metal-band versions": a value said as the first part of its field's compound
            said = values_said(key_tails(clause, siblings), siblings)
            if said is None:
                continue
            if not said and referent and _PRONOUN_SUBJECT.match(clause):
                said = _described(referent, siblings)
            if said or (_EVERY.search(clause) and _KIND.search(clause)):
                out.extend(_availability(clause, v, siblings, said))
            several = _EVERY.search(clause) or _SEVERAL.search(clause)
            if len(said) >= 2 and not several and not negated(clause):
                out.extend(_combination(v, siblings, said))
    return out


_AS_IS = re.compile(
    r"^(?P<main>[^,;]+?),\s+as\s+(?:is|are|was|were)\s+(?P<other>[^,;]+)$", re.IGNORECASE
)
# a clause whose subject stands for a thing named before ("It is also available", "That one
# can be ordered")
_PRONOUN_SUBJECT = re.compile(
    r"^\W*(?:(?:and|but|so)\s+)?(?:it|this\s+one|that\s+one|this|that|which)\b"
    r"(?!\s+(?:is|was)\s+(?:why|because|what|how)\b)",
    re.IGNORECASE,
)


def _described(text: str, siblings: Sequence[Sibling]) -> dict[str, str]:
    """The values `text` states of exactly one of the objects (the price it states picking
    one of several that hold them), or none."""
    said = values_said(key_tails(text, siblings), siblings)
    if not said:
        return {}
    holding = [(leaves, obj) for _, leaves, obj in siblings if holds_values(leaves, said)]
    if len(holding) > 1:
        sums = [float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(text)]
        holding = [(leaves, obj) for leaves, obj in holding if _priced(obj, sums)]
        # its own values say which one, every field of it
        return {k: x.lower() for k, x in holding[0][0].items()} if len(holding) == 1 else {}
    return said if holding else {}


def _named_by_id(clause: str, siblings: Sequence[Sibling]) -> list[Sibling]:
    """The objects the clause names by one of their ids ("item 7717598293")."""
    if not any(c.isdigit() for c in clause):
        return []
    return [s for s in siblings if any(i in clause and mentions(clause, i) for i in _ids(s))]


def _ids(sibling: Sibling) -> set[str]:
    """An object's ids: its id fields and the key it is listed under, where that is an id."""
    path, _, obj = sibling
    ids = {
        str(value)
        for key, value in obj.items()
        if ID_KEY.search(str(key)) and isinstance(value, str | int) and not isinstance(value, bool)
    }
    last = path.split(".")[-1]
    if any(c.isdigit() for c in last):
        ids.add(last)
    return {i for i in ids if len(i) >= 4}


def values_said(clause: str, siblings: Sequence[Sibling]) -> dict[str, str] | None:
    """The value the clause states for each distinguishing field ("options.color" → "green"),
    or None when it states two values of one field (it speaks of several objects). A value
    said only inside a longer one ("Wi-Fi" in "Wi-Fi + Cellular") is not said."""
    classes: dict[str, set[str]] = {}
    shorts: dict[str, set[str]] = {}  # two-letter values, said only after the field's name
    unsaid: set[tuple[str, str]] = set()
    lowered = clause.lower()
    for _, leaves, _ in siblings:
        for key, value in leaves.items():
            if ID_KEY.search(key.split(".")[-1]) or key.split(".")[-1] == "name":
                continue
            low = value.lower()
            # a two-letter value is a word ("no", "on") unless it holds a figure ("5K") or
            # follows its field's name ("size S")
            short = len(low) <= 2 and not any(c.isdigit() for c in low)
            if short:
                shorts.setdefault(key, set()).add(low)
            elif low not in STOP_WORDS and low not in NEGATIONS:
                classes.setdefault(key, set()).add(low)
    for key, members in shorts.items():
        said_short = {m for m in members if _after_its_key(lowered, key, m)}
        if said_short and len(members) >= 2:  # "size S" of sizes S, M and L
            classes.setdefault(key, set()).update(members)
            skipped = members - said_short
            unsaid.update((key, m) for m in skipped)
    spans: list[tuple[int, int, str, str]] = []
    for key, members in classes.items():
        if len(members) < 2:
            continue  # a value every object shares tells none apart
        leads = [m.split()[0] for m in members if len(m.split()) > 1]
        for m in members:
            if (key, m) in unsaid:
                continue
            # "75W" for "75W equivalent": a measure's leading figure names it when unique
            lead = m.split()[0]
            short = len(m.split()) > 1 and any(c.isdigit() for c in lead) and leads.count(lead) == 1
            for form in (m, lead) if short else (m,):
                at = value_regex(form).search(lowered)
                if at is not None and form.isdigit() and _KINDS_AFTER.match(lowered, at.end()):
                    at = None  # "the 10 versions": a count of them, not size 10
                if at is not None:
                    spans.append((at.start(), at.end(), key, m))
                    break
    kept = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    said: dict[str, str] = {}
    for _, _, key, m in kept:
        if key in said and said[key] != m:
            return None
        said[key] = m
    return said


def _after_its_key(lowered: str, key: str, value: str) -> bool:
    """Whether a lower-case clause says a short value right after its field's name ("size s",
    "size: s")."""
    field = key.split(".")[-1].split()[-1] if key else ""
    return (
        bool(field)
        and re.search(rf"\b{re.escape(field)}\s*:?\s+{re.escape(value)}(?![\w-])", lowered)
        is not None
    )


def holds_values(leaves: Mapping[str, str], said: Mapping[str, str]) -> bool:
    return all(leaves.get(k, "").lower() == m for k, m in said.items())


def _combination(
    v: RecordView, siblings: Sequence[Sibling], said: Mapping[str, str]
) -> list[FieldFinding]:
    """ "A green medium mountain bike": some object must hold every one of these values."""
    if any(holds_values(leaves, said) for _, leaves, _ in siblings):
        return []
    parent = siblings[0][0].rsplit(".", 1)[0] if "." in siblings[0][0] else siblings[0][0]
    values = ", ".join(said.values())
    return [
        FieldFinding(
            f"{v.evidence_id}:{parent}",
            "binding",
            CONTRADICTED,
            values,
            None,
            (f"no object of {parent} is {values}",),
        )
    ]


def _priced(obj: Mapping[str, Any], sums: Sequence[float]) -> bool:
    """Whether the object's price (its first amount) is one of `sums`."""
    price = price_of(obj)
    return price is not None and any(abs(price - s) < 0.005 for s in sums)


def _availability(
    clause: str, v: RecordView, siblings: Sequence[Sibling], said: Mapping[str, str]
) -> list[FieldFinding]:
    """Whether the objects a clause picks out are in stock: every object holding its values
    when it quantifies ("the daylight bulbs are all sold out"), else the one it describes."""
    # "the blue leather one with no armrests": an option said as "no …" describes the object
    pairs = [(key, value) for _, leaves, _ in siblings for key, value in leaves.items()]
    denies = negated(options_denied(clause, pairs))
    if OUT_OF_STOCK.search(clause):
        if denies:
            return []
        says = False
    elif IN_STOCK.search(clause) or CAN_BUY.search(clause):
        says = not denies
    else:
        return []
    if excepted(clause, said.values()):  # "all can be ordered except the maple one"
        says = not says
    if _describes_those_in_stock(clause, said):  # "three are available, all Ethernet models"
        return _stock_described(v, siblings, said, says)
    covered = [(p, obj) for p, leaves, obj in siblings if holds_values(leaves, said)]
    if len(covered) > 1:  # "the blue 4-hour pair ($258.97)": the price says which one
        sums = [float((m.group(1) or m.group(2)).replace(",", "")) for m in MONEY.finditer(clause)]
        priced = [c for c in covered if _priced(c[1], sums)]
        covered = priced if len(priced) == 1 else covered
    flags = [(p, obj.get("available")) for p, obj in covered]
    flags = [(p, f) for p, f in flags if isinstance(f, bool)]
    if not flags:
        return []
    wrong = [p for p, f in flags if f is not says]
    quantified = _EVERY.search(clause) or _ALL_OF.search(clause)
    if not quantified and len(covered) != 1 and len(wrong) < len(flags):
        # several fit the description and which one is meant is unclear, unless whichever is
        # meant is wrong ("the silver 5K is available" where both silver 5Ks are sold out)
        return []
    if _OTHERS.search(clause) and len(wrong) == 1 and len(flags) > 1:
        wrong = []  # the one left out is the one the sentence named before ("…; every other")
    where = f"{v.evidence_id}:{wrong[0] if wrong else flags[0][0]}.available"
    reason = (f"{wrong[0]}.available is {not says!r}",) if wrong else ()
    return [
        FieldFinding(where, "flag", CONTRADICTED if wrong else SUPPORTED, "available", says, reason)
    ]


# "three are available, all of them Ethernet models", "two can be ordered, both in black": the
# values after the quantifier describe the ones in stock (or out of it), not every one holding
# them
_THEN_ALL = re.compile(
    r",\s*(?:and\s+)?(?:all|both|each|every\s+one)(?:\s+of\s+(?:them|which|those|these))?"
    r"(?:\s+(?:are|is|being|come\s+in))?\b",
    re.IGNORECASE,
)


def _describes_those_in_stock(clause: str, said: Mapping[str, str]) -> bool:
    """Whether the clause says which are in stock (or not) first and then, after a comma and a
    quantifier, every value it states of them."""
    stock = OUT_OF_STOCK.search(clause) or IN_STOCK.search(clause) or CAN_BUY.search(clause)
    if stock is None or not said:
        return False
    then = _THEN_ALL.search(clause, stock.end())
    if then is None:
        return False
    before, after = clause[: then.start()].lower(), clause[then.end() :].lower()
    return all(
        not value_regex(value).search(before) and value_regex(value).search(after)
        for value in said.values()
    )


def _stock_described(
    v: RecordView, siblings: Sequence[Sibling], said: Mapping[str, str], says: bool
) -> list[FieldFinding]:
    """Every object whose stock is as said holds the values the clause gives them."""
    flagged = [(p, leaves) for p, leaves, obj in siblings if obj.get("available") is says]
    if not flagged:
        return []
    other = [p for p, leaves in flagged if not holds_values(leaves, said)]
    state = "available" if says else "unavailable"
    where = f"{v.evidence_id}:{other[0] if other else flagged[0][0]}.available"
    reason = (f"{other[0]} is {state} but not {', '.join(said.values())}",) if other else ()
    verdict = CONTRADICTED if other else SUPPORTED
    return [FieldFinding(where, "flag", verdict, "available", says, reason)]


# "you can order the silver 5K today": what can be bought is in stock
# ("can be ordered" too)
CAN_BUY = re.compile(
    r"\b(?:can|could)\s+(?:still\s+)?(?:order|buy|purchase|get|be\s+(?:ordered|bought|purchased))\b",
    re.I,
)
_TOKEN = re.compile(r"[A-Za-z0-9][\w.+'-]*")


def check_descriptions(
    clause: str, views: Sequence[RecordView], known: set[str], genre: frozenset[str]
) -> list[FieldFinding]:
    """A word the evidence never uses set between the words that describe one named object
    ("a large gas grill" when the grill is a large electric one): an attribute the record does
    not give it."""
    named = [
        (v, s)
        for v in views
        for siblings in like_groups(v.record, v.facts)
        for s in siblings
        if "name" in s[1] and mentions_value(clause, s[1]["name"])
    ]
    if len(named) != 1:
        return []
    v, (path, leaves, _) = named[0]
    swapped = _compound_swap(clause, v.evidence_id, path, leaves)
    if swapped:
        return swapped
    lowered = clause.lower()
    marked: set[int] = set()  # where the clause says the object's values, name or field names
    said = [x.lower() for x in leaves.values() if len(x) > 1]
    said += [w for k in leaves for w in re.split(r"[\s._]+", k.lower()) if len(w) > 2]
    said += leaves["name"].lower().split()
    for value in said:
        for at in re.finditer(rf"(?<![\w-]){re.escape(value)}s?(?![\w-])", lowered):
            marked.update(range(at.start(), at.end()))
    tokens = list(_TOKEN.finditer(clause))
    # where the object's name ends: a participle after it says what the object does
    head = leaves["name"].lower().split()[-1].rstrip("s") if leaves["name"].split() else ""
    head_at = next(
        (n for n, t in enumerate(tokens) if head and t.group(0).lower().rstrip("s") == head),
        len(tokens),
    )
    for n, token in enumerate(tokens):
        terms = content_terms(token.group(0))
        if not terms or any(t in known or t in genre for t in terms) or token.start() in marked:
            continue
        if any(ch.isdigit() for ch in token.group(0)):
            continue  # numbers are checked as numbers
        if token.group(0).lower().endswith("ing") and head_at < n:
            continue  # "a dumbbell set covering 30-50 lbs": a verb after the name, no attribute
        # inside the run of words describing it: "a large gas grill", not "contains a large"
        beside = [tokens[i] for i in (n - 1, n + 1) if 0 <= i < len(tokens)]
        if len(beside) == 2 and all(b.start() in marked for b in beside):
            return [
                FieldFinding(
                    f"{v.evidence_id}:{path}",
                    "binding",
                    "unsupported",
                    token.group(0),
                    None,
                    (f"{path} holds nothing called {token.group(0)!r}",),
                )
            ]
    return []


_SET_ASIDE = re.compile(r"\b(?:rather than|instead of|as opposed to)\s*$", re.IGNORECASE)
_COMPOUND = re.compile(r"(?<![\w-])([a-z]+)-([a-z]+)(?![\w-])", re.IGNORECASE)


def _compound_swap(
    clause: str, evidence_id: str, path: str, leaves: Mapping[str, str]
) -> list[FieldFinding]:
    """A hyphenated value said of the named object with another first part than the one it
    holds ("over-ear" headphones that are "on-ear"): the shared tail hides the swap from a
    word count."""
    held = {k: x.lower() for k, x in leaves.items()}
    for found in _COMPOUND.finditer(clause):
        head, tail = found.group(1).lower(), found.group(2).lower()
        if any(found.group(0).lower() in x for x in held.values()):
            continue
        before = " ".join(clause[: found.start()].split()[-3:])
        if negated(before) or _SET_ASIDE.search(before):
            continue  # "not over-ear ones", "rather than over-ear": denied, not said
        for key, value in held.items():
            theirs = _COMPOUND.fullmatch(value)
            if theirs and theirs.group(2).lower() == tail and theirs.group(1).lower() != head:
                return [
                    FieldFinding(
                        f"{evidence_id}:{path}.{key}",
                        "binding",
                        CONTRADICTED,
                        found.group(0),
                        leaves[key],
                        (f"{path}.{key} is {leaves[key]!r}, not {found.group(0)!r}",),
                    )
                ]
    return []
