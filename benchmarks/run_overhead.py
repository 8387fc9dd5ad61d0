"""Overhead of the governed pipeline over calling the same tools directly.

The same scripted run (4 tool calls, then a cited answer) is executed N times through the
full pipeline (scope, retrieval, guard chain, envelope, persistence of every step on SQLite)
and N times as plain function calls, in one process. Prints medians and ratios; never fails
on wall time.

    python benchmarks/run_overhead.py [--runs 300] [--db PATH]

The overhead per call is the run's overhead spread over its calls, as the target is stated; a
run of the same calls made twice splits it into what each extra call adds and what a run pays
once (its scope and capability, retrieval, answer checks and commits), however many calls it
makes. The retail reads run inline (`Envelope.inline`: they look up the desk's in-process
database); the same run with every call handed to a worker thread, where a timeout is enforced
by abandoning the call, is measured beside it.

The same four calls made for a different customer every run (their own user, order and product
records, cycling through more customers than the verifier keeps indexed) are measured beside
the first run too: that is what a desk serving many customers pays, where the first figure reads
the same records again and again. Every figure is measured as `tether serve` and `tether worker`
run, with what start-up made frozen out of the cyclic collector (`tether.cli.heap`); the pass
for different customers is measured again after unfreezing it.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from tether.cli.heap import freeze_start_up
from tether.core.types import Message
from tether.domains.retail.db import RetailDB, packaged_data
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.store.runs import RunStore
from tether.tools.registry import ToolRegistry

USER = "raj_sanchez_2970"
CALLS = [
    ("find_user_id_by_email", {"email": "raj.sanchez2046@example.com"}),
    ("get_user_details", {"user_id": USER}),
    ("get_order_details", {"order_id": "#W4566809"}),
    ("get_product_details", {"product_id": "2985987096"}),
]
ANSWER = {"answer": "Order #W4566809 is pending [tool:3]."}
SCRIPT = parse_script([{"tool": name, "args": args} for name, args in CALLS] + [ANSWER])
# the same calls made twice: what a run pays per call beyond what it pays once per run
TWICE = parse_script([{"tool": name, "args": args} for name, args in CALLS * 2] + [ANSWER])
MESSAGE = [
    Message("user", "What is the status of order #W4566809? I am raj.sanchez2046@example.com")
]
CUSTOMERS = 400  # more than the verifier keeps indexed evidence items of (SHARED_ITEMS)


def customer_runs(count: int) -> list[tuple[RunRequest, list[Any]]]:
    """The same four calls and answer for `count` customers, each with their own records."""
    data = packaged_data()
    out: list[tuple[RunRequest, list[Any]]] = []
    for user_id in sorted(data["users"]):
        user = data["users"][user_id]
        if not user.get("orders"):
            continue
        order = data["orders"][user["orders"][0]]
        calls = [
            ("find_user_id_by_email", {"email": user["email"]}),
            ("get_user_details", {"user_id": user_id}),
            ("get_order_details", {"order_id": order["order_id"]}),
            ("get_product_details", {"product_id": order["items"][0]["product_id"]}),
        ]
        answer = {"answer": f"Order {order['order_id']} is {order['status']} [tool:3]."}
        script = parse_script([{"tool": n, "args": a} for n, a in calls] + [answer])
        text = f"What is the status of order {order['order_id']}? I am {user['email']}"
        out.append((RunRequest(user_id, [Message("user", text)]), script))
        if len(out) == count:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or Path(tmp) / "bench.db"
        store = RunStore.open(f"sqlite:///{db_path}")
        desk = open_retail_desk(store, db=RetailDB.fresh_copy())
        tools = {name: desk.runtime.tools.get(name) for name, _ in CALLS}

        def direct() -> None:
            for name, call_args in CALLS:
                tool = tools[name]
                assert tool is not None
                tool.fn(**call_args)

        # the same desk with every call handed to a worker thread, whatever its envelope says
        pooled = open_retail_desk(store, db=RetailDB.fresh_copy())
        registry = pooled.runtime.tools
        pooled.runtime.tools = ToolRegistry(
            t.with_envelope(replace(t.spec.envelope, inline=False))
            for t in (registry.get(n) for n in registry.names())
            if t is not None
        )

        def governed(script: Any = SCRIPT, on: Any = desk) -> None:
            run = on.runtime.run(RunRequest(USER, MESSAGE), ScriptedModel(script))
            assert run.decision is not None and run.decision.kind.value == "answer", run.decision

        customers = customer_runs(CUSTOMERS)
        turn = itertools.count()

        def for_each_customer() -> None:
            request, script = customers[next(turn) % len(customers)]
            run = desk.runtime.run(request, ScriptedModel(script))
            assert run.decision is not None and run.decision.kind.value == "answer", run.decision

        freeze_start_up()  # as `tether serve` and `tether worker` do before their first run
        direct_s = _measure(direct, args.runs, args.warmup)
        # alternated run by run, so that drift in the machine falls on both alike
        twice_s, governed_s = _alternate(lambda: governed(TWICE), governed, args.runs, args.warmup)
        pooled_s, inline_s = _alternate(
            lambda: governed(on=pooled), governed, args.runs, args.warmup
        )
        varied_s, same_s = _alternate(for_each_customer, governed, args.runs, args.warmup)
        gc.unfreeze()
        thawed_varied_s, thawed_s = _alternate(for_each_customer, governed, args.runs, 0)
        steps = store.get_run(store.list_runs(limit=1)[0].id).step_count
        statements, commits = _statements(store, governed, 10)
        store.close()

    d_med, g_med = statistics.median(direct_s), statistics.median(governed_s)
    overhead_run = g_med - d_med
    per_call = overhead_run / len(CALLS)
    # each extra call adds its own proposal, checks, envelope and steps, and the direct call
    marginal = (statistics.median(twice_s) - g_med) / len(CALLS) - d_med / len(CALLS)
    fixed = overhead_run - marginal * len(CALLS)
    table = Table(title=f"run overhead: {len(CALLS)} tool calls per run, {args.runs} runs, SQLite")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("direct calls, median per run", f"{d_med * 1e3:.3f} ms")
    table.add_row("governed run, median per run", f"{g_med * 1e3:.3f} ms")
    table.add_row("governed p90 per run", f"{_pct(governed_s, 0.9) * 1e3:.3f} ms")
    table.add_row("steps persisted per run", str(steps))
    table.add_row("SQL statements per run (driver level)", f"{statements:g}")
    table.add_row("transactions committed per run", f"{commits:g}")
    table.add_row("overhead per run (median)", f"{overhead_run * 1e3:.3f} ms")
    table.add_row("overhead per tool call (median)", f"{per_call * 1e3:.3f} ms  (target <= 1 ms)")
    table.add_row("governed runs per second", f"{1 / g_med:.0f}  (target >= 200)")
    table.add_row("  of which: marginal overhead per extra call", f"{marginal * 1e3:.3f} ms")
    table.add_row("  of which: once per run", f"{fixed * 1e3:.3f} ms")
    table.add_row("ratio governed / direct", f"{g_med / d_med:.1f}x")
    # a pass of its own, the two alternated run by run: compare them with each other
    p_med, i_med = statistics.median(pooled_s), statistics.median(inline_s)
    table.add_row("every call on a worker thread, median per run", f"{p_med * 1e3:.3f} ms")
    table.add_row("  beside the run as declared, same pass", f"{i_med * 1e3:.3f} ms")
    table.add_row("  worker thread costs per call", f"{(p_med - i_med) / len(CALLS) * 1e3:.3f} ms")
    # a pass of its own too: each run for another customer, beside the same customer's run
    v_med, s_med = statistics.median(varied_s), statistics.median(same_s)
    table.add_row("a different customer each run, median per run", f"{v_med * 1e3:.3f} ms")
    table.add_row("  beside the same customer's run, same pass", f"{s_med * 1e3:.3f} ms")
    table.add_row(
        "  overhead per tool call, a different customer each run",
        f"{(v_med - d_med) / len(CALLS) * 1e3:.3f} ms",
    )
    table.add_row("  governed runs per second, a different customer each run", f"{1 / v_med:.0f}")
    table.add_row(
        "start-up heap not frozen: a different customer, same customer",
        f"{statistics.median(thawed_varied_s) * 1e3:.3f} ms, "
        f"{statistics.median(thawed_s) * 1e3:.3f} ms",
    )
    Console().print(table)


def _measure(fn: object, runs: int, warmup: int) -> list[float]:
    assert callable(fn)
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _alternate(
    first: Callable[[], None], second: Callable[[], None], runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        first()
        second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for fn, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return a, b


def _statements(store: RunStore, fn: Callable[[], None], runs: int) -> tuple[float, float]:
    """Statements the store's driver executes per run (each row of a batch insert counted),
    and commits per run, over `runs` runs after the timed ones."""
    seen: Counter[str] = Counter()

    def trace(statement: str) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    def watch(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(trace)

    event.listen(store.engine, "checkout", watch)
    store.engine.dispose()  # pooled connections are checked out again, and watched
    try:
        for _ in range(runs):
            fn()
    finally:
        event.remove(store.engine, "checkout", watch)
        store.engine.dispose()
    return sum(seen.values()) / runs, seen["COMMIT"] / runs


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    main()
