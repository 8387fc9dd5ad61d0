"""Signed webhook deliveries of escalation notices.

Each POST carries the notice's JSON body and four headers: `X-Tether-Event`,
`X-Tether-Delivery` (the notice id, the same on every retry, so receivers can drop duplicates),
`X-Tether-Timestamp` (seconds since the epoch) and `X-Tether-Signature`:
`sha256=` + hex HMAC-SHA256 with the queue's secret over `<timestamp>.<body>`. A receiver
recomputes it, compares in constant time, refuses stale timestamps (replays), and checks the
delivery and event headers against the body's `id` and `event`, which the signature covers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

EVENT_HEADER = "X-Tether-Event"
DELIVERY_HEADER = "X-Tether-Delivery"
TIMESTAMP_HEADER = "X-Tether-Timestamp"
SIGNATURE_HEADER = "X-Tether-Signature"
DEFAULT_TOLERANCE_S = 300.0
MAX_ERROR_CHARS = 300
# ASCII digits only, and few: str.isdigit() accepts "²" (which int() refuses) and int() refuses
# over 4,300 digits, so either would raise where a forged header must read as False
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


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
    """Whether a received notice is authentic and fresh (what a receiver should check), and
    its `X-Tether-Delivery` / `X-Tether-Event` headers, when given, are the `id` / `event` of
    the signed body: the signature covers the body only, so a replay with a fresh delivery id
    (past a receiver's de-duplication) or another event name is refused."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not _TIMESTAMP.fullmatch(stamp) or abs(now - int(stamp)) > tolerance_s:
        return False
    if not hmac.compare_digest(signature(secret, int(stamp), body), given):
        return False
    return _headers_match_body(lowered, body)


def _headers_match_body(lowered: Mapping[str, str], body: bytes) -> bool:
    """The unsigned headers a receiver acts on say what the signed body says."""
    bound = {DELIVERY_HEADER.lower(): "id", EVENT_HEADER.lower(): "event"}
    present = {header: field for header, field in bound.items() if header in lowered}
    if not present:
        return True
    try:
        signed = json.loads(body)
    except ValueError:
        return False
    if not isinstance(signed, dict):
        return False
    return all(lowered[header] == signed.get(field) for header, field in present.items())


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
        watch = _AttemptWatch(self.timeout_s)
        try:
            with (
                httpx.Client(
                    timeout=self.timeout_s, transport=self._transport, follow_redirects=False
                ) as client,
                client.stream(
                    "POST", url, content=body, headers=headers, extensions={"trace": watch.trace}
                ) as response,
            ):
                status = response.status_code  # the answer's body is never read: only its status
        except Exception as exc:  # InvalidURL, a resolver's UnicodeError: all a failed attempt
            if watch.expired:
                return Delivery(False, None, f"the attempt took over {self.timeout_s:g}s")
            return Delivery(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        finally:
            watch.cancel()
        if 200 <= status < 300:
            return Delivery(True, status)
        return Delivery(False, status, f"the receiver answered {status}")


class _AttemptWatch:
    """Bounds a whole attempt by `timeout_s`: httpx's timeout bounds each read, so a receiver
    dripping its answer a byte at a time would hold the attempt (and the background thread
    that also expires approvals and signs the audit chain) open for ever. At the deadline the
    connection's socket is shut down, which ends any read in progress."""

    def __init__(self, timeout_s: float) -> None:
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpx's `trace` extension: note the socket once the connection is made."""
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            found = stream.get_extra_info("socket") if stream is not None else None
            with self._lock:
                self._socket = found
            if self.expired:
                self._cut()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            if self._socket is not None:
                with contextlib.suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
