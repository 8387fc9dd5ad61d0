"""Signed webhook deliveries of escalation notices.

Each POST carries the notice's JSON body and four headers: `X-Tether-Event`,
`X-Tether-Delivery` (the notice id, the same on every retry, so receivers can drop duplicates),
`X-Tether-Timestamp` (seconds since the epoch) and `X-Tether-Signature`:
`sha256=` + hex HMAC-SHA256 with the queue's secret over `<timestamp>.<body>`. A receiver
recomputes it, compares in constant time, and refuses stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

EVENT_HEADER = "X-Tether-Event"
DELIVERY_HEADER = "X-Tether-Delivery"
TIMESTAMP_HEADER = "X-Tether-Timestamp"
SIGNATURE_HEADER = "X-Tether-Signature"
DEFAULT_TOLERANCE_S = 300.0
MAX_ERROR_CHARS = 300


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether a received notice is authentic and fresh (what a receiver should check)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(stamp), body), given)


@dataclass(frozen=True)
class Delivery:
    """One attempt's result: delivered (a 2xx answer), or why not."""

    ok: bool
    status: int | None = None
    error: str = ""


class WebhookSender:
    """Posts notices with httpx; `transport` lets tests swap the network for something else."""

    def __init__(self, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None):
        self.timeout_s = timeout_s
        self._transport = transport

    def send(
        self, url: str, secret: bytes, notice_id: str, event: str, body: bytes, now: float
    ) -> Delivery:
        """One POST; never raises (the caller decides whether to retry)."""
        stamp = int(now)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tether-webhooks/1",
            EVENT_HEADER: event,
            DELIVERY_HEADER: notice_id,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(secret, stamp, body),
        }
        try:
            with httpx.Client(
                timeout=self.timeout_s, transport=self._transport, follow_redirects=False
            ) as client:
                response = client.post(url, content=body, headers=headers)
        except Exception as exc:  # InvalidURL, a resolver's UnicodeError: all a failed attempt
            return Delivery(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        if 200 <= response.status_code < 300:
            return Delivery(True, response.status_code)
        return Delivery(
            False, response.status_code, f"the receiver answered {response.status_code}"
        )
