"""Cost of one policy decision, including entity loading from the store and the validators.

Each proposal below is decided N times by the retail desk's policy check (store rules,
safeguards and house rules) over one in-memory copy of the store, after one warm-up decision:
the check reads the customer, the order and the payment methods from the store every time,
derives the context facts from the conversation, and asks Cedar. Then the full policy
evaluation harness runs once and its median is printed too. Never fails on wall time.

A second table times the decision alone on the same requests, three ways interleaved: without
request validation, with the schema handed to Cedar on every call, and with the engine's
compiled schema check (its default).

    python benchmarks/policy.py [--decisions 500] [--skip-eval]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from tether.core.guard import GuardContext
from tether.core.types import Message, Principal, ToolCall
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT
from tether.domains.retail.evaluation import evaluate_policies
from tether.domains.retail.policy import retail_policy_checks
from tether.domains.retail.tools import build_tools
from tether.policy.engine import PolicyEngine, PolicyRequest
from tether.tools.registry import ToolRegistry

USER = "raj_sanchez_2970"
CONVERSATION = (
    Message("user", "Exchange the notebook in #W7736708 and cancel #W4566809. Raj Sanchez, 92147."),
    Message(
        "assistant",
        "I'll exchange item 6574183535 in order #W7736708 for item 1199058591 with the card "
        "ending 2130, and cancel order #W4566809 because it is no longer needed. Go ahead?",
    ),
    Message("user", "Yes, please."),
)
PROPOSALS = {
    "lookup (find_user_id_by_name_zip)": (
        "find_user_id_by_name_zip",
        {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    ),
    "read (get_order_details)": ("get_order_details", {"order_id": "#W4566809"}),
    "write (cancel_pending_order)": (
        "cancel_pending_order",
        {"order_id": "#W4566809", "reason": "no longer needed"},
    ),
    "write (exchange, 4-item order)": (
        "exchange_delivered_order_items",
        {
            "order_id": "#W7736708",
            "item_ids": ["6574183535"],
            "new_item_ids": ["1199058591"],
            "payment_method_id": "credit_card_3362387",
        },
    ),
}


def decision_costs(engine: PolicyEngine, requests: dict[str, PolicyRequest], n: int) -> Table:
    """Median microseconds of one decision, by how its request is validated."""
    unchecked = PolicyEngine(engine.policies, validate_requests=False)
    by_cedar = PolicyEngine(engine.policies)
    by_cedar._validator = None  # the path the engine takes for a schema it cannot read itself
    ways: dict[str, Callable[[PolicyRequest], Any]] = {
        "no validation": unchecked.decide,
        "Cedar validates": by_cedar.decide,
        "compiled check (default)": engine.decide,
    }
    table = Table("decision only", *(f"{way} µs" for way in ways))
    for label, request in requests.items():
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(n):
            for way, decide in ways.items():  # interleaved, so load on the machine hits all
                start = time.perf_counter()
                decide(request)
                times[way].append((time.perf_counter() - start) * 1e6)
        table.add_row(label, *(f"{statistics.median(t):.0f}" for t in times.values()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()

    db = RetailDB.fresh_copy()
    tools = ToolRegistry(build_tools(db))
    check, _ = retail_policy_checks(db)
    principal = Principal(USER, "retail", ("customer",))
    table = Table("proposal", "effect", "median ms", "p95 ms")
    requests: dict[str, PolicyRequest] = {}
    for label, (name, arguments) in PROPOSALS.items():
        call = ToolCall("c1", name, arguments)
        messages = (*CONVERSATION, Message("assistant", "", (call,)))
        ctx = GuardContext("bench", principal, RETAIL_AGENT, tools, {}, messages=messages)
        requests[label] = check.binding.request_for_call(ctx, call, messages)
        effect = check(ctx, call).effect.value  # warm-up, and the effect to show
        times = []
        for _ in range(args.decisions):
            start = time.perf_counter()
            check(ctx, call)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        table.add_row(label, effect, f"{statistics.median(times):.3f}", f"{p95:.3f}")
    console = Console()
    console.print(table)
    console.print(decision_costs(check.engine, requests, args.decisions))
    if not args.skip_eval:
        report = evaluate_policies()
        console.print(
            f"tether eval policy: {report.gold_actions} gold actions, "
            f"{len(report.false_blocks)} false blocks, {report.violations_caught}/"
            f"{report.violations_injected} violations caught, "
            f"median {report.median_policy_ms:.3f} ms per policy decision (target <= 1 ms)"
        )


if __name__ == "__main__":
    main()
