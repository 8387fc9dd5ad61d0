"""An end-user token's times must be dates: a token whose `exp` is Infinity (or a number past
any date) would never expire, and one whose `exp` or `nbf` is NaN compares false with every
moment, so each is refused, as a token an application signed by mistake would be."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from tether.access.end_users import EndUserKey, EndUserVerifier
from tether.core.errors import ErrorCode, TetherError

SECRET = b"an-application-secret-of-at-least-32-bytes"
VERIFIER = EndUserVerifier([EndUserKey("app", "HS256", SECRET)], "tether-tests")


def signed(**times: Any) -> str:
    """A token the application signs with these time claims, spelled as its JSON encoder
    writes them (Python's writes Infinity and NaN)."""
    claims = {"sub": "raj_sanchez_2970", "aud": "tether-tests", **times}
    header = {"kid": "app"}
    return jwt.api_jws.encode(json.dumps(claims).encode(), SECRET, "HS256", header)


def test_a_token_with_finite_times_is_accepted() -> None:
    user = VERIFIER.verify(signed(exp=time.time() + 600, nbf=time.time() - 5))
    assert user.principal_id == "raj_sanchez_2970"


@pytest.mark.parametrize(
    "times",
    [
        {"exp": float("inf")},
        {"exp": float("nan")},
        {"exp": 10**400},
        {"exp": 1e300},
        {"exp": time.time() + 600, "nbf": float("nan")},
        {"exp": time.time() + 600, "nbf": float("-inf")},
    ],
    ids=[
        "exp-infinity",
        "exp-nan",
        "exp-huge-integer",
        "exp-past-year-9999",
        "nbf-nan",
        "nbf-minus-infinity",
    ],
)
def test_a_token_whose_times_are_not_finite_is_refused(times: dict[str, float]) -> None:
    with pytest.raises(TetherError) as caught:
        VERIFIER.verify(signed(**times))
    assert caught.value.code is ErrorCode.END_USER_TOKEN_INVALID
