"""What a claim clause says of a record, checked field by field: its status (through the order
a record passes through states), counts of its lists (`tether.grounding.record_counts`), what
it says is absent, closed-class members (a payment method) it holds, yes/no flags in the scope
of their mention, sums named by their field, and the values it states. Each finding names the
field that decided it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

from tether.grounding.bound_prices import share_whole
from tether.grounding.claims import STOP_WORDS, content_terms, norm, number_matches, numbers
from tether.grounding.facts import (
    CONTRADICTED,
    SUPPORTED,
    Fact,
    flatten,
    key_words,
    polarity,
    truth,
)
from tether.grounding.fields import (
    AMOUNT_KEY,
    GENERIC_KEY_WORDS,
    MONEY,
    FieldFinding,
    FieldSpec,
    RecordView,
    about,
    mentioned,
    referred,
)
from tether.grounding.meaning import Vocabulary, contrasted_terms, denied_terms, states
from tether.grounding.money_subjects import money_words, said_of_money
from tether.grounding.record_acts import DENIED_MEANS, check_denied_acts
from tether.grounding.record_counts import check_counts
from tether.grounding.variants import availability_said


def check_clause(
    clause: str, views: Sequence[RecordView], vocabulary: Vocabulary, whole: str = ""
) -> list[FieldFinding]:
    """Every field finding of one claim clause against the records it is about."""
    if not views:
        return []
    targets = referred(clause, views, whole)
    findings: list[FieldFinding] = []
    findings.extend(_states(clause, targets, vocabulary))
    if not _labelled_part(clause, whole, targets):
        findings.extend(check_counts(clause, targets, whole))
    findings.extend(_values(clause, targets))
    findings.extend(_amounts(clause, targets))
    findings.extend(check_denied_acts(clause, targets))
    named = [v for v in targets if any(mentioned(whole, clause, i) for i in v.ids)]
    if named or len(views) == 1:
        findings.extend(_classes(clause, named or list(views), vocabulary))
    return findings


_LISTED = re.compile(r"\s*(?:,|,?\s*(?:or|nor|and))\s*", re.IGNORECASE)
# "Green: five variants, two orderable": a label of a few words before the clause's colon
_LABEL = re.compile(r"(?:^|[.;!?\n\u2022-])\s*(?P<label>[^.;:!?\n\u2022]{1,40}):\s*$")


def _labelled_part(clause: str, whole: str, targets: Sequence[RecordView]) -> bool:
    """Whether the clause follows a label that is a value its record's members hold ("Green:
    five variants" counts the green ones, judged by `value_counts.check_label_counts`, not
    the record's variants). Any other label ("Orders: four") leaves the count the record's."""
    at = whole.find(clause)
    found = _LABEL.search(whole, 0, at) if at > 0 else None
    if found is None:
        return False
    label = set(content_terms(found.group("label")))
    return bool(label) and any(
        isinstance(f.value, str) and label <= set(content_terms(f.value))
        for v in targets
        for f in v.facts
    )


_NONE_OF = re.compile(
    r"\bnone\s+of\s+(?:the|your|its|their|these|those)\s+((?:[\w-]+,?\s+){0,5}?)"
    r"(?:ones|variants|versions|models|options|items|kinds)\b",
    re.IGNORECASE,
)


def _none_of(clause: str) -> set[str]:
    """The words describing the ones a "none of the … ones" counts."""
    return {t for m in _NONE_OF.finditer(clause) for t in content_terms(m.group(1))}


_TENSE_OPEN = re.compile(r"\b(?:will|would|can|could|may|might|should|if|once)\b", re.I)
_JOINED_OPEN = re.compile(
    r",?\s+(?:and|but|then)\s+(?:then\s+)?(?:will|would|can|could|may|might|should)\b", re.I
)


def _classes(clause: str, views: Sequence[RecordView], vocab: Vocabulary) -> list[FieldFinding]:
    """A member of a closed class (a payment method, a colour) said of a record that holds
    other members of that class and not this one ("paid by gift card" when it was PayPal)."""
    # "it was paid with your credit card and will ship to …": a verb phrase joined on with its
    # own "will" opens its own tense, not the one said before it
    joined = _JOINED_OPEN.search(clause)
    if joined is not None:
        clause = clause[: joined.start()]
    if _TENSE_OPEN.search(clause):
        return []  # what may or will happen is not what the record holds
    found = [(c, m, a, b) for c, m, a, b in vocab.members(clause) if c not in vocab.states]
    if not found:
        return []
    said = [(c, m) for c, m, _, _ in found]
    # "none of the black or green ones": the values pick out the ones counted, and the
    # record may well hold them; it is what is said of those ones that is denied
    governed = (denied_terms(clause) | contrasted_terms(clause)) - _none_of(clause)
    # "wasn't paid by credit card": a payment denied is denied of the means it names
    governed.update(t for m in DENIED_MEANS.finditer(clause) for t in content_terms(m["means"])[:1])
    # a value denied as the subject of an availability word is out of stock, not absent
    stocked = {m for _, m, _, end in found if availability_said(clause, end)}
    # a member listed right after a denied one shares its negation ("no credit card or PayPal")
    for (_, m, _, end), (_, n, start, _) in pairwise(found):
        first, then = content_terms(m)[:1], content_terms(n)[:1]
        if first and then and first[0] in governed and _LISTED.fullmatch(clause[end:start]):
            governed.add(then[0])
    # a member said right after another of its class names the kind that one is ("sunbrella
    # fabric", "olefin fabric"): class -> member -> the members said just before it
    headed: dict[str, dict[str, set[str]]] = {}
    for (c, n, _, end), (k, m, start, _) in pairwise(found):
        if c == k and not clause[end:start].strip():
            headed.setdefault(c, {}).setdefault(m, set()).add(n)
    out: list[FieldFinding] = []
    for v in views:
        held: dict[str, set[str]] = {}
        where: dict[str, str] = {}
        for fact in v.facts:
            if not isinstance(fact.value, str) or len(fact.value) > 60:
                continue
            # "gift_card" is "gift card"; "over-ear" stays one word, no "over" of the amounts
            spelled = re.sub(r"_+", " ", fact.value)
            for c, m, _, _ in vocab.members(spelled):
                held.setdefault(c, set()).add(m)
                where.setdefault(c, fact.key)
        for c, m in said:
            if m in headed.get(c, set()) and held.get(c, set()) & headed[c].get(m, set()):
                continue  # "sunbrella fabric": the kind a held value is, said after it
            # denied only when a negation governs the word itself ("no gift card", not
            # "the pink one isn't available")
            denied = (
                bool(content_terms(m)[:1]) and content_terms(m)[0] in governed and m not in stocked
            )
            if c in held and denied and m not in held[c]:
                # "no credit card or gift card on file" of an account holding only PayPal: the
                # record lists its members of the class, and this is none of them
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{where[c]}",
                        "swap",
                        SUPPORTED,
                        m,
                        ", ".join(sorted(held[c])),
                        (),
                    )
                )
                continue
            if c in held and (m in held[c]) is denied:
                if denied:
                    out.append(
                        FieldFinding(
                            f"{v.evidence_id}:{where[c]}",
                            "swap",
                            CONTRADICTED,
                            m,
                            m,
                            (f"the record holds {m!r}",),
                        )
                    )
                    continue
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{where[c]}",
                        "swap",
                        CONTRADICTED,
                        m,
                        ", ".join(sorted(held[c])),
                        (f"the record holds {', '.join(sorted(held[c]))}, not {m!r}",),
                    )
                )
    return out


def _states(clause: str, targets: Sequence[RecordView], vocab: Vocabulary) -> list[FieldFinding]:
    mentions = [m for m in states(clause, vocab) if not m.modal and not m.attributive]
    sums = money_words(clause) if mentions else []
    mentions = [m for m in mentions if not (sums and said_of_money(clause, m.start, sums))]
    if not mentions:
        return []
    held: list[tuple[str, str, str]] = []  # (field, canonical state, raw value)
    unknown: list[str] = []  # status fields without a readable state
    only = len(targets) == 1
    for v in targets:
        for spec in v.fields:
            if spec.kind != "status" or not about(clause, v, only, spec, vocab.names):
                continue
            for path, value in v.values(spec):
                if isinstance(value, list | Mapping):
                    # ["pending"] or {"code": "pending"}: the strings it holds
                    texts = [f.value for f in flatten(value) if isinstance(f.value, str)]
                    value = " ".join(texts)
                if not isinstance(value, str):
                    unknown.append(f"{v.evidence_id}:{path}")
                    continue
                found = [m for m in vocab.members(value) if m[0] in vocab.states]
                if found:
                    held.append((f"{v.evidence_id}:{path}", found[0][1], value))
    if not held:
        # a status field that holds no state word (null, a number): the claim cannot be
        # checked against it, and says what the record does not
        return [
            FieldFinding(
                where,
                "status",
                "unsupported",
                clause[m.start : m.end],
                None,
                (f"{where} holds no status to check {m.state!r} against",),
            )
            for where in unknown[:1]
            for m in mentions[:1]
        ]
    out: list[FieldFinding] = []
    # "cancelled and refunded": a clause naming several states holds if one of them does
    asserted = [m for m in mentions if m.asserted]
    some_hold = any(vocab.holds(m.state, h[1]) for m in asserted for h in held)
    every = _EVERY.search(clause) is not None  # "both orders are pending": each must be
    for m in mentions:
        same = [h for h in held if (m.state == h[1] if m.current else vocab.holds(m.state, h[1]))]
        # ("handed to the carrier and still in transit" of a delivered order: what it says the
        # record is in now must hold, whatever else it went through)
        if m.asserted and not same and some_hold and len(asserted) > 1 and not m.current:
            continue
        if every and m.asserted and same and len(same) < len(held):
            lagging = next(h for h in held if h not in same)
            out.append(
                FieldFinding(
                    lagging[0],
                    "status",
                    CONTRADICTED,
                    clause[m.start : m.end],
                    lagging[2],
                    (f"{lagging[0]} is {lagging[2]!r}",),
                )
            )
            continue
        if m.asserted:
            ok = bool(same)
            where = same[0] if same else held[0]
        else:
            ok = not same or len(same) < len(held)
            where = same[0] if same else held[0]
        reason = () if ok else (f"{where[0]} is {where[2]!r}",)
        phrase = clause[m.start : m.end]
        out.append(
            FieldFinding(
                where[0], "status", SUPPORTED if ok else CONTRADICTED, phrase, where[2], reason
            )
        )
    return out


_EVERY = re.compile(r"\b(?:both|all|every|each)\b", re.IGNORECASE)


def _flag_terms(path: str, spec_words: Iterable[str]) -> set[str]:
    last = path.split(".")[-1]
    wanted = [w for w in key_words(last) if w not in STOP_WORDS and w not in GENERIC_KEY_WORDS]
    return {norm(w) for w in (*wanted, *(w for s in spec_words for w in s.split()))}


def _phrase(clause: str, spec: FieldSpec) -> tuple[int, int] | None:
    """Where the clause names the field as a phrase ("take out", "takeout", "take-out" for
    TakeOut; the bare "take" is not it), or by one of the spec's words."""
    lowered = clause.lower()
    for w in spec.words:
        at = lowered.find(w.lower())
        if at >= 0:
            return at, at + len(w)
    parts = [w for w in key_words(spec.path.split(".")[-1]) if w not in GENERIC_KEY_WORDS]
    if not parts:
        return None
    joined = r"[\s-]?".join(
        re.escape(p[:-1] if len(p) > 4 and p.endswith("s") else p) for p in parts
    )
    found = re.search(rf"\b{joined}", lowered)
    return found.span() if found else None


def _denies(clause: str, span: tuple[int, int]) -> bool:
    """Whether the clause denies the flag it names, read in the scope around the mention
    ("no outdoor seating, but takes reservations" denies only the seating)."""
    return polarity(clause, *span)[0]


def check_flags(sentence: str, views: Sequence[RecordView]) -> list[FieldFinding]:
    """The yes/no fields a claim names, each read in the scope of its own mention: a list
    goes on after a comma ("no garage, street or valet parking" denies all three)."""
    return _flags(sentence, referred(sentence, views))


def _flags(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    terms = set(content_terms(clause))
    out: list[FieldFinding] = []
    for v in targets:
        for spec in v.fields:
            if spec.kind != "flag":
                continue
            wanted = _flag_terms(spec.path, spec.words)
            if not wanted or not wanted <= terms or (len(wanted) == 1 and len(min(wanted)) < 4):
                continue
            span = _phrase(clause, spec)
            if span is None:
                continue
            denied = _denies(clause, span)
            for path, value in v.values(spec):
                known = truth(value)
                if known is None:
                    continue
                ok = known is not denied
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{path}",
                        "flag",
                        SUPPORTED if ok else CONTRADICTED,
                        " ".join(sorted(wanted)),
                        value,
                        () if ok else (f"{path} is {value!r}",),
                    )
                )
    return out


# "$760 more than the bed": an amount said as a difference is no field's value
_DIFFERENCE_AFTER = re.compile(
    r"\s+(?:\w+\s+)?(?:more|less|cheaper|dearer|pricier|higher|lower|short|over|under)\b",
    re.IGNORECASE,
)


_SUMMED = re.compile(
    r"\b(?:sum|total|added\s+up|add\s+up|adds\s+up|together|combined|altogether)\b", re.IGNORECASE
)


def _amounts(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """A sum of money said with a field's name ("a balance of $6") against the fields of that
    name: it must be one of their values."""
    said = [
        float((m.group(1) or m.group(2)).replace(",", ""))
        for m in MONEY.finditer(clause)
        if not _DIFFERENCE_AFTER.match(clause, m.end()) and not share_whole(clause, m)
    ]
    if not said:
        return []
    terms = set(content_terms(clause))
    fields: dict[str, list[tuple[str, float]]] = {}
    for v in targets:
        for fact in v.facts:
            value = fact.value
            if not fact.path or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            key = fact.path[-1]
            if not AMOUNT_KEY.search(key):
                continue
            for word in key_words(key):
                if norm(word) in terms:
                    fields.setdefault(word, []).append((f"{v.evidence_id}:{fact.key}", value))
    out: list[FieldFinding] = []
    for word, held in fields.items():
        values = {float(x) for _, x in held}
        if any(number_matches(n, values) for n in said):
            continue
        # "the three prices added up", "the sum of the prices", "the three prices to the cent":
        # their total, said as one
        total = round(sum(float(x) for _, x in held), 2)
        summed = _SUMMED.search(clause) or re.search(rf"\b{re.escape(word)}s\b", clause, re.I)
        if summed and any(number_matches(n, {total}) for n in said):
            continue
        listed = ", ".join(f"{x:g}" for x in sorted(values))
        out.append(
            FieldFinding(
                held[0][0],
                "amount",
                CONTRADICTED,
                word,
                held[0][1],
                (f"the record's {word} is {listed}",),
            )
        )
    return out


# id(facts) -> (the facts, what `_values` compares of them): a record's leaves are shared by
# every set holding it, and so is this reading of them
_CHECKED: dict[int, tuple[tuple[Fact, ...], list[tuple[Fact, int | float, str | None]]]] = {}


def _checked(facts: tuple[Fact, ...]) -> list[tuple[Fact, int | float, str | None]]:
    """The leaves `_values` can find stated: each number, and each string of four characters
    or more that is not all digits, lower-cased (its needle)."""
    kept = _CHECKED.get(id(facts))
    if kept is not None and kept[0] is facts:
        return kept[1]
    out: list[tuple[Fact, int | float, str | None]] = []
    for fact in facts:
        value = fact.value
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            out.append((fact, value, None))
        elif isinstance(value, str) and len(value.strip()) >= 4 and not value.isdigit():
            out.append((fact, 0, value.strip().lower()))
    if len(_CHECKED) > 256:
        _CHECKED.clear()
    _CHECKED[id(facts)] = (facts, out)
    return out


def _values(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """Fields whose value the clause states (a name, an address line, an amount): support
    that names the field which decided it."""
    out: list[FieldFinding] = []
    stated = numbers(clause)
    lowered = clause.lower()
    for v in targets:
        for fact, number, needle in _checked(v.facts):
            value = fact.value
            if needle is not None:
                hit = needle in lowered
            else:
                hit = bool(stated) and any(number_matches(n, {float(number)}) for n in stated)
            if hit:
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{fact.key}", "value", SUPPORTED, str(value), value
                    )
                )
                if len(out) >= 8:
                    return out
    return out
