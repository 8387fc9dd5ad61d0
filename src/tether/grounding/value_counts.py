"""How many of a record's like objects hold the values a clause counts them by: "the four
black ones", "of the eight glass ones", "all three Wi-Fi cameras", "two battery-powered lamps";
and how many of those are in stock, when the clause says so ("two of the four light kits are
available", "of the four green ones only the one … can be ordered", "four 4K variants, one you
can order"), the values said first as the clause's topic ("Espresso, three variants, two
available").

Such a count is of a part of the list, so no count the record holds without writing it (the
list's length, how many are in stock) vouches for it; the objects holding every value said
beside the number do. A count that matches them is supported, and one that does not is
contradicted, however many other things in the evidence come to that number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

from tether.grounding.bindings import IN_STOCK, OUT_OF_STOCK, STOCK_WORDS, like_groups
from tether.grounding.facts import CONTRADICTED, SUPPORTED
from tether.grounding.fields import FieldFinding, RecordView
from tether.grounding.list_objects import Sibling, mentions_value
from tether.grounding.meaning import negated
from tether.grounding.variants import CAN_BUY, holds_values, key_tails, values_said

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
            "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
            "nineteen": 19, "twenty": 20}  # fmt: skip
_NUMBER = (
    r"\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
)
# "robotic 4 of 5, upright 2 of 4": a value and how many of the objects holding it are meant,
# of how many there are
_VALUE_PART = re.compile(
    rf"(?<![\w$.,-])(?P<label>[A-Za-z][\w-]*)\s+(?P<part>{_NUMBER})\s+(?:of|out\s+of)\s+"
    rf"(?P<whole>{_NUMBER})\b(?!\s*(?:%|per\b))",
    re.IGNORECASE,
)
_PART_END = re.compile(r"[;!?]|\.(?=\s|$)|,?\s+(?:but|though|although|while|whereas)\b", re.I)
# "of the five fleece beds, …", "among the 4K ones, …": the set a clause opens with
_OPENING_SET = re.compile(
    r"^\W*(?:of|among|out\s+of)\s+(?:the|your|its)\s+([^,;:]{3,60}?)\s*,", re.I
)
# "beige and brown each have 3 of 5 available": the same count said of each value
_EACH_PART = re.compile(
    r"(?<![\w$.,-])(?P<labels>[A-Za-z][\w-]*(?:(?:\s*,\s*|\s+and\s+)[A-Za-z][\w-]*){1,4})\s+"
    rf"each\s+(?:have\s+|has\s+)?(?P<part>{_NUMBER})\s+(?:of|out\s+of)\s+(?P<whole>{_NUMBER})\b",
    re.IGNORECASE,
)
_AND = re.compile(r"\s*,\s*|\s+and\s+", re.IGNORECASE)
_MOST_VALUE_PARTS = 12  # a line of more such counts is no answer's
# a count of the whole list by a word for its members ("comes in sixteen variants and eleven
# of them can be ordered"): how many of the list are in stock, when the clause says so
_WHOLE_LIST = re.compile(
    rf"(?<![\w$.,-])({_NUMBER})\s+(?:variants|versions|models|options|configurations)\b",
    re.IGNORECASE,
)
_GROUP_SIZE = r"[2-9]|1[0-2]|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
# a number of two or more, up to three words describing what it counts, and a plural noun
# ("ones", "kits", "cameras"); the describing words are no phrase of their own ("one with
# green lenses", "two in the order")
_GROUP = re.compile(
    rf"(?<![\w$.,-])({_GROUP_SIZE})\s+"
    r"((?:(?!(?:with|of|in|on|for|from|to|at|by|and|or|that|which)\b)[\w\u00b0-]+,?\s+){1,3}?)"
    r"([a-z]+s)\b(?!\s+(?:of|per)\b)",
    re.IGNORECASE,
)
# a count of nothing but a plural noun, after what it counts as the clause's topic
# ("Espresso, three variants, all available", "In black: four versions")
_TOPIC = re.compile(
    r"^\W*(?:(?:in|of|for)\s+)?((?:[\w\u00b0-]+\s+){0,2}[\w\u00b0-]+)\s*[,:]\s+"
    rf"(?P<count>{_GROUP_SIZE})\s+(?P<noun>[a-z]+s)\b(?!\s+(?:of|per)\b)",
    re.IGNORECASE,
)
# "plastic-framed", "battery-powered": a value said as the first part of a compound
_COMPOUND_TAIL = re.compile(r"(?<=[a-z0-9])-(?:framed|powered|based|made|sized|colou?red)\b")
# a line's label ("Women:", "In black:"), when it is a few words before a colon
_HEADING = re.compile(r"^\W*(?:in\s+|for\s+)?((?:[\w\u00b0-]+\s+){0,2}[\w\u00b0-]+)\s*:", re.I)
# "the other three 5K versions": the group leaves out the one named before it
_OTHER = re.compile(r"\bother\s+$", re.IGNORECASE)
# how many of the group are (or are not) in stock: "two of the four …", "…, two are available",
# "…, two available", "…, one you can order", "…, three of which …", "only the one with …"
_PART_BEFORE = re.compile(rf"(?<![\w$.,-])({_NUMBER})\s+of\s+(?:the|your|its)\s+$", re.I)
_PART_AFTER = re.compile(
    rf"^[,:;]?\s*(?:and\s+)?(?:only\s+)?({_NUMBER})(?:\s+of\s+(?:them|which|those|these))?"
    # an aside may stand before what is said of them ("12 of them, two-thirds, can be …")
    rf"(?=(?:\s*,[^,;()]{{1,30}},)?\s+(?:are|is|you|we|can|remains?|{STOCK_WORDS})\b)|"
    r"^[,:;]?\s*only\s+(?:the\s+)?(one)\b",
    re.IGNORECASE,
)


def check_value_counts(
    clause: str, views: Sequence[RecordView], label: str = ""
) -> list[FieldFinding]:
    """Each count the clause gives of the like objects holding the values beside it, and of
    how many of them are in stock."""
    out: list[FieldFinding] = []
    groups = [(m, m.group(1), m.group(2), m.span()) for m in _GROUP.finditer(clause)]
    topic = _TOPIC.match(clause)
    if topic is not None:
        span = (topic.start("count"), topic.end("noun"))
        groups.append((topic, topic.group("count"), topic.group(1), span))
    own_label, label_end = line_label(clause)
    scope = _OPENING_SET.match(clause)
    out.extend(_value_parts(clause, views))
    for found, count, described, (start, end) in groups:
        # the phrase runs from the group's start (a topic's included) to its noun
        describing = _COMPOUND_TAIL.sub("", described)
        said_count = _number(count)
        for v in views:
            for siblings in like_groups(v.record, v.facts):
                if len(siblings) < 2 or any(
                    "name" in s[1] and mentions_value(clause, s[1]["name"]) for s in siblings
                ):
                    continue  # named objects are counted by name (`record_counts`)
                if found is topic and _a_value(clause[start:end], siblings):
                    continue  # "black, 2 cups, timer": a capacity, not a count
                said = values_said(key_tails(describing, siblings), siblings)
                if not said:
                    continue  # no value of theirs: the number counts something else
                # "Women: two woody ones": the line's label narrows what it counts
                named = own_label if own_label and label_end <= start else label
                more = (values_said(named, siblings) or {}) if named else {}
                # "of the five fleece beds, only the two grey ones …": so does the set the
                # clause opens with, for the counts after it
                if scope is not None and scope.end() <= start:
                    more = {**(values_said(scope.group(1), siblings) or {}), **more}
                if all(said.get(k, m) == m for k, m in more.items()):
                    said = {**more, **said}
                holding = [s for s in siblings if holds_values(s[1], said)]
                parent = siblings[0][0].rsplit(".", 1)[0]
                values = ", ".join(said.values())
                counts = {len(holding)}
                if _OTHER.search(clause[:start]):
                    counts = {len(holding) - 1}
                out.append(
                    _finding(
                        f"{v.evidence_id}:{parent}",
                        clause[found.start() : end].strip(),
                        said_count,
                        counts,
                        f"{len(holding)} of {parent} are {values}",
                    )
                )
                part = _in_stock(clause, start, end, holding)
                if part is not None:
                    out.append(
                        _finding(
                            f"{v.evidence_id}:{parent}",
                            part[0],
                            part[1],
                            {part[2]},
                            f"{part[2]} of the {values} ones are {part[3]}",
                        )
                    )
    return out


def _value_parts(clause: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """Counts said after a value ("robotic 4 of 5, upright 2 of 4"): how many objects hold
    the value, and how many of them are in stock or out of it (the one the clause says, else
    either)."""
    if " of " not in clause:
        return []  # every such count says "N of M"
    # (a value, how many of its ones, of how many, the phrase): "robotic 4 of 5", and each of
    # "beige and brown each have 3 of 5"
    found = [
        (m.group("label"), m.group("part"), m.group("whole"), m.group(0))
        for m in islice(_VALUE_PART.finditer(clause), _MOST_VALUE_PARTS)
        if m.group("label").lower() not in ("have", "has", "each")
    ]
    for m in islice(_EACH_PART.finditer(clause), _MOST_VALUE_PARTS):
        for label in _AND.split(m.group("labels")):
            found.append((label, m.group("part"), m.group("whole"), m.group(0)))
    if not found:
        return []
    wanted = None if not (IN_STOCK.search(clause) or CAN_BUY.search(clause)) else True
    if OUT_OF_STOCK.search(clause):
        wanted = False
    if wanted is not None and negated(clause):  # "4 of 5 can't be ordered"
        wanted = not wanted
    out: list[FieldFinding] = []
    for label, part_said, whole_said, phrase in found[:_MOST_VALUE_PARTS]:
        for v in views:
            for siblings in like_groups(v.record, v.facts):
                said = values_said(label, siblings) if len(siblings) >= 2 else {}
                if not said:
                    continue
                holding = [s for s in siblings if holds_values(s[1], said)]
                flags = [obj.get("available") for _, _, obj in holding]
                parent = siblings[0][0].rsplit(".", 1)[0]
                where, values = f"{v.evidence_id}:{parent}", ", ".join(said.values())
                whole, part = _number(whole_said), _number(part_said)
                why = f"{len(holding)} of {parent} are {values}"
                out.append(_finding(where, phrase, whole, {len(holding)}, why))
                if not all(isinstance(f, bool) for f in flags):
                    continue
                up = sum(1 for f in flags if f)
                shown = (
                    {up, len(flags) - up} if wanted is None else {up if wanted else len(flags) - up}
                )
                why = f"of the {values} ones {up} are available and {len(flags) - up} are not"
                out.append(_finding(where, phrase, part, shown, why))
    return out


def check_whole_list_in_stock(clause: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """How many of a whole list a sentence says are in stock, after counting the list by a
    word for its members ("sixteen variants and twelve of them can be ordered", "13 variants,
    and 9 of them are available"), where the count is the length of one list of like objects.
    A line that is a label's ("Blue: 3 of 5") counts the label's ones instead."""
    if line_label(clause)[0]:
        return []
    out: list[FieldFinding] = []
    for found in _WHOLE_LIST.finditer(clause):
        size = _number(found.group(1))
        for v in views:
            for siblings in like_groups(v.record, v.facts):
                if len(siblings) != size:
                    continue
                # what is said of them runs from the part said after them to the next stop
                # or contrast ("…, six of which you can order; the two that are unavailable")
                # past what they are of ("eight versions of this camera; four of them …")
                of = _WHOLE_OF.match(clause, found.end())
                tail = of.end() if of is not None else found.end()
                after = _PART_AFTER.search(clause[tail:])
                # or the part said before them: "seven of the nine variants are available"
                before = _PART_BEFORE.search(clause[: found.start()])
                if after is not None:
                    stop = _PART_END.search(clause, tail + after.end())
                    begin = found.start()
                elif before is not None:
                    stop = _PART_END.search(clause, found.end())
                    begin = before.start()
                else:
                    continue
                said = clause[begin : stop.start() if stop else len(clause)]
                part = _in_stock(said, found.start() - begin, tail - begin, siblings)
                if part is not None:
                    parent = siblings[0][0].rsplit(".", 1)[0]
                    why = f"{part[2]} of {parent} are {part[3]}"
                    out.append(
                        _finding(f"{v.evidence_id}:{parent}", part[0], part[1], {part[2]}, why)
                    )
    return out


# what a count of the whole list is of, or that it is all of them ("… of this camera", "… in
# all"), before the part said of them
_WHOLE_OF = re.compile(
    r"\s+(?:(?:of|for)\s+(?:this|the|that|your|its)(?:\s+[\w-]+){1,2}?(?=\s*[,:;])"
    r"|in\s+(?:total|all)|altogether)",
    re.IGNORECASE,
)


def line_label(text: str) -> tuple[str, int]:
    """A line's label ("Women" of "Women: two woody ones …") and where it ends; ("", 0) for
    none."""
    found = _HEADING.match(text)
    return (found.group(1), found.end()) if found is not None else ("", 0)


def _in_stock(
    clause: str, start: int, end: int, holding: Sequence[Sibling]
) -> tuple[str, int, int, str] | None:
    """How many of the group (said from `start` to `end`) the clause says are in stock (or
    not), and how many are: the phrase, the number said, the number held and the state."""
    before = _PART_BEFORE.search(clause[:start])
    after = _PART_AFTER.search(clause[end:])
    if before is not None:
        phrase, number = before.group(0).strip(), before.group(1)
    elif after is not None:
        phrase, number = after.group(0).strip(" ,:;"), after.group(1) or after.group(2)
    else:
        return None
    if OUT_OF_STOCK.search(clause):
        wanted = False
    elif IN_STOCK.search(clause) or CAN_BUY.search(clause):
        wanted = True
    else:
        return None  # "of the eight glass ones, five are": the state is said elsewhere
    if negated(clause):  # "two are not available" counts those out of stock
        wanted = not wanted
    state = "available" if wanted else "unavailable"
    flags = [obj.get("available") for _, _, obj in holding]
    if not all(isinstance(f, bool) for f in flags):
        return None
    return phrase, _number(number), sum(1 for f in flags if f is wanted), state


def _a_value(phrase: str, siblings: Sequence[Sibling]) -> bool:
    """Whether the phrase is a value one of the objects holds ("2 cups")."""
    return any(x.lower() == phrase.lower() for s in siblings for x in s[1].values())


def _number(word: str) -> int:
    return int(word) if word.isdecimal() else _NUMBERS[word.lower()]


def _finding(where: str, phrase: str, said: int, held: set[int], why: str) -> FieldFinding:
    ok = said in held
    return FieldFinding(
        where,
        "count",
        SUPPORTED if ok else CONTRADICTED,
        phrase,
        said,
        () if ok else (f"{why}, not {said}",),
    )


# "Charcoal: all three orderable", "Green: five variants, two orderable", "White: all six can
# be ordered": a line whose label is a value, counting the objects holding it and how many of
# them are in stock
_LABEL_LINE = re.compile(
    r"^\W*(?P<label>(?:[\w\u00b0-]+\s+){0,2}[\w\u00b0-]+)\s*:\s*(?:(?P<all>all|both)\s+)?"
    rf"(?:(?:only|just)\s+)?(?P<first>{_NUMBER})(?:\s+of\s+(?:the\s+)?(?P<whole>{_NUMBER}))?"
    r"(?:\s+(?:variants|versions|models|options|ones|kinds))?"
    rf"(?:\s*,\s*(?:(?:only|just)\s+)?(?P<second>{_NUMBER}))?\s*"
    r"(?P<stock>orderable|available|in\s+stock|can\s+be\s+ordered|sold\s+out|unavailable|"
    # a closing aside names the ones it counts: "(25ft vinyl at $97.35, 25ft latex at $99.51)"
    r"out\s+of\s+stock)?(?:\s*\([^()]*\))?\W*$",
    re.IGNORECASE,
)


def check_label_counts(text: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """A labelled line counting the objects that hold its label's value: how many hold it
    ("Green: five variants"), and how many of those are in stock when it says so ("…, two
    orderable", "Charcoal: all three orderable")."""
    found = _LABEL_LINE.match(text)
    if found is None:
        return []
    first, whole, second = (found.group(g) for g in ("first", "whole", "second"))
    stock = found.group("stock")
    # (the group's size, how many of it are in stock or out of it), each said or not
    size = _number(whole) if whole else _number(first) if (found.group("all") or second) else None
    part = _number(second) if second else _number(first) if stock and not whole else None
    if whole and stock:
        part = _number(first)
    out: list[FieldFinding] = []
    for v in views:
        for siblings in like_groups(v.record, v.facts):
            said = values_said(found.group("label"), siblings) if len(siblings) >= 2 else {}
            if not said:
                continue
            holding = [s for s in siblings if holds_values(s[1], said)]
            parent = siblings[0][0].rsplit(".", 1)[0]
            values = ", ".join(said.values())
            if size is not None:
                why = f"{len(holding)} of {parent} are {values}"
                out.append(_finding(f"{v.evidence_id}:{parent}", text, size, {len(holding)}, why))
            flags = [obj.get("available") for _, _, obj in holding]
            if part is not None and stock and all(isinstance(f, bool) for f in flags):
                wanted = OUT_OF_STOCK.search(stock) is None
                held = sum(1 for f in flags if f is wanted)
                state = "available" if wanted else "unavailable"
                why = f"{held} of the {values} ones are {state}"
                out.append(_finding(f"{v.evidence_id}:{parent}", text, part, {held}, why))
            elif whole and not stock and all(isinstance(f, bool) for f in flags):
                # "Blue: 3 of 5" with no stock word (the line before may have had it): a part
                # of the group is how many are in stock, or out of it; any other is neither
                up = sum(1 for f in flags if f)
                why = f"of the {values} ones {up} are available and {len(flags) - up} are not"
                shown = {up, len(flags) - up}
                out.append(_finding(f"{v.evidence_id}:{parent}", text, _number(first), shown, why))
    return out
