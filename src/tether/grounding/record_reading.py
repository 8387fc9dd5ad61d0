"""What is read of a record whatever the claim, shared by every evidence set that holds a record
read from the same JSON text: its leaves, its JSON size, its depth, its short fields, its groups
of like objects, its yes/no options and its field meanings. Evidence does not change once
recorded, and one answer after another is checked against the same tool outputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property, lru_cache
from typing import Any

from tether.grounding.bindings import like_groups
from tether.grounding.facts import Fact, ValueFields, leaves, value_fields
from tether.grounding.fields import FieldMap, FieldSpec, RecordView, meanings
from tether.grounding.list_objects import Sibling
from tether.grounding.option_flags import OptionFlag, option_flags

SHARED_TEXTS = 128  # JSON texts whose reading is kept for the next set that holds them


class RecordReading:
    """What is read of one JSON text's record whatever the claim. It parses its own copy,
    which no set sees; what it gives out is only read."""

    def __init__(self, raw: str) -> None:
        self._raw = raw
        # how deep the text's JSON nests, as the first set to read it measured its own copy
        self.depth: int | None = None
        self._flags: dict[str, tuple[OptionFlag, ...]] = {}
        # (tool, id of the field maps) -> (those maps, the record's specs, ids and noun)
        self._meanings: dict[
            tuple[str, int],
            tuple[Sequence[FieldMap], tuple[tuple[FieldSpec, ...], tuple[str, ...], str]],
        ] = {}
        self._words: dict[tuple[str, int], tuple[Sequence[FieldMap], frozenset[str]]] = {}

    @cached_property
    def _record(self) -> Any:
        return json.loads(self._raw)

    @cached_property
    def facts(self) -> tuple[Fact, ...]:
        return tuple(leaves(self._record))

    @cached_property
    def chars(self) -> int:
        return len(json.dumps(self._record, default=str))

    @cached_property
    def fields(self) -> ValueFields:
        return value_fields(self.facts)

    @cached_property
    def groups(self) -> list[list[Sibling]]:
        return like_groups(self._record, self.facts)

    def view(
        self, evidence_id: str, record: Mapping[str, Any], maps: Sequence[FieldMap], tool: str
    ) -> RecordView:
        """`view` of a set's own record read from this text: its field meanings are the same
        for every such record, read through the same maps."""
        kept = self._meanings.get((tool, id(maps)))
        if kept is None or kept[0] is not maps:
            if len(self._meanings) > 8:
                self._meanings.clear()
            kept = (maps, meanings(record, maps, tool, self.facts))
            self._meanings[(tool, id(maps))] = kept
        specs, ids, noun = kept[1]
        out = RecordView(evidence_id, record, specs, ids, noun)
        out.__dict__["facts"] = self.facts
        return out

    def field_words(self, maps: Sequence[FieldMap], tool: str) -> frozenset[str]:
        """`field_words` of the record read through `maps`, the same for every set."""
        kept = self._words.get((tool, id(maps)))
        if kept is None or kept[0] is not maps:
            if len(self._words) > 8:
                self._words.clear()
            kept = (maps, field_words(self.view("", self._record, maps, tool)))
            self._words[(tool, id(maps))] = kept
        return kept[1]

    def option_flags(self, evidence_id: str) -> tuple[OptionFlag, ...]:
        found = self._flags.get(evidence_id)
        if found is None:
            found = tuple(option_flags({evidence_id: self._record}, lambda _: self.facts))
            self._flags[evidence_id] = found
        return found


@lru_cache(maxsize=SHARED_TEXTS)
def read_json(raw: str) -> RecordReading:
    """The shared reading of one JSON text (read only as far as its sets ask)."""
    return RecordReading(raw)


def field_words(v: RecordView) -> frozenset[str]:
    """The words a domain's field map gives the fields `v` holds something in ("shipment" of
    an order's fulfilments), lower case as the pack writes them: words the evidence uses, as
    its keys are."""
    found: set[str] = set()
    for spec in v.fields:
        if spec.words and any(_holds(value) for _, value in v.values(spec)):
            found.update(w.lower() for phrase in spec.words for w in phrase.split())
    return frozenset(found)


def _holds(value: Any) -> bool:
    """Whether a field's value holds something: not null, not empty."""
    return (
        value is not None and value != "" and not (isinstance(value, list | Mapping) and not value)
    )
