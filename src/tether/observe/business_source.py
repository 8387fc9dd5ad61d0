"""Business KPIs read from the system of record, per release, over a window.

The window's runs are the ended runs created in it (at most `cap`, the latest), grouped by the
release they executed under; its conversations are those started in it, grouped by the release
they are pinned to. A repeat contact is looked for among the same principals' conversations
started up to the follow-up window after the window's end. Tool risks and the arguments that
name resources come from each run's release (the registry in force for runs recorded without
one). Plain SQLAlchemy Core queries, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from tether.access.canonical import canonical_json
from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError
from tether.observe.business import FOLLOW_UP_S, Conversation, release_report
from tether.observe.metrics import TetherMetrics
from tether.observe.periodic import Throttled, every_seconds
from tether.observe.prices import PriceTable
from tether.observe.run_facts import RunFacts, ToolFacts, run_facts
from tether.store.access_schema import audit_events
from tether.store.conversations_schema import conversation_turns, conversations
from tether.store.grounding_schema import documents
from tether.store.release_schema import releases
from tether.store.schema import runs, steps

log = logging.getLogger("tether.observe.kpi")

FOLLOW_UP_ENV = "TETHER_KPI_FOLLOW_UP"
MAX_FOLLOW_UP_S = 366 * 86_400.0
DEFAULT_CAP = 20_000
BATCH = 500
NO_RELEASE_KEY = ""  # how runs recorded without a release are keyed in a report
RELEASE_PREFIX = "rel_"  # a release id: this prefix and the first 16 hex digits of its digest

T = TypeVar("T")


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def release_tools(bundle: Mapping[str, Any]) -> dict[str, ToolFacts]:
    """Each tool of a release bundle: its risk class and the arguments naming resources."""
    out: dict[str, ToolFacts] = {}
    for spec in bundle.get("tools") or ():
        if isinstance(spec, Mapping) and spec.get("name"):
            resources = spec.get("resources") or {}
            out[str(spec["name"])] = ToolFacts(
                str(spec.get("risk", "read")), {str(k): str(v) for k, v in resources.items()}
            )
    return out


def verified_bundle(rid: str, digest: str, text: str) -> Mapping[str, Any] | None:
    """A stored release's bundle when its content still hashes to its digest and id (the check
    `tether.release.store` makes, which this layer may not import); None when the row is cut
    short, not a bundle, or changed in the store."""
    try:
        content = json.loads(text)
        found = hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(content, dict) or found != digest or rid != RELEASE_PREFIX + found[:16]:
        return None
    return content


def registry_facts(specs: Iterable[Any]) -> dict[str, ToolFacts]:
    """ToolFacts of the tool specs in force (for runs recorded without a release)."""
    return {
        str(s.name): ToolFacts(str(getattr(s.risk, "value", s.risk)), dict(s.resources))
        for s in specs
    }


@dataclass(frozen=True)
class BusinessSettings:
    """The price table and the follow-up window of first-contact resolution."""

    prices: PriceTable = field(default_factory=PriceTable)
    follow_up_s: float = FOLLOW_UP_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BusinessSettings:
        """TETHER_MODEL_PRICES (see `PriceTable.from_env`) and TETHER_KPI_FOLLOW_UP (a
        duration, 72h by default); a bad value is CONFIG_INVALID."""
        env = os.environ if environ is None else environ
        raw = env.get(FOLLOW_UP_ENV, "").strip()
        follow_up = FOLLOW_UP_S if not raw else duration_seconds(raw)
        if follow_up is None or not 0 < follow_up <= MAX_FOLLOW_UP_S:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"{FOLLOW_UP_ENV} must be a duration from a second to a year such as 72h or "
                f"3d, not {raw!r}",
            )
        return cls(PriceTable.from_env(env), follow_up)


class BusinessReader:
    """Reads runs into `RunFacts` once each, with the tools of the release they ran under."""

    def __init__(self, conn: Connection, registry: Mapping[str, ToolFacts] | None = None) -> None:
        self.conn = conn
        self.registry = dict(registry or {})
        self._tools: dict[str, dict[str, ToolFacts]] = {}
        self.unreadable: set[str] = set()  # releases whose stored bundle no longer verifies
        self.facts: dict[str, RunFacts] = {}

    def _release_tools(self, release: str | None) -> Mapping[str, ToolFacts]:
        if not release:
            return self.registry
        if release not in self._tools:
            t = releases.c
            row = self.conn.execute(select(t.id, t.digest, t.bundle).where(t.id == release)).first()
            if row is None:  # not stored (runs of an older store): the registry in force
                self._tools[release] = {}
            else:
                content = verified_bundle(row.id, row.digest, row.bundle)
                if content is None:  # its tools' risks are not known: neither are its incidents
                    log.warning("release %s was changed in the store; its runs' compliance "
                                "is reported as unknown", release)  # fmt: skip
                    self.unreadable.add(release)
                self._tools[release] = release_tools(content or {})
        if release in self.unreadable:
            return self._tools[release]
        return self._tools[release] or self.registry

    def load(self, run_ids: Iterable[str]) -> list[RunFacts]:
        """The facts of `run_ids` (runs not stored are left out), read once each."""
        wanted = [r for r in dict.fromkeys(run_ids) if r not in self.facts]
        r = runs.c
        for batch in _batches(wanted):
            headers = {
                row.id: row
                for row in self.conn.execute(
                    select(
                        r.id, r.release_id, r.principal_id, r.created_at, r.updated_at,
                        r.decision_kind,
                    ).where(r.id.in_(batch))
                )
            }  # fmt: skip
            found: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {i: [] for i in headers}
            query = (
                select(steps.c.run_id, steps.c.kind, steps.c.name, steps.c.data)
                .where(steps.c.run_id.in_(batch))
                .order_by(steps.c.run_id, steps.c.seq)
            )
            for run_id, kind, name, data in self.conn.execute(query):
                found[run_id].append((str(kind), str(name), json.loads(data)))
            for run_id, h in headers.items():
                tools = self._release_tools(h.release_id)
                header = {
                    "id": run_id,
                    "release": h.release_id,
                    "principal": h.principal_id,
                    "created_at": h.created_at,
                    "ended_at": h.updated_at,
                    "decision": h.decision_kind,
                }
                self.facts[run_id] = run_facts(header, found[run_id], tools.get)
        return [self.facts[i] for i in dict.fromkeys(run_ids) if i in self.facts]

    def window_runs(
        self, since: float, until: float, release: str | None, cap: int, agent: str | None = None
    ) -> list[RunFacts]:
        """The latest `cap` ended runs created in [since, until) (of `agent`, when given)."""
        r = runs.c
        query = (
            select(r.id)
            .where(r.created_at >= since, r.created_at < until, r.decision_kind.is_not(None))
            .order_by(r.created_at.desc())
            .limit(cap)
        )
        if release is not None:
            query = query.where(_release_is(r.release_id, release))
        if agent is not None:
            query = query.where(r.agent == agent)
        return self.load([str(i) for i in self.conn.execute(query).scalars()])

    def conversations(self, where: list[Any], cap: int) -> list[Conversation]:
        """Conversations matching `where`, with their turns' facts."""
        c = conversations.c
        query = (
            select(c.id, c.principal_id, c.release_id, c.created_at)
            .where(*where)
            .order_by(c.created_at.desc())
            .limit(cap)
        )
        rows = list(self.conn.execute(query))
        turns: dict[str, list[str]] = {str(row.id): [] for row in rows}
        t = conversation_turns.c
        for batch in _batches(list(turns)):
            q = (
                select(t.conversation_id, t.run_id)
                .where(t.conversation_id.in_(batch))
                .order_by(t.conversation_id, t.turn)
            )
            for conversation_id, run_id in self.conn.execute(q):
                turns[conversation_id].append(str(run_id))
        self.load([r for ids in turns.values() for r in ids])
        out = []
        for row in rows:
            made = [self.facts[r] for r in turns[row.id] if r in self.facts]
            pinned = row.release_id or (made[0].release if made else None)
            out.append(Conversation(row.id, row.principal_id, pinned, row.created_at, made))
        return out

    def audit_events(self, run_ids: Sequence[str]) -> dict[str, Counter[str]]:
        """Each run's audit events in the chain, by kind."""
        out: dict[str, Counter[str]] = {}
        a = audit_events.c
        for batch in _batches(list(dict.fromkeys(run_ids))):
            q = (
                select(a.run_id, a.kind, func.count().label("n"))
                .where(a.run_id.in_(batch))
                .group_by(a.run_id, a.kind)
            )
            for run_id, kind, n in self.conn.execute(q):
                out.setdefault(str(run_id), Counter())[str(kind)] = int(n)
        return out

    def ingested(self, versions: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """When each cited (document URI, version) was stored."""
        wanted = sorted({v for _, v in versions})
        d = documents.c
        found: dict[tuple[str, str], float] = {}
        for batch in _batches(wanted):
            q = select(d.uri, d.version, d.ingested_at).where(d.version.in_(batch))
            found.update({(str(u), str(v)): float(t) for u, v, t in self.conn.execute(q)})
        return found


def _release_is(column: Any, release: str) -> Any:
    return column.is_(None) if release == NO_RELEASE_KEY else column == release


def business_kpis(
    engine: Engine,
    since: float,
    until: float,
    prices: PriceTable | None = None,
    release: str | None = None,
    registry: Mapping[str, ToolFacts] | None = None,
    now: float | None = None,
    follow_up_s: float = FOLLOW_UP_S,
    cap: int = DEFAULT_CAP,
) -> dict[str, Any]:
    """`{"since", "until", "follow_up_s", "releases": [report, ...]}`: every business KPI of
    the window per release (runs without one under `""`), busiest release first."""
    at = time.time() if now is None else now
    table = prices or PriceTable()
    try:
        with engine.connect() as conn:
            reader = BusinessReader(conn, registry)
            window = reader.window_runs(since, until, release, cap)
            c = conversations.c
            where = [c.created_at >= since, c.created_at < until]
            if release is not None:
                where.append(_release_is(c.release_id, release))
            talks = reader.conversations(where, cap)
            principals = sorted({t.principal for t in talks})
            others = list(talks)
            for batch in _batches(principals):
                later = [
                    c.principal_id.in_(batch),
                    c.created_at >= since,
                    c.created_at <= until + follow_up_s,
                ]
                seen = {t.id for t in others}
                others += [t for t in reader.conversations(later, cap) if t.id not in seen]
            recorded = reader.audit_events([r.id for r in window])
            ingested = reader.ingested(v for r in window for v in r.cited)
    except SQLAlchemyError as exc:  # say the store is unreachable, without driver internals
        name = type(getattr(exc, "orig", None) or exc).__name__
        raise TetherError(
            ErrorCode.STORE_UNAVAILABLE, f"business KPIs: cannot read runs ({name})"
        ) from None
    busy = Counter(r.release or NO_RELEASE_KEY for r in window)
    keys = sorted(
        busy.keys() | {t.release or NO_RELEASE_KEY for t in talks}, key=lambda k: (-busy[k], k)
    )
    reports = [
        release_report(
            key,
            [r for r in window if (r.release or NO_RELEASE_KEY) == key],
            [t for t in talks if (t.release or NO_RELEASE_KEY) == key],
            others,
            recorded,
            ingested,
            table,
            at,
            follow_up_s,
        )
        for key in keys
    ]
    for report in reports:
        if report["release"] in reader.unreadable:
            unknown_compliance(report)
    return {"since": since, "until": until, "follow_up_s": follow_up_s, "releases": reports}


def unknown_compliance(report: dict[str, Any]) -> None:
    """Mark `report`'s compliance unknown: its release's tools (whose risks decide what counts
    as an incident) could not be read, so no count would be true."""
    report["compliance"] = {
        "incidents": None,
        "incidents_per_run": None,
        "by_rule": {},
        "unknown": f"release {report['release']} was changed in the store (cut short or edited)",
    }


KPI_WINDOW_ENV, KPI_EVERY_ENV = "TETHER_KPI_WINDOW", "TETHER_KPI_EVERY_S"
DEFAULT_KPI_WINDOW_S = 86_400.0
DEFAULT_KPI_EVERY_S = 300.0


class BusinessWatch:
    """Business KPIs of the last window for a process's `/metrics`, evaluated at most once per
    `every_s` (they read every run of the window). A failed evaluation keeps the gauges of the
    last good one."""

    def __init__(
        self,
        engine: Engine,
        settings: BusinessSettings,
        window_s: float = DEFAULT_KPI_WINDOW_S,
        every_s: float = DEFAULT_KPI_EVERY_S,
        registry: Mapping[str, ToolFacts] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.window_s = window_s
        self.every_s = every_s
        self.registry = registry
        self._now = now
        self._throttled = Throttled(self._evaluate, every_s, "business KPI", monotonic)

    @property
    def last(self) -> dict[str, Any] | None:
        return self._throttled.last

    @classmethod
    def from_env(
        cls,
        engine: Engine,
        registry: Mapping[str, ToolFacts] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> BusinessWatch | None:
        """TETHER_KPI_WINDOW (a duration, 24h by default) and TETHER_KPI_EVERY_S (0 turns the
        gauges off), with `BusinessSettings.from_env`; a bad value is CONFIG_INVALID."""
        env = os.environ if environ is None else environ
        settings = BusinessSettings.from_env(env)
        every = every_seconds(env, KPI_EVERY_ENV, DEFAULT_KPI_EVERY_S)
        raw_window = env.get(KPI_WINDOW_ENV, "").strip()
        window = duration_seconds(raw_window) if raw_window else DEFAULT_KPI_WINDOW_S
        if window is None or window <= 0:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"{KPI_WINDOW_ENV} must be a duration such as 24h or 7d, not {raw_window!r}",
            )
        return None if every == 0 else cls(engine, settings, window, every, registry)

    def _evaluate(self) -> dict[str, Any]:
        now = self._now()
        return business_kpis(
            self.engine,
            now - self.window_s,
            now,
            self.settings.prices,
            registry=self.registry,
            now=now,
            follow_up_s=self.settings.follow_up_s,
        )

    def refresh(self, metrics: TetherMetrics) -> dict[str, Any] | None:
        """Evaluate when the last evaluation is older than `every_s`, and set the gauges."""
        before = self._throttled.last
        report = self._throttled()
        if report is not None and report is not before:
            metrics.observe_business(report)
        return report
