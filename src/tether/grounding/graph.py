"""The knowledge graph: entities and relations, the entity API checks read, and query expansion.

An `Entity` is a record with an id (`kind:key`), the principal who owns it (None: public) and
its attributes; a `Relation` links two entity ids and says what stated it. `EntityGraph` is the
read API the retriever and, later, policies use; `StoredGraph` reads the graph an ingest job
materialised in the system of record. Query expansion finds entity ids in a query and turns the
entity and its neighbours into evidence, only those the principal may see.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Evidence, Principal
from tether.store.db import starts_with
from tether.store.grounding_schema import entities, relations

PUBLIC_LABEL = "public"
PRINCIPAL_PREFIX = "principal:"


@dataclass(frozen=True)
class EntityPattern:
    """How a domain's entity ids appear in text: a regular expression whose first group is
    the key, and the kinds the key may be (`kind:prefix+key` each; the graph decides which
    exists). E.g. `EntityPattern(r"#?(W\\d{7})\\b", ("order",), prefix="#")`."""

    pattern: str
    kinds: tuple[str, ...]
    prefix: str = ""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"entity pattern {self.pattern!r}: {exc}"
            ) from None
        if compiled.groups < 1 or not self.kinds:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"entity pattern {self.pattern!r} needs a group for the key and at least one kind",
            )
        object.__setattr__(self, "_compiled", compiled)

    def find(self, text: str) -> list[tuple[int, str]]:
        """(position, entity id) for every match in `text`."""
        return [
            (m.start(), f"{kind}:{self.prefix}{m.group(1)}")
            for m in self._compiled.finditer(text)
            for kind in self.kinds
        ]


@dataclass(frozen=True)
class EntityIds:
    """A domain's entity ids in text, and what a query about each kind pulls in: `expansion`
    maps a kind to the kinds of its neighbours to follow (one and two hops out)."""

    patterns: tuple[EntityPattern, ...] = ()
    expansion: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def find(self, text: str) -> list[str]:
        """Candidate entity ids named in `text`, in order of appearance, without repeats."""
        found = [hit for pattern in self.patterns for hit in pattern.find(text)]
        found.sort(key=lambda pair: pair[0])
        return list(dict.fromkeys(ident for _, ident in found))


NO_ENTITY_IDS = EntityIds()


def principal_label(principal_id: str) -> str:
    """The ACL label only `principal_id` holds (its own records carry it)."""
    return f"{PRINCIPAL_PREFIX}{principal_id}"


def principal_labels(principal: Principal) -> frozenset[str]:
    """The labels a principal reads with by default: `public`, its roles, and its own label
    (its records and graph entities carry it)."""
    return frozenset({PUBLIC_LABEL, *principal.roles, principal_label(principal.id)})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Entity:
    """One node of the graph: what it is, who owns it, and what the source says about it.

    An entity is a value: nothing changes it once made (a changed record makes a new one), so
    what is derived from it (its version, its evidence text, its labels) is computed once.
    """

    id: str  # kind:key, e.g. "order:#W4566809"
    kind: str
    label: str
    owner: str | None = None  # the principal it belongs to; None for public entities
    attributes: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # the record or document that states it
    # what evidence shows of it, when less than every attribute (e.g. no contact details)
    summary: Mapping[str, Any] | None = None

    @cached_property
    def version(self) -> str:
        """sha256 hex of what the entity says (kind, label, owner, attributes, summary)."""
        body = _dumps([self.kind, self.label, self.owner, self.attributes, self.summary])
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    @cached_property
    def acl(self) -> tuple[str, ...]:
        """The labels that may see it: its owner's, or public."""
        return (principal_label(self.owner),) if self.owner else (PUBLIC_LABEL,)

    def visible_to(self, labels: Collection[str]) -> bool:
        """True when `labels` (a run's clearance) include one of the entity's labels."""
        return any(label in labels for label in self.acl)

    @cached_property
    def _evidence_text(self) -> str:
        """What evidence of it says: its record (or summary) as compact JSON."""
        shown = self.attributes if self.summary is None else self.summary
        record = {"entity": self.id, "kind": self.kind, **shown}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    def to_evidence(self, score: float = 0.0) -> Evidence:
        """The entity as evidence: its record as compact JSON, with its lineage."""
        return Evidence(
            id=f"graph:{self.id}",
            source=self.source,
            text=self._evidence_text,
            version=self.version,
            acl=self.acl,
            score=score,
            title=self.label,
        )

    def to_dict(self) -> dict[str, Any]:
        """The entity as JSON-ready data."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "owner": self.owner,
            "attributes": dict(self.attributes),
            "source": self.source,
            "version": self.version,
        }


@dataclass(frozen=True)
class Relation:
    """A directed edge: `src` --relation--> `dst`, and the record or document stating it."""

    src: str
    relation: str
    dst: str
    source: str = ""

    def to_dict(self) -> dict[str, str]:
        """The relation as JSON-ready data."""
        return {"src": self.src, "relation": self.relation, "dst": self.dst, "source": self.source}


class EntityGraph(Protocol):
    """Read access to entities and relations: the API retrieval and policies use."""

    def entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, or None."""
        ...

    def relations(self, entity_id: str) -> list[Relation]:
        """Every relation with `entity_id` at either end."""
        ...


@runtime_checkable
class RecordGraph(EntityGraph, Protocol):
    """An `EntityGraph` read record by record: the record stating an entity states others too
    (an order its shipments, a user their payment methods), and one read answers for all."""

    def record_of(
        self, entity_id: str
    ) -> tuple[Mapping[str, Entity], Mapping[str, Sequence[Relation]]]:
        """What the record stating `entity_id` states, now: its entities by id, and for each
        id the relations `relations` gives it (in that order). Both are read, never changed."""
        ...


def neighbours(graph: EntityGraph, entity_id: str) -> list[tuple[Relation, Entity]]:
    """The entities one relation away from `entity_id`, with the relation that links them."""
    out: list[tuple[Relation, Entity]] = []
    for relation in graph.relations(entity_id):
        other = relation.dst if relation.src == entity_id else relation.src
        found = graph.entity(other)
        if found is not None:
            out.append((relation, found))
    return out


class _Memo:
    """An `EntityGraph` that answers each question once (for the length of one expansion)."""

    def __init__(self, graph: EntityGraph) -> None:
        self.graph = graph
        self._entities: dict[str, Entity | None] = {}
        self._relations: dict[str, list[Relation]] = {}

    def entity(self, entity_id: str) -> Entity | None:
        if entity_id not in self._entities:
            self._entities[entity_id] = self.graph.entity(entity_id)
        return self._entities[entity_id]

    def relations(self, entity_id: str) -> list[Relation]:
        if entity_id not in self._relations:
            self._relations[entity_id] = self.graph.relations(entity_id)
        return self._relations[entity_id]


_Record = tuple[Mapping[str, Entity], Mapping[str, Sequence[Relation]]]


class _RecordMemo:
    """An `EntityGraph` over a `RecordGraph` that reads each record once (for the length of
    one expansion), for every entity the record states."""

    def __init__(self, record_of: Callable[[str], _Record]) -> None:
        self._record_of = record_of
        self._records: list[_Record] = []  # those read so far, in the order read
        self._answered: dict[str, _Record] = {}  # entity id -> the record that answers for it

    def _record(self, entity_id: str) -> _Record:
        found = self._answered.get(entity_id)
        if found is None:
            # a record read for another entity that states this one answers for it
            found = next((r for r in self._records if entity_id in r[0]), None)
            if found is None:
                found = self._record_of(entity_id)
                self._records.append(found)
            self._answered[entity_id] = found
        return found

    def entity(self, entity_id: str) -> Entity | None:
        return self._record(entity_id)[0].get(entity_id)

    def relations(self, entity_id: str) -> list[Relation]:
        return list(self._record(entity_id)[1].get(entity_id, ()))


class GraphExpander:
    """Turns entity ids in a query into evidence: the entity, then its neighbours by kind.

    Visibility is decided per entity by the run's labels, so a customer who names another
    customer's order gets nothing about it, not even that it exists.
    """

    def __init__(
        self, graph: EntityGraph, *, limit: int = 12, ids: EntityIds = NO_ENTITY_IDS
    ) -> None:
        self.graph = graph
        self.limit = limit
        self.ids = ids
        self._record_of = graph.record_of if isinstance(graph, RecordGraph) else None

    def expand(self, query: str, labels: Collection[str]) -> list[Evidence]:
        """Evidence for the entities `query` names and those they lead to (at most `limit`),
        nearest first: the named entities, then their neighbours, then the neighbours' own."""
        # one expansion reads each record once
        graph = _Memo(self.graph) if self._record_of is None else _RecordMemo(self._record_of)
        picked: dict[str, Entity] = {}
        frontier: list[Entity] = []
        for ident in self.ids.find(query):
            found = graph.entity(ident)
            if found is not None and found.visible_to(labels) and found.id not in picked:
                picked[found.id] = found
                frontier.append(found)
        for _ in range(2):  # two hops: order -> item -> product
            following: list[Entity] = []
            for node in frontier:
                wanted = self.ids.expansion.get(node.kind, ())
                if not wanted:  # nothing of its neighbours could be picked: none is read
                    continue
                for _, other in neighbours(graph, node.id):
                    if len(picked) >= self.limit:
                        break
                    if other.kind in wanted and other.id not in picked and other.visible_to(labels):
                        picked[other.id] = other
                        following.append(other)
            frontier = following
        ranked = list(picked.values())[: self.limit]
        return [e.to_evidence(score=1.0 / (1 + i)) for i, e in enumerate(ranked)]


def _entity_row(row: Any) -> Entity:
    return Entity(
        id=row.id,
        kind=row.kind,
        label=row.label,
        owner=row.owner,
        attributes=json.loads(row.attributes),
        source=row.source,
        summary=json.loads(row.summary) if row.summary is not None else None,
    )


class StoredGraph:
    """The graph ingest jobs materialised in the system of record."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def entity(self, entity_id: str) -> Entity | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(entities).where(entities.c.id == entity_id)).first()
        return None if row is None else _entity_row(row)

    def relations(self, entity_id: str) -> list[Relation]:
        stmt = select(relations).where(
            or_(relations.c.src == entity_id, relations.c.dst == entity_id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(relations.c.src, relations.c.relation)).all()
        return [Relation(r.src, r.relation, r.dst, r.source) for r in rows]

    def owned_by(self, principal_id: str, kind: str | None = None) -> list[Entity]:
        """Every entity the principal owns (optionally of one kind), in id order."""
        stmt = select(entities).where(entities.c.owner == principal_id)
        if kind is not None:
            stmt = stmt.where(entities.c.kind == kind)
        with self.engine.connect() as conn:
            return [_entity_row(r) for r in conn.execute(stmt.order_by(entities.c.id))]

    def count(self) -> tuple[int, int]:
        """(entities, relations) stored."""
        with self.engine.connect() as conn:
            n_entities = conn.execute(select(func.count()).select_from(entities)).scalar_one()
            n_relations = conn.execute(select(func.count()).select_from(relations)).scalar_one()
        return int(n_entities), int(n_relations)


def write_graph(
    conn: Connection,
    source: str,
    found: Sequence[Entity],
    edges: Iterable[Relation],
    job_id: str,
    now: float,
) -> dict[str, int]:
    """Make the stored graph of `source` equal `found` and `edges`, inside the caller's
    transaction: unchanged entities are not written, vanished ones are deleted.

    `source` is a URI prefix: every entity and relation stored under it belongs to this sync.
    """
    stored = {
        row.id: row.version
        for row in conn.execute(
            select(entities.c.id, entities.c.version).where(starts_with(entities.c.source, source))
        )
    }
    added = [e for e in found if e.id not in stored]
    changed = [e for e in found if e.id in stored and stored[e.id] != e.version]
    gone = set(stored) - {e.id for e in found}

    def row(e: Entity) -> dict[str, Any]:
        return {
            "kind": e.kind,
            "label": e.label[:512],
            "owner": e.owner,
            "attributes": _dumps(e.attributes),
            "summary": _dumps(e.summary) if e.summary is not None else None,
            "source": e.source,
            "version": e.version,
            "job_id": job_id,
            "updated_at": now,
        }

    if added:
        conn.execute(insert(entities), [{"id": e.id, **row(e)} for e in added])
    for e in changed:
        conn.execute(update(entities).where(entities.c.id == e.id).values(**row(e)))
    for ident in gone:
        conn.execute(delete(entities).where(entities.c.id == ident))
    conn.execute(delete(relations).where(starts_with(relations.c.source, source)))
    unique = {(r.src, r.relation, r.dst): r for r in edges}
    if unique:
        conn.execute(
            insert(relations),
            [
                {"src": s, "relation": rel, "dst": d, "source": r.source, "job_id": job_id}
                for (s, rel, d), r in unique.items()
            ],
        )
    return {
        "entities_added": len(added),
        "entities_changed": len(changed),
        "entities_removed": len(gone),
        "relations": len(unique),
    }
