"""Values bound to the objects of a record's lists: which item is which colour, which variant
costs what (which of two items is cheaper: `tether.grounding.comparisons`).

A record often holds a list of like objects (an order's items, a product's variants). A claim
can get every value right and still pin one on the wrong object ("a silver watch" when the
watch is gold and the boots are silver). The objects are told apart by their names, or, when
they have none, by the values the claim states; a value is judged against the object the
claim binds it to, and a value the clause denies ("isn't made of glass") against what the
object holds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice, pairwise
from typing import Any

from tether.grounding.bound_prices import bound_prices, others_amount, price_of, swapped_price
from tether.grounding.claims import content_terms
from tether.grounding.facts import CONTRADICTED, SUPPORTED, Fact, key_words, value_regex
from tether.grounding.facts import leaves as record_leaves
from tether.grounding.fields import ID_KEY, FieldFinding, RecordView
from tether.grounding.list_objects import Sibling, leaf_values, mentions_value, objects
from tether.grounding.meaning import Vocabulary, clauses, contrasted_terms, negated


def check_bindings(
    clause: str, views: Sequence[RecordView], vocabulary: Vocabulary | None = None
) -> list[FieldFinding]:
    """Values bound to the wrong object of a list, and values of an object the clause denies."""
    out: list[FieldFinding] = []
    for v in views:
        for siblings in like_groups(v.record, v.facts):
            out.extend(_bound(clause, v, siblings, vocabulary))
    return out


# the groups of the records in view, by identity: every clause of an answer asks for them
_SEEN: dict[int, tuple[Mapping[str, Any], list[list[Sibling]]]] = {}


def like_groups(
    record: Mapping[str, Any], facts: Sequence[Fact] | None = None
) -> list[list[Sibling]]:
    """The groups of like objects in a record (an order's items, a product's variants);
    `facts` are the record's leaves when the caller has read them already."""
    seen = _SEEN.get(id(record))
    if seen is not None and seen[0] is record:
        return seen[1]
    found = _like_groups(record, record_leaves(record) if facts is None else facts)
    if len(_SEEN) > 256:
        _SEEN.clear()
    _SEEN[id(record)] = (record, found)
    return found


def keep_groups(record: Mapping[str, Any], groups: list[list[Sibling]]) -> None:
    """Take `groups` as the record's `like_groups`: worked out already for a record equal to it
    (the same JSON text), and only read from then on."""
    if len(_SEEN) > 256:
        _SEEN.clear()
    _SEEN[id(record)] = (record, groups)


def _object_parts(
    node: Any, odd: list[Any], parts: tuple[str, ...] = (), depth: int = 0
) -> Iterable[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """`objects`, with each path as its keys; a key that is not a string goes to `odd`."""
    if depth > 4:
        return
    if isinstance(node, Mapping):
        if parts:
            yield parts, node
        for key, value in node.items():
            if type(key) is not str:
                odd.append(key)
            yield from _object_parts(value, odd, (*parts, str(key)), depth + 1)
    elif isinstance(node, list):
        for n, value in enumerate(node[:200]):
            yield from _object_parts(value, odd, (*parts, str(n)), depth + 1)


def _leaf_values_of(
    facts: Sequence[Fact], found: Sequence[tuple[tuple[str, ...], Mapping[str, Any]]]
) -> list[dict[str, str]]:
    """`leaf_values` of each object found in a record, read off the record's leaves: an
    object's leaves are the record's leaves below its path."""
    out: dict[tuple[str, ...], dict[str, str]] = {p: {} for p, _ in found}
    for fact in facts:
        value = fact.value
        # leaf_values' rule: a short string, and a number only when of at most 3 digits
        if not isinstance(value, str) or not 0 < len(value) <= 30:
            continue
        if len(value) > 3 and value.isdigit():
            continue
        path = fact.path
        for k in range(1, len(path)):
            kept = out.get(path[:k])
            if kept is not None:
                kept[".".join(path[k:])] = value.strip()
    return [out[p] for p, _ in found]


def _like_groups(record: Mapping[str, Any], facts: Sequence[Fact]) -> list[list[Sibling]]:
    groups: dict[str, list[Sibling]] = {}
    odd: list[Any] = []
    found = list(_object_parts(record, odd))
    # string keys give every node a path of its own; other keys (1 beside "1") may not, and
    # such a record's objects are read one by one
    if odd:
        each = [(path, leaf_values(obj), obj) for path, obj in objects(record)]
    else:
        shared = _leaf_values_of(facts, found)
        each = [(".".join(p), shared[n], obj) for n, (p, obj) in enumerate(found)]
    for path, leaves, obj in each:
        if len(leaves) >= 2:
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            groups.setdefault(parent, []).append((path, leaves, obj))
    # like objects only: siblings that share a field (items with a name and a price), not a
    # record's unrelated parts (its name, its address, its payment methods)
    return [g for g in groups.values() if (len(g) >= 2 and _alike(g)) or _listed(g)]


def _listed(group: Sequence[Sibling]) -> bool:
    """A single object that sits in a list (an order's only item) is an item too."""
    return len(group) == 1 and group[0][0].rsplit(".", 1)[-1].isdigit()


def _alike(group: Sequence[Sibling]) -> bool:
    keys = [set(obj) for _, _, obj in group]
    return bool(set.intersection(*keys))


def _head(name: str) -> str:
    """A name's last word, singular ("Hiking Boots" → "boot"), when long enough to be a noun."""
    words = name.lower().split()
    head = words[-1] if words else ""
    head = head[:-1] if head.endswith("s") and len(head) > 4 else head
    return head if len(head) >= 4 and len(words) > 1 else ""


def _shorts(name: str, names: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """What an object is called by short of its whole name: its name's last word (`_head`)
    and the short names the pack gives it ("vacuum" for "Vacuum Cleaner")."""
    given = names.get(" ".join(name.lower().split()), ()) if names else ()
    return tuple(dict.fromkeys(x for x in (_head(name), *given) if x))


def _short_found(lowered: str, short: str) -> re.Match[str] | None:
    """Where a lower-case clause says a short name, or its plural."""
    if short not in lowered:  # the pattern holds it as written: a clause without it cannot match
        return None
    return re.search(rf"(?<![\w-]){re.escape(short)}s?(?![\w-])", lowered)


def _name_found(
    clause: str, name: str, names: Mapping[str, tuple[str, ...]] | None = None
) -> re.Match[str] | None:
    """Where a clause names an object: its whole name, else one of its short names."""
    lowered = clause.lower()
    found = value_regex(name).search(lowered)
    if found is None and not name.endswith("s"):
        found = value_regex(name + "s").search(lowered)  # "two pet beds"
    for short in _shorts(name, names or {}) if found is None else ():
        found = _short_found(lowered, short)
        if found is not None:
            break
    return found


def _named_by_head(
    clause: str,
    siblings: Sequence[Sibling],
    named: Sequence[Sibling],
    names: Mapping[str, tuple[str, ...]],
) -> list[Sibling]:
    """Objects a clause names by a short name ("the watch" for "Smart Watch", "the vacuum" for
    "Vacuum Cleaner"), one no other object is called by and no object named in full holds."""
    shorts = [_shorts(s[1]["name"], names) if "name" in s[1] else () for s in siblings]
    held = Counter(x for own in shorts for x in own)
    lowered = clause.lower()
    out = []
    for s, own in zip(siblings, shorts, strict=True):
        if any(s is n for n in named):
            continue
        usable = (
            x for x in own if held[x] == 1 and not any(x in n[1]["name"].lower() for n in named)
        )
        if any(_short_found(lowered, x) for x in usable):
            out.append(s)
    return out


# what introduces the thing another is compared with, ending just before its name: "than the",
# "five times what the", "twice as much as", "as expensive as the"
_STANDARD = re.compile(
    r"(?:\bthan|\b(?:times|twice|half)\s+(?:as\s+\w+\s+as|what)|\bas\s+\w+\s+as)"
    r"(?:\s+(?:the|your|its|their|my))?\s*$",
    re.IGNORECASE,
)


# where the words of one named object end and the next one's begin
_JOINT = re.compile(r",|;|\band\b|\bplus\b|\bwith\b")


def _segments(
    clause: str, named: Sequence[Sibling], names: Mapping[str, tuple[str, ...]]
) -> list[tuple[Sibling, str]]:
    """Each named object with the stretch of the clause that describes it. Between two names
    the cut falls at the last "and", comma or semicolon: what follows a name ("for $98.82")
    is its own, what precedes the next ("a blue …") the next one's, unless the next is what
    the last is compared with ("… five times what the skateboard does")."""
    spots = []
    for s in named:
        found = _name_found(clause, s[1]["name"], names)
        if found:
            spots.append((found.start(), found.end(), s))
    spots.sort(key=lambda x: x[0])
    cuts = [0]
    for (_, end, _), (start, _, _) in pairwise(spots):
        gap = clause[end:start]
        joints = list(_JOINT.finditer(gap))
        cut = end + joints[-1].start() if joints else start
        # the next name is what the last is compared with ("…, and at $981.47 it costs nearly
        # five times what the skateboard does"): what is said before the comparison is not its
        standard = _STANDARD.search(gap)
        cuts.append(max(cut, end + standard.start()) if standard else cut)
    cuts.append(len(clause))
    return [(s, clause[cuts[n] : cuts[n + 1]]) for n, (_, _, s) in enumerate(spots)]


def _bound(
    clause: str, v: RecordView, siblings: Sequence[Sibling], vocabulary: Vocabulary | None
) -> list[FieldFinding]:
    classes: dict[str, set[str]] = {}
    for _, leaves, _ in siblings:
        for key, value in leaves.items():
            if not ID_KEY.search(key.split(".")[-1]):
                classes.setdefault(key, set()).add(value.lower())
    named = [s for s in siblings if "name" in s[1] and _said_by_name(clause, s[1]["name"])]
    names = vocabulary.names if vocabulary is not None else {}
    by_head = _named_by_head(clause, siblings, named, names)
    named += by_head
    several = False
    if named:
        pairs = _told_apart(_segments(clause, named, names))
    else:
        # nameless siblings (variants) are picked out by the values the clause states, each
        # value once: "10" said once is not two things said of variant 10 (its id and size)
        scored = [
            (len({x.lower() for x in s[1].values() if len(x) > 1 and mentions_value(clause, x)}), s)
            for s in siblings
        ]
        top = max((n for n, _ in scored), default=0)
        picked = [s for n, s in scored if n == top and n >= 2]
        if len(picked) != 1:
            # none, or several objects listed in one clause: no binding to judge but an amount
            # said of the one object a value only it holds names
            if "$" not in clause or all(price_of(s[2]) is not None for s in siblings):
                return []  # no amount said, or none of the objects lacks one
            return [
                f
                for part in clauses(clause)
                if (alone := _named_alone(part.text, siblings)) is not None
                for f in others_amount(part.text, v, alone, siblings)
            ]
        pairs = [(picked[0], clause)]
        # values only other objects hold: the clause lists several, whose is whose is unclear
        own = {x.lower() for x in picked[0][1].values()}
        if any(
            mentions_value(clause, x) and x.lower() not in own
            for s in siblings
            if s is not picked[0]
            for x in s[1].values()
            if len(x) > 2
        ):
            vocabulary = None
            several = True  # its flags are read clause by clause (`tether.grounding.variants`)
    held_by_named = {x.lower() for s in named for x in s[1].values()}
    out: list[FieldFinding] = _mixed_namesakes(clause, v, named)
    for (path, leaves, _), text in pairs:
        mine = {x.lower() for x in leaves.values()}
        for key, members in classes.items():
            if len(members) < 2 or key not in leaves:
                continue
            said = {m for m in members if mentions_value(text, m)}
            if said and leaves[key].lower() not in said and not (said & mine):
                wrong = sorted(said - held_by_named) or sorted(said)
                # the value belongs to another object named in the clause: a swap only when
                # that object's stretch says this one's value in turn
                shared = len(pairs) > 1 and not (said - held_by_named)
                if shared and not _traded(key, leaves, said, pairs):
                    continue
                out.append(_wrong(v, path, key, leaves[key], wrong[0]))
        if vocabulary is not None:
            out.extend(_vocabulary(text, v, path, leaves, vocabulary, held_by_named, len(pairs)))
            if vocabulary.values:
                out.extend(_keyed(text, v, path, leaves, vocabulary.values, names))
        out.extend(_denied(text, v, path, leaves))
        if len(pairs) == 1 and not several:
            out.extend(
                _object_flags(text, v, path, pairs[0][0][2], excepted(text, leaves.values()))
            )
            out.extend(bound_prices(text, v, path, pairs[0][0][2], siblings))
        elif len(pairs) > 1 and not several:
            out.extend(swapped_price(text, v, path, siblings))
        # a word of a name ("the hose") finds the object but, unlike its full name, does
        # not vouch for the clause
        if not any(f.status == CONTRADICTED for f in out) and len(pairs) == 1 and not by_head:
            out.append(FieldFinding(f"{v.evidence_id}:{path}", "binding", SUPPORTED, "", None))
    return out


def _said_by_name(clause: str, name: str) -> bool:
    """Whether the clause names an object by its whole name, or its plural ("pet beds")."""
    return mentions_value(clause, name) or (
        not name.endswith("s") and mentions_value(clause, name + "s")
    )


def _told_apart(pairs: list[tuple[Sibling, str]]) -> list[tuple[Sibling, str]]:
    """Objects of one name (two "Pet Bed" items) are one name in the clause: which is meant
    is told by the values the clause says that only one of them holds ("the beige memory foam
    pet bed"). That one is judged on the name's whole stretch; when none or several are told
    apart so, none is ("two pet beds, one beige, one grey"), though the name still ends the
    stretches of the objects around it."""
    groups: dict[str, list[tuple[Sibling, str]]] = {}
    for pair in pairs:
        groups.setdefault(pair[0][1]["name"].lower(), []).append(pair)
    if all(len(g) == 1 for g in groups.values()):
        return pairs
    out: list[tuple[Sibling, str]] = []
    for group in groups.values():
        if len(group) == 1:
            out.extend(group)
            continue
        text = "".join(t for _, t in group)
        held = Counter(x.lower() for s, _ in group for x in set(s[1].values()))
        # the name said again ("the beige pet bed is memory foam and the grey pet bed is
        # polyester"): each saying is told apart on its own stretch
        each = [(_told_by(t, group, held), t) for t in _stretches(text, group[0][0][1]["name"])]
        if len(each) > 1 and all(len(told) == 1 for told, _ in each):
            out.extend((told[0], t) for told, t in each)
            continue
        told = _told_by(text, group, held)
        if len(told) > 1:
            # values of each are said: the ones just before the name pick ("the grey pet bed
            # is made of memory foam" is said of the grey one)
            found = _name_found(text, group[0][0][1]["name"])
            start = found.start() if found is not None else 0
            told = _told_by(text[max(0, start - 30) : start], group, held)
        if len(told) == 1:
            out.append((told[0], text))
    return out


def _stretches(text: str, name: str) -> list[str]:
    """`text` cut between the sayings of `name`, at the last comma, "and" or "with" between
    two (as `_segments` cuts between two names); one stretch when it is said once."""
    found = list(islice(value_regex(name).finditer(text.lower()), 8))
    if len(found) < 2:
        return [text]
    cuts = [0]
    for a, b in pairwise(found):
        joints = list(_JOINT.finditer(text, a.end(), b.start()))
        cuts.append(joints[-1].start() if joints else b.start())
    cuts.append(len(text))
    return [text[x:y] for x, y in pairwise(cuts)]


def _mixed_namesakes(clause: str, v: RecordView, named: Sequence[Sibling]) -> list[FieldFinding]:
    """One object of a name shared by several, described with values only different ones of
    them hold ("a pet bed in beige polyester" of a beige memory foam bed and a grey polyester
    one): no object is what the phrase describes. Only the phrase around the name is read,
    from the last comma, "and" or verb before it to the first after it, and a plural ("two pet
    beds in beige and grey") describes several."""
    groups: dict[str, list[Sibling]] = {}
    for s in named:
        groups.setdefault(s[1]["name"].lower(), []).append(s)
    out: list[FieldFinding] = []
    for name, group in groups.items():
        if len(group) < 2:
            continue
        held = Counter(x.lower() for s in group for x in set(s[1].values()))
        # the values only one of the group holds, by object
        own = {
            s[0]: [x for x in s[1].values() if held[x.lower()] == 1 and len(x) > 1] for s in group
        }
        for found in islice(value_regex(name).finditer(clause.lower()), 4):
            after = clause[found.end() : found.end() + 40]
            if after[:1].lower() == "s":  # "pet beds": several
                continue
            before = clause[max(0, found.start() - 40) : found.start()]
            before = _PHRASE_CUT.split(before)[-1]
            phrase = f"{before} {_PHRASE_CUT.split(after, maxsplit=1)[0]}"
            said = {p: [x for x in xs if mentions_value(phrase, x)] for p, xs in own.items()}
            tellers = {p: xs for p, xs in said.items() if xs}
            if len(tellers) < 2:
                continue
            values = sorted({x for xs in tellers.values() for x in xs})
            where = next(iter(tellers))
            out.append(
                FieldFinding(
                    f"{v.evidence_id}:{where}",
                    "binding",
                    CONTRADICTED,
                    " ".join(values),
                    None,
                    (f"no {name} in the record is {' and '.join(values)}",),
                )
            )
            break
    return out


# where the phrase describing one object ends: a comma, "and", a verb
_PHRASE_CUT = re.compile(
    r"[,;:.!?()]|\b(?:and|or|but|while|than|is|are|was|were|has|have|had|costs?|came|comes|"
    r"arrived|shipped|will|can|could|would)\b",
    re.IGNORECASE,
)


def _told_by(text: str, group: Sequence[tuple[Sibling, str]], held: Counter[str]) -> list[Sibling]:
    """The objects of a group that a value only they hold, said in `text`, picks out."""
    return [
        s
        for s, _ in group
        if any(
            held[x.lower()] == 1 and len(x) > 1 and mentions_value(text, x) for x in s[1].values()
        )
    ]


def _named_alone(clause: str, siblings: Sequence[Sibling]) -> Sibling | None:
    """The one object a value no other object holds picks out, if one does ("PayPal" of an
    account's payment methods; "gift_card" is said "gift card")."""
    held: dict[str, int] = {}
    for s in siblings:
        for x in {x.lower() for x in s[1].values()}:
            held[x] = held.get(x, 0) + 1
    picked = [
        s
        for s in siblings
        if any(
            len(x) > 3 and held[x.lower()] == 1 and mentions_value(clause, x.replace("_", " "))
            for x in s[1].values()
        )
    ]
    return picked[0] if len(picked) == 1 else None


def _traded(
    key: str, leaves: dict[str, str], said: set[str], pairs: Sequence[tuple[Sibling, str]]
) -> bool:
    """Two objects named in one clause, each said to hold the other's value of `key` ("the
    bookshelf is black, and the bottle is white" of a white bookshelf and a black bottle)."""
    mine = leaves[key].lower()
    for (_, theirs, _), text in pairs:
        value = theirs.get(key, "").lower()
        if value and value != mine and value in said and mentions_value(text, mine):
            return not mentions_value(text, value)
    return False


def _vocabulary(
    text: str,
    v: RecordView,
    path: str,
    leaves: dict[str, str],
    vocabulary: Vocabulary,
    held_by_named: set[str],
    objects: int,
) -> list[FieldFinding]:
    """A pack's closed classes (colours, materials): the clause names a member the object's
    field of that class does not hold."""
    out: list[FieldFinding] = []
    values = {k: x.lower() for k, x in leaves.items()}
    set_aside = contrasted_terms(text)  # "blue rather than red" says nothing red
    for cls, member, _, _ in vocabulary.members(text):
        if cls in vocabulary.states or set(content_terms(member)[:1]) & set_aside:
            continue
        forms = {f.lower() for f in (member, *vocabulary.classes[cls].get(member, ()))}
        in_class = {
            k: x
            for k, x in values.items()
            if vocabulary.members(x) and all(c == cls for c, _, _, _ in vocabulary.members(x))
        }
        if not in_class or any(mentions_value(x, f) for f in forms for x in in_class.values()):
            continue
        if objects > 1 and forms & held_by_named:
            continue
        key = next(iter(in_class))
        out.append(_wrong(v, path, key, leaves[key], member))
    return out


def _keyed(
    text: str,
    v: RecordView,
    path: str,
    leaves: dict[str, str],
    values: Mapping[str, Mapping[str, tuple[str, ...]]],
    names: Mapping[str, tuple[str, ...]],
) -> list[FieldFinding]:
    """A value named with its field's name ("size large", "light skin tones", "a black dial"
    of a "dial color") that the object's field does not hold, where the pack knows the values
    the field can take. Named so, the value is that field's, whatever else it may mean
    elsewhere ("large" alone may be any size of anything). A clause about another variant
    ("exchanged for size L", "also available in size L") says nothing of the item's."""
    out: list[FieldFinding] = []
    if _ANOTHER_VARIANT.search(text):
        return out
    # each field whose values the pack knows: how they are named, and each form's value
    readings = {
        key: _keyed_reading(field, known)
        for key in leaves
        if (known := values.get(field := key.rsplit(".", 1)[-1].lower()))
    }
    for key, (pattern, canonical) in readings.items():
        value = leaves[key]
        held = canonical.get(value.lower())
        if held is None:
            continue  # a value the pack does not know: nothing to tell it from
        for found in pattern.finditer(text):
            said = next((g for g in found.groups() if g), "").lower()
            named = canonical.get(said)
            if named is None or named == held:
                continue
            if negated(text[max(0, found.start() - 40) : found.start()]):
                continue  # "not in size large" denies it
            out.append(_wrong(v, path, key, value, found.group(0)))
            break
    if not out and "name" in leaves:
        forms = {key: canonical for key, (_, canonical) in readings.items()}
        out.extend(_before_name(text, v, path, leaves, forms, names))
    return out


# where the words describing a named object begin: an article, a possessive, a preposition
_DESCRIPTION_STARTS = re.compile(
    r"^(?:a|an|the|your|my|our|its|their|this|that|these|those|of|for|with|and|or|in|on|to|"
    r"from|is|are|was|were|be|been|has|have|had)$",
    re.IGNORECASE,
)


def _before_name(
    text: str,
    v: RecordView,
    path: str,
    leaves: dict[str, str],
    readings: Mapping[str, Mapping[str, str]],
    names: Mapping[str, tuple[str, ...]],
) -> list[FieldFinding]:
    """A value of one of the object's fields just before its name that the field does not
    hold ("your black digital wall clock" of an analog one); `readings` maps each field the
    pack knows the values of to its forms' values. A word no field of the object can take
    ("new", "gaming"), or one that is right for any of them, says nothing wrong."""
    found = _name_found(text, leaves["name"], names)
    if found is None:
        return []
    said: list[str] = []
    # a possessive is one word ("men's"): its "s" is no size
    words = re.findall(r"[\w-]+(?:[\u2019']s\b)?|[^\w\s,-]", text[: found.start()])
    for word in reversed(words[-4:]):
        if _DESCRIPTION_STARTS.match(word) or not re.match(r"[\w-]+$", word):
            break
        said.append(word.lower())
    phrases = [*said, *(f"{b} {a}" for a, b in pairwise(said))]
    for phrase in phrases:
        takes = [key for key, canonical in readings.items() if phrase in canonical]
        if not takes or any(
            readings[key][phrase] == readings[key].get(leaves[key].lower()) for key in takes
        ):
            continue
        if any(
            re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", x.lower())
            for x in leaves.values()
        ):
            continue  # part of a value the object holds ("rubber" of "natural rubber")
        key = takes[0]
        return [_wrong(v, path, key, leaves[key], phrase)]
    return []


# what a clause says of a variant other than the item: the one it is exchanged or changed for,
# one preferred, available or offered
_ANOTHER_VARIANT = re.compile(
    r"\b(?:exchang\w*|swap\w*|switch(?:ed|ing)?\s+(?:it\s+)?(?:to|for)|chang\w*|replac\w*|"
    r"instead|rather|prefer\w*|"
    r"availab\w*|in\s+stock|sold\s+out|comes?\s+in|offer\w*|option\w*|variant\w*|want\w*|"
    r"like|new|other|another)\b",
    re.IGNORECASE,
)
# a field of two words goes by its first too: "dial color" by "dial" ("a white dial"), "skin
# tone" by "skin" ("for light skin"), "speed settings" by "speed" ("high-speed")
_FIELD_HEAD = re.compile(r"^([a-z]+)\s+[a-z]+$")
_KEYED: dict[tuple[str, int], tuple[Mapping[str, Any], re.Pattern[str], dict[str, str]]] = {}


def _keyed_reading(
    field: str, known: Mapping[str, tuple[str, ...]]
) -> tuple[re.Pattern[str], dict[str, str]]:
    """How `field`'s values are named with it: a value just before one of the field's names
    ("light skin tones", "high-speed") or just after one ("size large", "size: XS"); and each
    form of a value (lower case) with the value it is a form of."""
    kept = _KEYED.get((field, id(known)))
    if kept is not None and kept[0] is known:
        return kept[1], kept[2]
    canonical = {f.lower(): c.lower() for c, more in known.items() for f in (c, *more)}
    said = "|".join(re.escape(f) for f in sorted(canonical, key=len, reverse=True))
    names = [field, field.replace("color", "colour")]
    head = _FIELD_HEAD.match(field)
    names += [head.group(1)] if head is not None else []
    called = "|".join(re.escape(n) for n in dict.fromkeys(names))
    # a value holding one of the field's names names the field itself ("auto tilt" of a "tilt
    # mechanism")
    own = [f for f in canonical if any(re.search(rf"\b{re.escape(n)}\b", f) for n in names)]
    selfnamed = "|".join(re.escape(f) for f in sorted(own, key=len, reverse=True))
    pattern = re.compile(
        rf"(?<![\w-])(?P<before>{said})[\s-]+(?:{called})(?:e?s)?(?![\w-])|"
        rf"(?<![\w-])(?:{called})(?:e?s)?(?:\s*:\s*|\s+(?:of\s+|in\s+)?)(?P<after>{said})"
        r"(?![\w-])" + (rf"|(?<![\w-])(?P<self>{selfnamed})(?![\w-])" if own else ""),
        re.IGNORECASE,
    )
    if len(_KEYED) > 512:
        _KEYED.clear()
    _KEYED[field, id(known)] = (known, pattern, canonical)
    return pattern, canonical


_NEXT_PHRASE = re.compile(r"[,;:]|\b(?:and|but|with)\s+(?=(?:a|an|the|its|their)\b)")


# "the only one you can't order is the maple one", "the one that isn't available is the red":
# the denial is of a phrase that is the subject of a verb naming the value, not of the value
_DENIAL_THEN_BE = re.compile(
    r"(?:n[\u2019']t|\bnot|\bnever)\b(?:\s+[\w-]+)*?\s+(?:is|are|was|were)\s+"
    r"(?:the|a|an|your)\b(?:\s+[\w-]+){0,2}\s*$",
    re.IGNORECASE,
)


def _denied(text: str, v: RecordView, path: str, leaves: dict[str, str]) -> list[FieldFinding]:
    """A value the object holds that the clause denies ("isn't made of glass")."""
    out: list[FieldFinding] = []
    lowered = text.lower()
    for key, value in leaves.items():
        if len(value) < 3:
            continue
        found = value_regex(value).search(lowered)
        if found is None:
            continue
        window = " ".join(lowered[: found.start()].split()[-4:])
        # a denial before "and a …", a comma or a colon bears on what it names, not on this
        # value ("no armrests and a standard backrest", "not delivered yet: the black …")
        window = _NEXT_PHRASE.split(window)[-1]
        if negated(window) and not _DENIAL_THEN_BE.search(window):
            out.append(
                FieldFinding(
                    f"{v.evidence_id}:{path}.{key}",
                    "binding",
                    CONTRADICTED,
                    found.group(0),
                    value,
                    (f"{path}.{key} is {value!r}",),
                )
            )
    return out


# availability in its usual words, each kind once
_IN_STOCK_WORDS = (
    r"in stock|available|orderable|for sale|on (?:our|the) shelves|ready to (?:order|ship|buy)|"
    r"in (?:our|the) warehouse|waiting to be (?:ordered|bought|purchased)|"
    r"(?:can|could)(?:n?[\u2019']t|not)?(?: be)? (?:order(?:ed)?|buy|bought|purchased?)"
)
_OUT_OF_STOCK_WORDS = "out of stock|sold out|unavailable"
STOCK_WORDS = f"{_IN_STOCK_WORDS}|{_OUT_OF_STOCK_WORDS}"
IN_STOCK = re.compile(rf"\b(?:{_IN_STOCK_WORDS})\b", re.IGNORECASE)
OUT_OF_STOCK = re.compile(rf"\b(?:{_OUT_OF_STOCK_WORDS})\b", re.IGNORECASE)


# "If the band isn't essential, …": the case a clause opens with is no part of what it says
_LEADING_CASE = re.compile(
    r"^\W*(?:if|unless|when|whenever|once|as\s+long\s+as|provided(?:\s+that)?)\b[^,;:]{1,80},\s*",
    re.IGNORECASE,
)


def without_case(text: str) -> str:
    """The text without the case it opens with ("If the band isn't essential, the black one is
    available" says "the black one is available")."""
    return _LEADING_CASE.sub("", text, count=1)


def options_denied(text: str, options: Iterable[tuple[str, str]]) -> str:
    """The text without the options it says an object has none of ("with no armrests",
    "without a camera compartment"), where an option of that name holds none: they describe
    the object, and deny nothing said of it."""
    if not _NO_OPTION.search(text):
        return text
    keys = {
        key.split(".")[-1].split()[-1].lower()
        for key, value in options
        if isinstance(value, str) and value.lower() in _NONE_VALUES and key.split()
    }
    if not keys:
        return text

    def blanked(m: re.Match[str]) -> str:
        # the option's name is the first word after "no" or the one after it ("no camera
        # compartment"): blanked up to it
        for n in (1, 2):
            word = m[f"w{n}"]
            if word and word.lower().rstrip("s") in keys:
                return " " * (m.end(f"w{n}") - m.start()) + m.group(0)[m.end(f"w{n}") - m.start() :]
        return m.group(0)

    return _NO_OPTION.sub(blanked, text)


_NONE_VALUES = frozenset(("none", "no", "without"))
_NO_OPTION = re.compile(
    r"\b(?:no|without)\s+(?:(?:a|an|any)\s+)?(?P<w1>[a-z][\w-]*)(?:\s+(?P<w2>[a-z][\w-]*))?",
    re.IGNORECASE,
)


# what sets one object apart from what the clause says of the rest: "all can be ordered
# except the maple one", "the one exception is …", "other than the red one, every …"
_EXCEPTION = re.compile(
    r"\b(?:except(?:\s+for)?|other\s+than|apart\s+from|excluding|but\s+for|"
    r"with\s+the\s+exception\s+of|the\s+(?:one|only|sole|single)\s+exception\s+(?:is|being|:))",
    re.IGNORECASE,
)


def excepted(text: str, values: Iterable[str]) -> bool:
    """Whether the clause names the object holding `values` as the exception to what it says:
    an exception's words come before the first of those values it states."""
    cue = _EXCEPTION.search(text)
    if cue is None:
        return False
    lowered = text.lower()
    spots = [
        found.start()
        for x in values
        if len(x) > 2 and (found := value_regex(x).search(lowered)) is not None
    ]
    return bool(spots) and cue.end() <= min(spots)


def _object_flags(
    text: str, v: RecordView, path: str, obj: Mapping[str, Any], excepted: bool = False
) -> list[FieldFinding]:
    """The bound object's yes/no fields the clause speaks of; availability in its usual words
    ("in stock", "sold out", "unavailable"). An object `excepted` from what the clause says
    ("all can be ordered except the maple one") is said to hold the other value."""
    out: list[FieldFinding] = []
    options = [
        (k, x)
        for key, value in obj.items()
        for k, x in (value.items() if isinstance(value, Mapping) else [(key, value)])
    ]
    text = options_denied(without_case(text), options)
    for key, value in obj.items():
        if not isinstance(value, bool):
            continue
        words = key_words(str(key))
        if words == ["available"]:
            if OUT_OF_STOCK.search(text):
                says = False
            elif IN_STOCK.search(text):
                says = not negated(text)
            else:
                continue
        elif words and all(re.search(rf"\b{re.escape(w)}", text, re.I) for w in words):
            says = not negated(text)
        else:
            continue
        ok = (says is not excepted) is value
        out.append(
            FieldFinding(
                f"{v.evidence_id}:{path}.{key}",
                "flag",
                SUPPORTED if ok else CONTRADICTED,
                str(key),
                value,
                () if ok else (f"{path}.{key} is {value!r}",),
            )
        )
    return out


def _wrong(v: RecordView, path: str, key: str, value: str, said: str) -> FieldFinding:
    return FieldFinding(
        f"{v.evidence_id}:{path}.{key}",
        "binding",
        CONTRADICTED,
        said,
        value,
        (f"{path}.{key} is {value!r}, not {said!r}",),
    )
