"""`tether.approvals.verify_signature`, what a webhook receiver checks every delivery with, raises
ValueError on a forged X-Tether-Timestamp ("²", or 5,000 digits) instead of answering False: a
receiver built as the README says turns a forged delivery into its own 500."""

from __future__ import annotations

import time

import pytest

from tether.approvals import verify_signature
from tether.approvals.webhooks import signature


@pytest.mark.parametrize("stamp", ["\u00b2", "9" * 5000, "\u00b9\u2077\u2070\u2070"])
def test_forged_timestamp_is_refused_not_raised(stamp: str) -> None:
    secret, body = b"s3cret", b'{"event":"approval.requested"}'
    now = time.time()
    genuine = {
        "X-Tether-Timestamp": str(int(now)),
        "X-Tether-Signature": signature(secret, int(now), body),
    }
    assert verify_signature(secret, genuine, body, now)
    forged = {"X-Tether-Timestamp": stamp, "X-Tether-Signature": "sha256=" + "0" * 64}
    assert verify_signature(secret, forged, body, now) is False
