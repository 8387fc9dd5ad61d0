"""The release repository: immutable bundles by id, and labels that move between them.

Creating a release and moving a label are control-plane actions: each appends an audit event
(with its operator) in the same transaction as the change, so neither exists without the other.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tether.access.audit import AuditEvent, AuditLog
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.release.bundle import ID_PREFIX, Bundle, release_id
from tether.store.release_schema import release_evaluations, release_labels, releases

log = logging.getLogger(__name__)

GATE_SUITE = "gate"  # the evaluation suite a release must pass to take a label

PRODUCTION = "production"
LABEL_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Release:
    """A stored release: its bundle and where it came from."""

    id: str
    digest: str
    created_at: float
    created_by: str
    note: str
    bundle: Bundle
    labels: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        content = self.bundle.content
        return {
            "id": self.id,
            "digest": self.digest,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "note": self.note,
            "labels": list(self.labels),
            "domain": content["domain"],
            "agents": [a["name"] for a in content["agents"]],
            "model": content["model"],
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "bundle": dict(self.bundle.content)}


@dataclass(frozen=True)
class LabelMove:
    label: str
    release_id: str
    previous: str | None
    moved_at: float
    moved_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "release": self.release_id,
            "previous": self.previous,
            "moved_at": self.moved_at,
            "moved_by": self.moved_by,
        }


def check_label(label: str) -> str:
    """The label if it is a lowercase name; RELEASE_LABEL_INVALID otherwise. A label never starts
    with the id prefix `rel_`: a reference starting with it is read as an id everywhere."""
    if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
        raise TetherError(
            ErrorCode.RELEASE_LABEL_INVALID,
            f"label {label!r} must start with a lowercase letter and hold only a-z, 0-9, "
            "'-' or '_' (at most 64 characters), e.g. production or candidate",
        )
    if label.startswith(ID_PREFIX):
        raise TetherError(
            ErrorCode.RELEASE_LABEL_INVALID,
            f"label {label!r} starts with {ID_PREFIX!r}, which marks a release id: it could "
            "never be used where an id can",
        )
    return label


class ReleaseStore:
    """Stores releases and labels in the system of record, auditing every change."""

    def __init__(self, engine: Engine, audit: AuditLog, clock: Clock | None = None) -> None:
        self.engine = engine
        self.audit = audit
        self.clock = clock or SystemClock()

    def create(self, bundle: Bundle, actor: str, note: str = "") -> tuple[Release, bool]:
        """Store `bundle` (audited) and return it with True; a bundle already stored is
        returned as it is, with False, and nothing is written (same content, same release)."""
        note = " ".join(note.split())[:MAX_NOTE_CHARS]
        rid, digest = bundle.id, bundle.digest
        with begin(self.engine) as conn:
            self.audit.lock(conn)  # creators of one bundle take turns: one row, one event
            row = conn.execute(select(releases).where(releases.c.id == rid)).mappings().first()
            if row is not None:
                if row["digest"] != digest:  # 64 bits of sha256 collide: refuse, never merge
                    raise TetherError(
                        ErrorCode.CONFLICT, f"release id {rid} is taken by other content"
                    )
                found = _stored_bundle(row["bundle"])
                if found is None or found[1] != digest:  # damaged: this content mends it
                    conn.execute(
                        update(releases).where(releases.c.id == rid).values(bundle=bundle.to_json())
                    )
                    # what was there: the digest it hashed to, as evidence of the change
                    was = "unreadable" if found is None else found[1]
                    data = {"release": rid, "digest": digest, "found": was}
                    self.audit.append_in(conn, [AuditEvent("release.repaired", actor, data)])
                stored = {**row, "bundle": bundle.to_json()}
                return self._release(stored, self._labels_of(conn, rid)), False
            values = {
                "id": rid,
                "digest": digest,
                "created_at": self.clock.now(),
                "created_by": actor,
                "note": note,
                "bundle": bundle.to_json(),
            }
            conn.execute(insert(releases).values(values))
            data = {"release": rid, "digest": digest, "note": note}
            self.audit.append_in(conn, [AuditEvent("release.created", actor, data)])
        return self._release(values, ()), True

    def get(self, ref: str) -> Release:
        """A release by id, or by a label that points at it; RELEASE_NOT_FOUND otherwise, and
        RELEASE_TAMPERED when its stored content no longer hashes to its id."""
        with connect(self.engine) as conn:
            rid = ref if ref.startswith(ID_PREFIX) else self._label_target(conn, ref)
            row = None
            if rid is not None:
                row = conn.execute(select(releases).where(releases.c.id == rid)).mappings().first()
            if row is None:
                raise TetherError(
                    ErrorCode.RELEASE_NOT_FOUND,
                    f"no release or label {ref!r} (see `tether release list`)",
                )
            return self._release(row, self._labels_of(conn, row["id"]))

    def list_releases(self, limit: int = 100) -> list[Release]:
        """Releases, newest first, with their labels; a release changed in the store is left
        out (logged as RELEASE_TAMPERED)."""
        query = select(releases).order_by(releases.c.created_at.desc(), releases.c.id).limit(limit)
        with connect(self.engine) as conn:
            rows = conn.execute(query).mappings().all()
            labels = self.labels(conn)
        by_release: dict[str, list[str]] = {}
        for label, rid in sorted(labels.items()):
            by_release.setdefault(rid, []).append(label)
        listed = []
        for row in rows:
            try:
                listed.append(self._release(row, tuple(by_release.get(row["id"], ()))))
            except TetherError as exc:  # one altered row hides itself, never the others
                log.warning("%s: %s", exc.code, exc.message)
        return listed

    def labels(self, conn: Any = None) -> dict[str, str]:
        """label -> release id."""
        if conn is None:
            with connect(self.engine) as own:
                return self.labels(own)
        rows = conn.execute(select(release_labels.c.label, release_labels.c.release_id))
        return {r.label: r.release_id for r in rows}

    def target(self, label: str) -> str | None:
        """The release id `label` points at, or None."""
        with connect(self.engine) as conn:
            return self._label_target(conn, label)

    def move_label(
        self, label: str, ref: str, actor: str, override: str | None = None
    ) -> LabelMove:
        """Point `label` at the release `ref` names (an id or another label); audited with the
        release it pointed at before. Moving a label onto the release it holds records nothing.
        A release whose latest evaluation suite (`gate`) failed takes no label (RELEASE_GATE_FAILED)
        unless `override` gives the reason an operator overrides it (audited)."""
        check_label(label)
        target = self.get(ref).id
        with begin(self.engine) as conn:
            return self.move_label_in(conn, label, target, actor, override)

    def move_label_in(
        self,
        conn: Any,
        label: str,
        target: str,
        actor: str,
        override: str | None = None,
        only_from: str | None = None,
    ) -> LabelMove:
        """`move_label` inside the caller's transaction (the label moves or stays with it);
        `target` is a release id. With `only_from`, the label moves only from that release
        (CONFLICT when someone moved it elsewhere meanwhile)."""
        now = self.clock.now()
        self.audit.lock(conn)  # two moves of one label are ordered in the chain as in the table
        self.verify_in(conn, target)
        previous = self._label_target(conn, label)
        if only_from is not None and previous not in (only_from, target):
            raise TetherError(
                ErrorCode.CONFLICT,
                f"{label} was moved from {only_from} to {previous} meanwhile: it is not moved "
                f"to {target} over a release nobody compared it with",
            )
        if previous == target:
            row = conn.execute(
                select(release_labels).where(release_labels.c.label == label)
            ).mappings().one()  # fmt: skip
            return LabelMove(label, target, previous, row["moved_at"], row["moved_by"])
        failed = failed_gate(conn, target)
        if failed is not None and not (override and override.strip()):
            raise TetherError(
                ErrorCode.RELEASE_GATE_FAILED,
                f"release {target} failed its evaluation suite ({failed}); an operator may "
                "override the gate with a reason",
            )
        values = {"release_id": target, "moved_at": now, "moved_by": actor}
        if previous is None:
            conn.execute(insert(release_labels).values(label=label, **values))
        else:
            conn.execute(
                update(release_labels).where(release_labels.c.label == label).values(values)
            )
        data = {"label": label, "release": target, "previous": previous}
        events = [AuditEvent("release.label_moved", actor, data)]
        if failed is not None:
            why = {"label": label, "release": target, "gate": failed, "reason": override}
            events.append(AuditEvent("release.gate_overridden", actor, why))
        self.audit.append_in(conn, events)
        return LabelMove(label, target, previous, now, actor)

    def verify_in(self, conn: Any, target: str) -> None:
        """RELEASE_NOT_FOUND unless the release id `target` is stored, and RELEASE_TAMPERED
        unless its stored content still hashes to it: a label (or a larger share of traffic)
        never goes to a release that could not be served."""
        row = conn.execute(select(releases).where(releases.c.id == target)).mappings().first()
        if row is None:  # a label never points at nothing (a rollout's candidate row lost, say)
            raise TetherError(
                ErrorCode.RELEASE_NOT_FOUND, f"no release {target!r} (see `tether release list`)"
            )
        self._release(row, ())

    @staticmethod
    def _label_target(conn: Any, label: str) -> str | None:
        query = select(release_labels.c.release_id).where(release_labels.c.label == label)
        value = conn.execute(query).scalar()
        return None if value is None else str(value)

    @staticmethod
    def _labels_of(conn: Any, rid: str) -> tuple[str, ...]:
        query = select(release_labels.c.label).where(release_labels.c.release_id == rid)
        return tuple(sorted(r.label for r in conn.execute(query)))

    @staticmethod
    def _release(row: Any, labels: tuple[str, ...]) -> Release:
        """The release a stored row holds; RELEASE_TAMPERED unless its bundle still hashes to
        its digest and id (a row edited in the store is never served under the id)."""
        stored = _stored_bundle(row["bundle"])
        if stored is None or stored[1] != row["digest"] or release_id(row["digest"]) != row["id"]:
            raise TetherError(
                ErrorCode.RELEASE_TAMPERED,
                f"release {row['id']} was changed in the store: its content no longer hashes to "
                "its id, so it is not served (restore the row, or create the release again)",
            )
        return Release(
            id=row["id"],
            digest=row["digest"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            note=row["note"],
            bundle=stored[0],
            labels=labels,
        )


def _stored_bundle(text: str) -> tuple[Bundle, str] | None:
    """The bundle a stored row holds, and the digest its content hashes to; None when it is no
    longer one (not whole JSON, cut short by a partial restore or a disk error, or JSON no
    bundle holds or that cannot be hashed)."""
    try:
        bundle = Bundle(json.loads(text))
        return bundle, bundle.digest
    except (TypeError, ValueError, RecursionError):
        return None


def failed_gate(conn: Any, release: str) -> str | None:
    """Why `release` fails its evaluation suite, judged check by check: each check stands as the
    newest evaluation that ran it left it (failed, or regressed against production), so a later
    suite that left a failing check out does not clear it. None when every check stands passed,
    or the suite never ran."""
    t = release_evaluations
    rows = conn.execute(
        select(t.c.results)
        .where(t.c.release_id == release, t.c.suite == GATE_SUITE)
        .order_by(t.c.at.desc(), t.c.id.desc())
    ).all()
    standing: dict[str, str | None] = {}  # check -> why it fails (None: passed)
    for row in rows:
        results = json.loads(row.results)
        regressions = [str(r) for r in results.get("regressions") or ()]
        for name, check in (results.get("checks") or {}).items():
            if name in standing:
                continue  # a newer evaluation ran it
            regressed = [r for r in regressions if r.startswith(f"{name}:")]
            failed = [f"{name} failed"] if not check.get("passed") else []
            standing[name] = "; ".join([*failed, *regressed]) or None
    said = [why for why in standing.values() if why]
    return "; ".join(said) if said else None
