"""An escalation queue's webhook "https://hooks.example.com:abc" (a port that is no number) is
accepted by the escalation configuration, but delivering to it raises httpx.InvalidURL out of
`WebhookSender.send` ("never raises"). The dispatcher's batch stops there: the notice is never
marked failed (its attempts grow past max_attempts, retried forever), and the notices claimed
after it in the same batch lose an attempt they never made."""

from __future__ import annotations

from pathlib import Path

from tether.access.storage import begin
from tether.approvals.notices import FAILED, NoticeDispatcher, NoticeOutbox
from tether.approvals.routing import parse_escalations
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.store import RunStore

BAD_URL = "https://hooks.example.com:abc/tether"


def test_bad_webhook_url_is_refused_or_its_notice_fails(tmp_path: Path) -> None:
    data = {
        "default_queue": "desk",
        "queues": {
            "broken": {"webhook": BAD_URL, "secret": "s3cret"},
            # nothing listens on port 9: every attempt fails at once, as a delivery may
            "desk": {"webhook": "http://127.0.0.1:9/hook", "secret": "s3cret"},
        },
        "delivery": {"max_attempts": 1, "timeout_s": 2},
    }
    try:
        config = parse_escalations(data, "escalations.yaml")
    except TetherError as exc:  # refusing the file up front is a correct answer too
        assert exc.code is ErrorCode.CONFIG_INVALID
        return
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        clock = ManualClock(1_000_000.0)
        outbox = NoticeOutbox(store.engine, config, clock)
        with begin(store.engine) as conn:
            bad = outbox.add_in(conn, "run.escalated", "broken", "run_1", {"x": 1})
        clock.advance(1.0)
        with begin(store.engine) as conn:
            good = outbox.add_in(conn, "run.escalated", "desk", "run_2", {"x": 2})
        clock.advance(1.0)
        dispatcher = NoticeDispatcher(outbox)
        dispatcher.deliver_due()  # one attempt at each due notice; must not raise
        by_id = {n.id: n for n in outbox.list()}
        # max_attempts is 1: after its one attempt each notice is failed, with its error
        assert by_id[bad].state == FAILED, by_id[bad]
        assert by_id[bad].last_error
        assert by_id[good].state == FAILED, by_id[good]
        assert by_id[good].last_error
    finally:
        store.close()
