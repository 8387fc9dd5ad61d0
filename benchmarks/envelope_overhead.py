"""Overhead of the tool envelope per call, with no faults.

One cheap tool is called N times each way, in one process: directly, inside a plain
hand-written try/except retry loop, through the full envelope (argument validation, rate
limit, circuit breaker, timeout on a worker thread, output check, attempt record, cached
fallback bookkeeping) with in-process state, and through the same envelope with its state in
Redis when Redis is reachable. Prints medians and the overhead against both baselines; never
fails on wall time.

    python benchmarks/envelope_overhead.py [--calls 20000] [--redis-calls 3000] [--redis URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    FallbackPolicy,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode, TetherError
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.redis_state import RedisState
from tether.tools.shared_state import InProcessState, SharedState

FULL = Envelope(
    timeout_s=2.0,
    retry=RetryPolicy(max_attempts=3),
    breaker=BreakerPolicy(failure_rate=0.5, window_s=30, min_calls=20, open_s=30),
    rate_limit=RateLimitPolicy(
        per_tool=TokenBucket(rate_per_s=1e9, burst=1_000_000),
        per_principal=TokenBucket(rate_per_s=1e9, burst=1_000_000),
    ),
    fallback=(FallbackPolicy.cached(), FallbackPolicy.escalate()),
)
ARGS = {"order_id": "#W4566809"}
CALL = CallContext(run_id="run_bench", step_seq=3, principal_id="raj_sanchez_2970")


def get_order_status(order_id: str) -> dict[str, str]:
    """The tool: cheap, so the table shows the envelope's own cost."""
    return {"order_id": order_id, "status": "pending"}


def hand_written_retry() -> dict[str, str]:
    """What people write by hand: a few attempts, exponential backoff, no timeout."""
    for attempt in range(3):
        try:
            return get_order_status(**ARGS)
        except (TimeoutError, ConnectionError, TetherError) as exc:
            if isinstance(exc, TetherError) and not exc.code.retryable:
                raise
            time.sleep(0.05 * 2**attempt)
    raise TetherError(ErrorCode.TOOL_UNAVAILABLE, "gave up")


def enveloped(state: SharedState) -> Callable[[], object]:
    executor = EnvelopeExecutor(state)
    tool = make_tool(get_order_status, envelope=FULL)

    def call() -> object:
        outcome = executor.execute(tool, ARGS, CALL)
        assert outcome.ok, outcome
        return outcome

    return call


def per_call_us(fn: Callable[[], object], calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        fn()
        samples.append((clock() - start) / 1000)
    return samples


def redis_state(url: str) -> RedisState | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # absent Redis only drops its row from the table
        return None
    return RedisState(url, prefix=f"tether-bench:{uuid.uuid4().hex[:8]}:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--redis-calls", type=int, default=3_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    rows: list[tuple[str, list[float], str]] = [
        ("direct call", per_call_us(lambda: get_order_status(**ARGS), args.calls, args.warmup), ""),
        (
            "hand-written try/except retry",
            per_call_us(hand_written_retry, args.calls, args.warmup),
            "",
        ),
        (
            "full envelope, in-process state",
            per_call_us(enveloped(InProcessState()), args.calls, args.warmup),
            "<= 50 us",
        ),
    ]
    shared = redis_state(args.redis)
    if shared is not None:
        samples = per_call_us(enveloped(shared), args.redis_calls, args.warmup)
        rows.append(("full envelope, Redis state", samples, "<= 1000 us"))

    direct = statistics.median(rows[0][1])
    loop = statistics.median(rows[1][1])
    table = Table(title=f"envelope overhead per call (median of {args.calls} calls; no faults)")
    for column in ("path", "median", "p90", "over direct", "over try/except", "target"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, samples, target in rows:
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        table.add_row(
            name,
            f"{median:.2f} us",
            f"{p90:.2f} us",
            f"{median - direct:.2f} us",
            f"{median - loop:.2f} us",
            target,
        )
    console = Console(width=120)
    console.print(table)
    if shared is None:
        console.print(f"Redis at {args.redis} is not reachable: its row is left out.")
    else:
        shared.close()


if __name__ == "__main__":
    main()
