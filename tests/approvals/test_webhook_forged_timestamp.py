"""`tether.approvals.verify_signature`, what a webhook receiver checks every delivery with,
answers False (never raises) on a forged X-Tether-Timestamp: a superscript digit ("²"), other
Unicode digits, thousands of digits, a sign or spaces. A genuine ASCII timestamp verifies."""

from __future__ import annotations

import time

import pytest

from tether.approvals import verify_signature
from tether.approvals.webhooks import signature


@pytest.mark.parametrize(
    "stamp",
    [
        "\u00b2",
        "9" * 5000,
        "\u00b9\u2077\u2070\u2070",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits: int() reads them
        "+1700000000",
        " 1700000000",
        "",
    ],
)
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
