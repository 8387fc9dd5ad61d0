"""Receivers drop duplicate notices by X-Tether-Delivery and act on X-Tether-Event, but the
signature covers only "<timestamp>.<body>": a captured delivery replayed within the tolerance
with a fresh X-Tether-Delivery (and another X-Tether-Event) still passes
`verify_signature`, so the replay defeats de-duplication and can be presented as another event."""

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
