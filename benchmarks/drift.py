"""False alarms and detection power of the drift monitors, on synthetic traffic in memory.

Each trial draws a baseline window and a recent window (7 : 1 runs, as a week against a day)
and evaluates every monitor. On unchanging traffic, "fired" is the share of trials in which
any monitor fired (the false-alarm rate; nominal: alpha per evaluation) and "significant" the
share in which any monitor passed the significance gate alone. On shifted traffic (the tool
mix moves; refusals triple) "caught" is the share in which both shifted monitors fired. A
second table does the same for the business monitors: each one's own false-alarm rate, and how
often it catches a costlier model, more compliance incidents or runs missing audit events.

    python benchmarks/drift.py [--seeds 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from tether.observe.drift import DriftSettings, evaluate
from tether.observe.drift_calibration import Profile, draw_traffic, false_alarms, shifted

SIZES = ((350, 50), (1400, 200), (7000, 1000), (70_000, 10_000))
MOVED_TOOLS = {"find_user": 0.25, "get_order": 0.25, "get_product": 0.2, "cancel": 0.3}
MORE_REFUSALS = {"answer": 0.45, "action": 0.2, "escalation": 0.08, "refusal": 0.15}
MORE_REFUSALS["clarification"] = 0.12


def caught(seeds: int, baseline_runs: int, window_runs: int) -> float:
    """Share of trials in which both shifted monitors fired."""
    base = Profile()
    moved = shifted(base, tools=MOVED_TOOLS, decisions=MORE_REFUSALS)
    hits = 0
    for seed in range(seeds):
        rng = np.random.default_rng(10_000_000 + seed)
        results = evaluate(
            draw_traffic(rng, baseline_runs, base), draw_traffic(rng, window_runs, moved)
        )
        fired = {m.name for m in results if m.fired}
        hits += {"tool_call_mix", "refusal_rate"} <= fired
    return hits / seeds


BUSINESS_SHIFTS = {  # shown as -> (the monitor that should fire, what moved)
    "cost x1.5": ("cost_per_run", {"cost_median": Profile().cost_median * 1.5}),
    "cost x2": ("cost_per_run", {"cost_median": Profile().cost_median * 2}),
    "incidents x3": ("compliance_incident_rate", {"incident": 0.06}),
    "audit gaps 0.5%": ("audit_completeness", {"audit_gap": 0.005}),
}
BUSINESS = {"cost": "cost_per_run", "incidents": "compliance_incident_rate",
            "audit": "audit_completeness"}  # fmt: skip


def business_caught(seeds: int, baseline_runs: int, window_runs: int, shift: str) -> float:
    """Share of trials in which the shifted business monitor fired."""
    name, changes = BUSINESS_SHIFTS[shift]
    base = Profile()
    moved = shifted(base, **changes)
    hits = 0
    for seed in range(seeds):
        rng = np.random.default_rng(20_000_000 + seed)
        results = evaluate(
            draw_traffic(rng, baseline_runs, base), draw_traffic(rng, window_runs, moved)
        )
        hits += any(m.name == name and m.fired for m in results)
    return hits / seeds


def business_table(seeds: int, settings: DriftSettings) -> Table:
    table = Table(
        "baseline runs", "window runs",
        *(f"false alarms: {n}" for n in BUSINESS), *(f"caught: {s}" for s in BUSINESS_SHIFTS),
    )  # fmt: skip
    for baseline_runs, window_runs in SIZES[:3]:
        stable = false_alarms(seeds, baseline_runs, window_runs, settings=settings)
        table.add_row(
            str(baseline_runs),
            str(window_runs),
            *(f"{stable.monitor_rate(n):.4f}" for n in BUSINESS.values()),
            *(f"{business_caught(seeds, baseline_runs, window_runs, s):.3f}"
              for s in BUSINESS_SHIFTS),
        )  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000, help="trials per row")
    args = parser.parse_args()
    settings = DriftSettings()
    table = Table(
        "baseline runs", "window runs", "fired (false alarms)", "significant", "caught", "ms/eval"
    )
    for baseline_runs, window_runs in SIZES:
        seeds = args.seeds if window_runs <= 1000 else max(200, args.seeds // 5)
        started = time.perf_counter()
        stable = false_alarms(seeds, baseline_runs, window_runs, settings=settings)
        per_eval = (time.perf_counter() - started) * 1000 / seeds
        table.add_row(
            str(baseline_runs),
            str(window_runs),
            f"{stable.fired_rate:.4f}",
            f"{stable.significant_rate:.4f}",
            f"{caught(seeds, baseline_runs, window_runs):.3f}",
            f"{per_eval:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(business_table(min(args.seeds, 1000), settings))
    console.print(
        f"nominal false-alarm rate per evaluation: alpha = {settings.alpha} "
        f"({settings.alpha_each:.4g} per monitor); effect gates: |h| >= {settings.min_h}, "
        f"PSI >= {settings.min_psi}; at least {settings.min_samples} samples in each window"
    )


if __name__ == "__main__":
    main()
