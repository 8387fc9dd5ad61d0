"""The notice outbox: escalation notices are written in the same transaction as the event they
announce, and delivered to their queue's webhook later, off the request path.

A dispatcher claims a due notice with a conditional UPDATE that pushes its due time one lease
ahead, so two processes never send the same attempt; a process that dies mid-attempt leaves the
notice due again once the lease ends. Delivery is at least once (receivers drop duplicates by
the delivery id). Failed attempts are retried with exponential backoff and jitter until the
configured number of attempts, after which the notice is marked failed.
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from tether.access.canonical import canonical_json
from tether.access.storage import begin, connect
from tether.approvals.routing import DeliveryConfig, EscalationConfig
from tether.approvals.webhooks import WebhookSender
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.store.approvals_schema import escalation_notices as notices

log = logging.getLogger("tether.approvals")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
LEASE_S = 60.0  # an attempt that takes longer than this may be made again by another process


@dataclass(frozen=True)
class Notice:
    """One notice to a queue's webhook, with its delivery state."""

    id: str
    event: str
    queue: str
    url: str
    run_id: str
    approval_id: str | None
    payload: str
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    delivered_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "queue": self.queue,
            "url": self.url,
            "run_id": self.run_id,
            "approval_id": self.approval_id,
            "payload": json.loads(self.payload),
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
        }


class NoticeOutbox:
    """Writes notices inside the caller's transaction and tracks their delivery."""

    def __init__(self, engine: Engine, config: EscalationConfig, clock: Clock | None = None):
        self.engine = engine
        self.config = config
        self.clock = clock or SystemClock()

    def add_in(
        self,
        conn: Connection,
        event: str,
        queue: str,
        run_id: str,
        payload: Mapping[str, Any],
        approval_id: str | None = None,
    ) -> str | None:
        """Queue a notice for `queue`'s webhook; None (nothing queued) if it has none."""
        url = self.config.webhook(queue)
        if url is None:
            return None
        now = self.clock.now()
        notice_id = "ntc_" + secrets.token_hex(10)
        body = {"id": notice_id, "event": event, "queue": queue, "sent_for": run_id, **payload}
        conn.execute(
            insert(notices).values(
                id=notice_id,
                event=event,
                queue=queue,
                url=url,
                run_id=run_id,
                approval_id=approval_id,
                payload=canonical_json(body),
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                created_at=now,
                delivered_at=None,
            )
        )
        return notice_id

    def list(
        self, state: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> builtins.list[Notice]:
        """Notices, oldest first."""
        query = select(notices).order_by(notices.c.created_at, notices.c.id).limit(limit)
        if state is not None:
            query = query.where(notices.c.state == state)
        if run_id is not None:
            query = query.where(notices.c.run_id == run_id)
        with connect(self.engine) as conn:
            return [Notice(**row) for row in conn.execute(query).mappings().all()]

    def claim_due(self, limit: int, lease_s: float = LEASE_S) -> builtins.list[Notice]:
        """Due notices this process now holds for one attempt each."""
        now = self.clock.now()
        due = (
            select(notices)
            .where(notices.c.state == PENDING, notices.c.next_attempt_at <= now)
            .order_by(notices.c.next_attempt_at)
            .limit(limit)
        )
        with connect(self.engine) as conn:
            candidates = [Notice(**row) for row in conn.execute(due).mappings().all()]
        claimed = []
        for notice in candidates:
            claim = (
                update(notices)
                .where(
                    notices.c.id == notice.id,
                    notices.c.state == PENDING,
                    notices.c.next_attempt_at == notice.next_attempt_at,
                )
                .values(next_attempt_at=now + lease_s, attempts=notice.attempts + 1)
            )
            with begin(self.engine) as conn:
                if conn.execute(claim).rowcount == 1:
                    claimed.append(notice)
        return claimed

    def settle(self, notice: Notice, ok: bool, error: str, retry_at: float | None) -> None:
        """Record an attempt's outcome: delivered, due again at `retry_at`, or failed."""
        now = self.clock.now()
        values: dict[str, Any] = {"last_error": error or None}
        if ok:
            values.update(state=DELIVERED, delivered_at=now, last_error=None)
        elif retry_at is not None:
            values.update(next_attempt_at=retry_at)
        else:
            values.update(state=FAILED)
        with begin(self.engine) as conn:
            conn.execute(update(notices).where(notices.c.id == notice.id).values(values))


def backoff_s(attempt: int, delivery: DeliveryConfig, rng: random.Random) -> float:
    """The wait after failed attempt number `attempt` (1-based): doubling, capped, with jitter
    (half to all of it), so receivers that were down are not hit by every sender at once."""
    ceiling = min(delivery.max_delay_s, delivery.base_delay_s * 2.0 ** (attempt - 1))
    return float(ceiling * (0.5 + rng.random() / 2))


class NoticeDispatcher:
    """Delivers due notices, one attempt each per call (a server calls it in the background)."""

    def __init__(
        self,
        outbox: NoticeOutbox,
        sender: WebhookSender | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.config = outbox.config
        self.sender = sender or WebhookSender(self.config.delivery.timeout_s)
        self.rng = rng or random.Random()

    def deliver_due(self, limit: int = 50) -> int:
        """Make one attempt at each due notice (at most `limit`); returns how many."""
        claimed = self.outbox.claim_due(limit)
        for notice in claimed:
            self._attempt(notice)
        return len(claimed)

    def _attempt(self, notice: Notice) -> None:
        attempt = notice.attempts + 1
        try:
            secret = self.config.secret(notice.queue)
        except TetherError as exc:
            self.outbox.settle(notice, False, exc.message, None)  # no key: it can never be sent
            return
        result = self.sender.send(
            notice.url,
            secret,
            notice.id,
            notice.event,
            notice.payload.encode("utf-8"),
            self.outbox.clock.now(),
        )
        if result.ok:
            self.outbox.settle(notice, True, "", None)
            return
        error = f"{ErrorCode.WEBHOOK_FAILED.value}: attempt {attempt}: {result.error}"
        retry_at = None
        if attempt < self.config.delivery.max_attempts:
            retry_at = self.outbox.clock.now() + backoff_s(attempt, self.config.delivery, self.rng)
        else:
            log.warning("notice %s to queue %s failed for good: %s", notice.id, notice.queue, error)
        self.outbox.settle(notice, False, error, retry_at)

    def deliver_all(self, rounds: int = 100) -> int:
        """Attempt due notices until none is due (at most `rounds` batches)."""
        total = 0
        for _ in range(rounds):
            done = self.deliver_due()
            total += done
            if not done:
                break
        return total
