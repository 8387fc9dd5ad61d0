"""What a running rollout looks at in live traffic: the conversations each arm's release served
since the current step began, read back from the system of record.

A conversation is pinned to one arm's release when it starts (see `tether.sdk.releases`); each
of its turns is a run. A turn counts once its run has a Decision; a conversation with a turn
still going is left for a later look. The looks run off the request path (`tether serve` runs
one every `TETHER_ROLLOUT_LOOK_S`, 30 s by default, 0 off); replicas may look at once, and the
rollout's conditional transitions let exactly one of them move it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select

from tether.access.storage import connect
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind
from tether.release.rollout import Rollout, Rollouts
from tether.release.rollout_guards import Conversation, Turn
from tether.store.conversations_schema import conversation_turns, conversations
from tether.store.schema import runs, steps

log = logging.getLogger("tether.release")

MAX_CONVERSATIONS = 20_000  # per arm and look: the newest, should a step run that long
_CHUNK = 500  # ids per IN (...) list
_BLOCKING = ("deny", "escalate")


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _turn(run: Mapping[str, Any], run_steps: Sequence[Mapping[str, Any]]) -> Turn:
    tools = [s for s in run_steps if s["kind"] == "tool"]
    verified = stopped = False
    for step in run_steps:
        if step["kind"] != "guard" or step["name"] != "answer":
            continue
        for verdict in step["data"].get("verdicts") or ():
            if verdict.get("check") == "claims":
                verified = True
                stopped = stopped or verdict.get("effect") in _BLOCKING
    return Turn(
        DecisionKind(run["decision_kind"]),
        max(0.0, float(run["updated_at"]) - float(run["created_at"])),
        len(tools),
        sum(1 for s in tools if not s["data"].get("ok", True)),
        verified,
        stopped,
    )


def arm_conversations(engine: Engine, release: str, since: float) -> list[Conversation]:
    """The conversations pinned to `release` that started since `since` and whose every turn
    has ended, oldest first."""
    c, t = conversations.c, conversation_turns.c
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
        run_rows: dict[str, Mapping[str, Any]] = {}
        step_rows: dict[str, list[Mapping[str, Any]]] = {}
        for chunk in _chunks(run_ids):
            header = select(runs.c.id, runs.c.decision_kind, runs.c.created_at, runs.c.updated_at)
            for row in conn.execute(header.where(runs.c.id.in_(chunk))).mappings():
                run_rows[row["id"]] = dict(row)
            body = select(steps.c.run_id, steps.c.seq, steps.c.kind, steps.c.name, steps.c.data)
            picked = body.where(steps.c.run_id.in_(chunk), steps.c.kind.in_(("tool", "guard")))
            for row in conn.execute(picked.order_by(steps.c.run_id, steps.c.seq)).mappings():
                step_rows.setdefault(row["run_id"], []).append(
                    {"kind": row["kind"], "name": row["name"], "data": json.loads(row["data"])}
                )
    found_conversations = []
    for cid in ids:
        ordered = [run_rows.get(run_id) for _, run_id in sorted(turns.get(cid, ()))]
        if not ordered or any(r is None or r["decision_kind"] is None for r in ordered):
            continue  # a turn still going (or a record gone): a later look counts it
        made = tuple(_turn(r, step_rows.get(r["id"], ())) for r in ordered if r is not None)
        found_conversations.append(Conversation(cid, made))
    return found_conversations


class RolloutFeed:
    """Takes the running rollout's next look from live traffic (callable; None when no rollout
    runs)."""

    def __init__(self, rollouts: Rollouts, engine: Engine) -> None:
        self.rollouts = rollouts
        self.engine = engine

    def __call__(self) -> Rollout | None:
        try:
            rollout = self.rollouts.running()
        except TetherError as exc:
            if exc.code is ErrorCode.ROLLOUT_NOT_FOUND:
                return None
            raise
        since = rollout.step_started_at
        baseline = arm_conversations(self.engine, rollout.baseline, since)
        candidate = arm_conversations(self.engine, rollout.candidate, since)
        try:
            return self.rollouts.observe(rollout, baseline, candidate)
        except TetherError as exc:
            if exc.code is ErrorCode.CONFLICT:  # another replica's look moved it first
                log.info("rollout %s moved meanwhile: %s", rollout.id, exc.message)
                return None
            raise
