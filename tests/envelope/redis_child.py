"""A runtime process sharing envelope state through Redis (run as a script by test_redis.py).

    python redis_child.py flood   URL PREFIX START_AT SECONDS
    python redis_child.py trip    URL PREFIX
    python redis_child.py probe   URL PREFIX

Each prints one JSON line about what it executed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode, TetherError
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.redis_state import RedisState

RATE_PER_S, BURST = 20.0, 5
LIMITED = Envelope(
    retry=RetryPolicy.never(),
    rate_limit=RateLimitPolicy(per_tool=TokenBucket(rate_per_s=RATE_PER_S, burst=BURST)),
)
GUARDED = Envelope(
    retry=RetryPolicy.never(),
    breaker=BreakerPolicy(failure_rate=0.5, window_s=30, min_calls=4, open_s=60),
)


def main(argv: list[str]) -> None:
    mode, url, prefix = argv[:3]
    executor = EnvelopeExecutor(RedisState(url, prefix=prefix))
    executed: list[float] = []
    call = CallContext(principal_id=f"process-{mode}")
    report: dict[str, Any] = {}

    if mode == "flood":
        start_at, seconds = float(argv[3]), float(argv[4])

        def quote(sku: str) -> dict[str, str]:
            executed.append(time.time())
            return {"sku": sku}

        tool = make_tool(quote, envelope=LIMITED)
        time.sleep(max(0.0, start_at - time.time()))
        codes: list[str | None] = []
        while time.time() < start_at + seconds:
            outcome = executor.execute(tool, {"sku": "A"}, call)
            codes.append(outcome.code.value if outcome.code else None)
            if outcome.code not in (None, ErrorCode.RATE_LIMITED):
                raise SystemExit(f"unexpected outcome {outcome}")
        report = {"executed": executed, "limited": codes.count("RATE_LIMITED")}
    else:
        healthy = mode == "probe"

        def stock(sku: str) -> dict[str, str]:
            executed.append(time.time())
            if not healthy:
                raise TetherError(ErrorCode.UPSTREAM_ERROR, "warehouse down")
            return {"sku": sku}

        tool = make_tool(stock, envelope=GUARDED)
        attempts = []
        for _ in range(10 if mode == "trip" else 1):
            outcome = executor.execute(tool, {"sku": "A"}, call)
            attempts.append(dict(outcome.attempts[0]))
            if outcome.attempts[0].get("breaker_opened"):
                break
        report = {
            "executed": len(executed),
            "attempts": attempts,
            "state": executor.state.breaker("stock").value,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
