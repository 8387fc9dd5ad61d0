"""Escalation notices reach a real HTTP receiver on 127.0.0.1: signed, retried with backoff,
given up after the configured attempts, sent off the request path; a model's own hand-off to
a person travels the same path."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from tether.approvals import EscalationConfig, verify_signature
from tether.approvals.notices import NoticeDispatcher
from tether.approvals.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode
from tether.core.types import DecisionKind, Message
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.sdk import Desk
from tether.store.runs import RunStore

from .conftest import SAM, USER, open_desk, pending_for, service, start_return
from .receiver import Receiver, receiver

SECRET = "a-long-random-webhook-secret"


def config(url: str, **delivery: Any) -> EscalationConfig:
    return EscalationConfig.model_validate(
        {
            "default_queue": "triage",
            "queues": {
                "supervisors": {"webhook": url, "secret": SECRET},
                "desk": {"webhook": url, "secret": SECRET},
            },
            "routes": [
                {"queue": "supervisors", "policies": ["supervisor-approval-large-return"]},
                {"queue": "desk", "codes": ["HANDOFF_REQUESTED"]},
            ],
            "delivery": {"base_delay_s": 1.0, "max_attempts": 3, **delivery},
        }
    )


def _desk(store: RunStore, clock: ManualClock, hook: Receiver) -> Desk:
    desk = open_desk(store, clock, config(hook.url))
    dispatcher = service(desk).dispatcher
    assert dispatcher is not None  # queues with webhooks get a dispatcher
    dispatcher.rng = random.Random(7)
    return desk


def _dispatcher(desk: Desk) -> NoticeDispatcher:
    found = service(desk).dispatcher
    assert found is not None
    return found


def test_a_suspension_sends_a_signed_notice_to_its_queue(
    store: RunStore, clock: ManualClock
) -> None:
    with receiver() as hook:
        desk = _desk(store, clock, hook)
        run = start_return(desk)
        approval = pending_for(service(desk), run)
        assert approval.queue == "supervisors"
        assert hook.received == []  # nothing is sent on the run's path
        assert _dispatcher(desk).deliver_due() == 1
        (got,) = hook.wait_for(1)

    assert got.path == "/hooks/tether" and got.headers[EVENT_HEADER] == "approval.requested"
    assert got.headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify_signature(SECRET.encode(), got.headers, got.body, clock.now())
    assert not verify_signature(SECRET.encode(), got.headers, got.body + b" ", clock.now())
    assert not verify_signature(b"another secret", got.headers, got.body, clock.now())
    assert not verify_signature(SECRET.encode(), got.headers, got.body, clock.now() + 3600)
    body = json.loads(got.body)
    assert body["id"] == got.headers[DELIVERY_HEADER] and body["queue"] == "supervisors"
    assert body["approval"]["id"] == approval.id
    assert body["approval"]["argument_hash"] == approval.argument_hash
    (notice,) = service(desk).store.outbox.list()
    assert notice.state == "delivered" and notice.attempts == 1


def test_failed_deliveries_are_retried_with_backoff_until_they_succeed(
    store: RunStore, clock: ManualClock
) -> None:
    with receiver(statuses=[500, 503]) as hook:
        desk = _desk(store, clock, hook)
        start_return(desk)
        dispatcher = _dispatcher(desk)
        outbox = service(desk).store.outbox
        waits = []
        for attempt in (1, 2):
            assert dispatcher.deliver_due() == 1
            (notice,) = outbox.list()
            assert notice.state == "pending" and notice.attempts == attempt
            assert notice.last_error is not None
            assert notice.last_error.startswith(ErrorCode.WEBHOOK_FAILED.value)
            wait = notice.next_attempt_at - clock.now()
            ceiling = 1.0 * 2 ** (attempt - 1)
            assert ceiling / 2 <= wait <= ceiling  # exponential, with jitter
            assert dispatcher.deliver_due() == 0  # not due yet
            waits.append(wait)
            clock.advance(wait)
        assert dispatcher.deliver_due() == 1
        got = hook.wait_for(3)

    (notice,) = outbox.list()
    assert notice.state == "delivered" and notice.attempts == 3 and notice.last_error is None
    assert len({g.headers[DELIVERY_HEADER] for g in got}) == 1  # one id: receivers dedupe
    assert len({g.body for g in got}) == 1
    assert waits[1] > waits[0]


def test_delivery_gives_up_after_the_configured_attempts(
    store: RunStore, clock: ManualClock
) -> None:
    with receiver(statuses=[500] * 10) as hook:
        desk = _desk(store, clock, hook)
        start_return(desk)
        dispatcher = _dispatcher(desk)
        for _ in range(3):
            assert dispatcher.deliver_due() == 1
            clock.advance(10)
        assert dispatcher.deliver_due() == 0
        assert len(hook.wait_for(3)) == 3
    (notice,) = service(desk).store.outbox.list()
    assert notice.state == "failed" and notice.attempts == 3
    assert notice.last_error is not None and "attempt 3" in notice.last_error


def test_notices_are_sent_off_the_request_path(store: RunStore, clock: ManualClock) -> None:
    """The receiver answers nothing until both the run and the decision have returned: had
    either waited for a delivery, it would have waited for an answer that had not been sent."""
    hold = threading.Event()
    with receiver(hold=hold) as hook:
        desk = _desk(store, clock, hook)
        service(desk).start(poll_s=0.02)
        try:
            run = start_return(desk)
            approval = pending_for(service(desk), run)
            decided = service(desk).approve(approval.id, SAM)
            with hook.lock:
                assert hook.answered == 0  # the held receiver held up neither
            hold.set()
            got = hook.wait_for(2)
        finally:
            hold.set()
            service(desk).stop()
    assert decided.run.decision is not None
    assert [g.headers[EVENT_HEADER] for g in got] == ["approval.requested", "approval.decided"]
    decided_body = json.loads(got[1].body)
    assert decided_body["decision"] == "approved"
    assert decided_body["approval"]["decided_by"] == SAM.actor


def test_a_hand_off_to_a_person_is_routed_on_the_same_path(
    store: RunStore, clock: ManualClock
) -> None:
    with receiver() as hook:
        desk = _desk(store, clock, hook)
        summary = "Customer reports a dented grill and asks for compensation."
        model = ScriptedModel(
            parse_script([{"tool": "transfer_to_human_agents", "args": {"summary": summary}}])
        )
        request = RunRequest(USER, [Message("user", "My grill arrived dented; I want money.")])
        run = desk.runtime.run(request, model)
        assert run.decision is not None and run.decision.kind is DecisionKind.ESCALATION
        assert _dispatcher(desk).deliver_due() == 1
        (got,) = hook.wait_for(1)

    assert got.headers[EVENT_HEADER] == "run.escalated"
    body = json.loads(got.body)
    assert body["queue"] == "desk"
    assert body["escalation"]["code"] == "HANDOFF_REQUESTED"
    assert body["escalation"]["tool"] == "transfer_to_human_agents"
    assert desk.access is not None
    routed = [e for e in desk.access.audit.events(run_id=run.id) if e.kind == "escalation.routed"]
    assert len(routed) == 1 and routed[0].to_dict()["data"]["queue"] == "desk"


def test_an_escalation_on_a_queue_without_a_webhook_is_routed_but_not_sent(
    store: RunStore, clock: ManualClock
) -> None:
    desk = open_desk(store, clock)  # one default queue, no webhook
    model = ScriptedModel(
        parse_script([{"tool": "transfer_to_human_agents", "args": {"summary": "help"}}])
    )
    run = desk.runtime.run(RunRequest(USER, [Message("user", "A person, please.")]), model)
    assert run.decision is not None and run.decision.kind is DecisionKind.ESCALATION
    assert service(desk).dispatcher is None and service(desk).store.outbox.list() == []
    assert desk.access is not None
    kinds = [e.kind for e in desk.access.audit.events(run_id=run.id)]
    assert "escalation.routed" in kinds
