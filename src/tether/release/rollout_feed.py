"""What a running rollout looks at in live traffic: the conversations each arm's release served
since the current step began, read back from the system of record.

A conversation is pinned to one arm's release when it starts (see `tether.sdk.releases`); each
of its turns is a run. A turn counts once its run has a Decision; a conversation with a turn
still going is left for a later look. The looks run off the request path (`tether serve` runs
one every `TETHER_ROLLOUT_LOOK_S`, 30 s by default, 0 off); replicas may look at once, and the
rollout's conditional transitions let exactly one of them move it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Engine, select

from tether.access.storage import connect
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind
from tether.observe.business_source import BusinessReader
from tether.observe.prices import PriceTable
from tether.observe.run_facts import RunFacts, audit_gaps, run_cost
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import Conversation, Turn
from tether.release.rollout_plan import LIVE_LOOK_CAP, Rollout
from tether.store.conversations_schema import conversation_turns, conversations

log = logging.getLogger("tether.release")

MAX_CONVERSATIONS = LIVE_LOOK_CAP  # per arm and look: the newest, should a step run that long
_CHUNK = 500  # ids per IN (...) list


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


_KINDS = frozenset(kind.value for kind in DecisionKind)


def _turn(run: RunFacts, prices: PriceTable, recorded: Mapping[str, int]) -> Turn:
    assert run.decision is not None  # only ended runs are turns
    return Turn(
        DecisionKind(run.decision),
        max(0.0, run.ended_at - run.created_at),
        run.tool_calls,
        run.tool_errors,
        run.verified,
        run.stopped_by_verification,
        started_at=run.created_at,
        cost=run_cost(run, prices),
        incident=bool(run.incidents),
        audited=not audit_gaps(run, recorded),
    )


def arm_conversations(
    engine: Engine, release: str, since: float, prices: PriceTable | None = None
) -> list[Conversation]:
    """The conversations pinned to `release` that started since `since` and whose every turn
    has ended, oldest first; each turn read into the same `RunFacts` the business KPIs read,
    its cost at `prices`."""
    c, t = conversations.c, conversation_turns.c
    table = prices or PriceTable()
    with connect(engine) as conn:
        ids = list(
            conn.execute(
                select(c.id)
                .where(c.release_id == release, c.created_at >= since)
                .order_by(c.created_at.desc())
                .limit(MAX_CONVERSATIONS)
            ).scalars()
        )[::-1]
        turns: dict[str, list[tuple[int, str]]] = {}
        for chunk in _chunks(ids):
            query = select(t.conversation_id, t.turn, t.run_id).where(t.conversation_id.in_(chunk))
            for cid, number, run_id in conn.execute(query):
                turns.setdefault(cid, []).append((number, run_id))
        run_ids = [run_id for found in turns.values() for _, run_id in found]
        reader = BusinessReader(conn)
        facts = {run.id: run for run in reader.load(run_ids)}
        ended = [r for r in run_ids if r in facts and facts[r].decision is not None]
        recorded = reader.audit_events(ended)
    found_conversations = []
    for cid in ids:
        ordered = [facts.get(run_id) for _, run_id in sorted(turns.get(cid, ()))]
        if not ordered or any(r is None or r.decision is None for r in ordered):
            continue  # a turn still going (or a record gone): a later look counts it
        if any(r is not None and r.decision not in _KINDS for r in ordered):
            continue  # ended by a later version in a kind this one cannot judge
        made = tuple(_turn(r, table, recorded.get(r.id, {})) for r in ordered if r is not None)
        found_conversations.append(Conversation(cid, made))
    return found_conversations


class RolloutFeed:
    """Takes the running rollout's next look from live traffic (callable; None when no rollout
    runs)."""

    def __init__(
        self, rollouts: Rollouts, engine: Engine, prices: PriceTable | None = None
    ) -> None:
        self.rollouts = rollouts
        self.engine = engine
        self.prices = prices or PriceTable()

    def __call__(self) -> Rollout | None:
        try:
            rollout = self.rollouts.running()
        except TetherError as exc:
            if exc.code is ErrorCode.ROLLOUT_NOT_FOUND:
                return None
            raise
        since = rollout.step_started_at
        baseline = arm_conversations(self.engine, rollout.baseline, since, self.prices)
        candidate = arm_conversations(self.engine, rollout.candidate, since, self.prices)
        try:
            return self.rollouts.observe(rollout, baseline, candidate)
        except TetherError as exc:
            if exc.code is ErrorCode.CONFLICT:  # another replica's look moved it first
                log.info("rollout %s moved meanwhile: %s", rollout.id, exc.message)
                return None
            raise
