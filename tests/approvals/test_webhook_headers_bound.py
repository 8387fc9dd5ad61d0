"""The signature covers "<timestamp>.<body>", and `verify_signature` checks the headers a
receiver acts on (X-Tether-Delivery, X-Tether-Event) against the signed body's `id` and
`event`: a captured delivery replayed with a fresh delivery id (past de-duplication) or as
another event is refused, while the genuine delivery, with its headers in any case or without
them, still verifies."""

from __future__ import annotations

import time

import httpx

from tether.approvals import verify_signature
from tether.approvals.webhooks import WebhookSender

SECRET = b"s3cret"


def test_replay_with_another_delivery_id_is_refused() -> None:
    captured: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(204)

    body = b'{"event":"approval.requested","id":"ntc_aaaaaaaaaaaaaaaaaaaa","queue":"desk"}'
    now = time.time()
    sent = WebhookSender(transport=httpx.MockTransport(receiver)).send(
        "https://hooks.example.com/tether",
        SECRET,
        "ntc_aaaaaaaaaaaaaaaaaaaa",
        "approval.requested",
        body,
        now,
    )
    assert sent.ok
    request = captured[0]
    genuine = dict(request.headers)
    assert verify_signature(SECRET, genuine, request.content, now)

    replayed = dict(genuine)
    replayed["x-tether-delivery"] = "ntc_bbbbbbbbbbbbbbbbbbbb"  # slips past de-duplication
    replayed["x-tether-event"] = "approval.decided"
    assert verify_signature(SECRET, replayed, request.content, now + 5) is False
    only_event = {**genuine, "x-tether-event": "approval.decided"}
    assert verify_signature(SECRET, only_event, request.content, now) is False

    # near misses: the genuine headers in another case, or none of the two, still verify
    upper = {k.upper(): v for k, v in genuine.items()}
    assert verify_signature(SECRET, upper, request.content, now)
    bare = {k: v for k, v in genuine.items() if k not in ("x-tether-delivery", "x-tether-event")}
    assert verify_signature(SECRET, bare, request.content, now)
