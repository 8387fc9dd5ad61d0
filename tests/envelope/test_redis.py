"""Two runtime processes share one rate limit and one breaker through the real Redis.

Needs Redis at 127.0.0.1:6379 (or TETHER_TEST_REDIS_URL): skipped with a message when it is
absent, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tether.core.envelope import Envelope, RateLimitPolicy, RetryPolicy, TokenBucket
from tether.core.errors import ErrorCode, TetherError
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.redis_state import RedisState
from tether.tools.shared_state import InProcessState, shared_state_from_env

REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHILD = Path(__file__).with_name("redis_child.py")
RATE_PER_S, BURST = 20.0, 5  # as in redis_child.py

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test alone, removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        message = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    value = f"tether-test:{uuid.uuid4().hex[:12]}:"
    yield value
    for key in client.scan_iter(match=f"{value}*"):
        client.delete(key)
    client.close()


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return report


def test_two_processes_share_one_rate_limit(prefix: str) -> None:
    seconds = 1.5
    start_at = f"{time.time() + 2.5:.3f}"  # both have imported tether by then
    children = [_start("flood", REDIS_URL, prefix, start_at, str(seconds)) for _ in range(2)]
    reports = [_report(c) for c in children]
    stamps = sorted(t for r in reports for t in r["executed"])  # type: ignore[attr-defined]
    # both processes got calls through, and both were held back by the shared bucket
    assert all(r["executed"] and r["limited"] for r in reports)  # type: ignore[index]
    allowed_per_window = BURST + RATE_PER_S * 1.0
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert busiest <= allowed_per_window + 1, (busiest, allowed_per_window)
    assert len(stamps) <= BURST + RATE_PER_S * seconds + 1
    # one process alone would have used the whole allowance, so it really was shared
    assert len(stamps) >= RATE_PER_S * seconds * 0.6


def test_a_breaker_opened_by_one_process_is_open_in_the_other(prefix: str) -> None:
    tripped = _report(_start("trip", REDIS_URL, prefix))
    assert tripped["state"] == "open" and tripped["executed"] == 4
    assert tripped["attempts"][-1]["breaker_opened"] is True  # type: ignore[index]

    other = _report(_start("probe", REDIS_URL, prefix))
    assert other["executed"] == 0  # refused without calling the (healthy) tool
    (attempt,) = other["attempts"]  # type: ignore[misc]
    assert attempt["code"] == "CIRCUIT_OPEN" and attempt["breaker"] == "open"
    assert other["state"] == "open"


def test_an_unreachable_redis_degrades_to_this_processes_state() -> None:
    def quote(sku: str) -> str:
        return sku

    limit = RateLimitPolicy(per_tool=TokenBucket(rate_per_s=0.001, burst=2))
    tool = make_tool(quote, envelope=Envelope(retry=RetryPolicy.never(), rate_limit=limit))
    executor = EnvelopeExecutor(RedisState("redis://127.0.0.1:1/0"))  # nothing listens there
    started = time.monotonic()
    outcomes = [executor.execute(tool, {"sku": "A"}) for _ in range(3)]
    assert time.monotonic() - started < 3.0  # one failed connection, then the local state
    assert [o.code for o in outcomes][:2] == [None, None]
    assert outcomes[2].code is ErrorCode.RATE_LIMITED
    assert all(o.attempts[0]["shared_state"] == "unreachable" for o in outcomes)


def test_a_malformed_redis_url_is_a_configuration_error() -> None:
    with pytest.raises(TetherError) as caught:
        shared_state_from_env({"TETHER_REDIS_URL": "http://127.0.0.1:6379"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert isinstance(shared_state_from_env({}), InProcessState)
