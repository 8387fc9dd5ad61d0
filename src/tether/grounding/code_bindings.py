"""Short codes bound to the wrong object of a list: "Visa ending 5715" where the account's
Visa ends in 6367 and its Mastercard in 5715. Each part of a clause (cut at commas,
semicolons, "and" and line breaks) that says a code of digits one object holds and a value
only another object holds pins the code on the wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.bindings import like_groups
from tether.grounding.facts import CONTRADICTED
from tether.grounding.fields import FieldFinding, RecordView
from tether.grounding.list_objects import Sibling, mentions_value

_PART = re.compile(r"[,;\n\u2022]|\band\b", re.IGNORECASE)
_CODE = re.compile(r"(?<![\w.,$-])\d{3,6}(?![\w.,-]\d|\w)")


def check_code_bindings(text: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """A code of digits said beside a value that picks out another object than its own."""
    if _CODE.search(text) is None:
        return []
    parts = _PART.split(text)
    out: list[FieldFinding] = []
    for v in views:
        for siblings in like_groups(v.record, v.facts):
            if len(siblings) < 2:
                continue
            codes = _codes(siblings)
            if not codes:
                continue
            held: dict[str, int] = {}  # how many objects hold each value
            for s in siblings:
                for x in {x.lower() for x in s[1].values()}:
                    held[x] = held.get(x, 0) + 1
            for part in parts:
                out.extend(_part(part, v, siblings, codes, held))
    return out


def _codes(siblings: Sequence[Sibling]) -> dict[str, tuple[Sibling, str]]:
    """Each code of digits one object alone holds, with the object and the key holding it."""
    seen: dict[str, list[tuple[Sibling, str]]] = {}
    for s in siblings:
        for key, value in s[2].items():
            if isinstance(value, str) and value.isdigit() and 3 <= len(value) <= 6:
                seen.setdefault(value, []).append((s, key))
    return {code: held[0] for code, held in seen.items() if len(held) == 1}


def _part(
    part: str,
    v: RecordView,
    siblings: Sequence[Sibling],
    codes: dict[str, tuple[Sibling, str]],
    held: dict[str, int],
) -> list[FieldFinding]:
    said = [m.group(0) for m in _CODE.finditer(part) if m.group(0) in codes]
    if len(said) != 1:
        return []
    owner, key = codes[said[0]]
    # the objects a value only they hold picks out ("visa" of one card of several)
    picked = {
        s[0]
        for s in siblings
        for x in s[1].values()
        if len(x) > 2 and held[x.lower()] == 1 and mentions_value(part, x.replace("_", " "))
    }
    if len(picked) != 1 or owner[0] in picked:
        return []
    other = next(iter(picked))
    why = f"{owner[0]}.{key} is {said[0]}, not {other}'s"
    return [
        FieldFinding(f"{v.evidence_id}:{other}", "binding", CONTRADICTED, part, said[0], (why,))
    ]
