"""Each domain pack's scenarios through the governed runtime, against calling the same tools
directly, in one process on one SQLite file.

For every pack (retail, clinic by default) the scenarios of its demo run `--rounds` times
each, as conversations on fresh copies of the pack's data; the baseline calls the scripted
tools of the same scenarios directly, with the same arguments. Prints medians per turn and
the ratio; never fails on wall time.

    python benchmarks/domain_runs.py [--domains retail clinic] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tether.sdk import load_domain, load_scenarios, run_scenario, scenario_desk
from tether.store.runs import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", nargs="+", default=["retail", "clinic"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    table = Table("domain", "samples", "governed ms/turn", "direct ms/turn", "ratio")
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        for name in args.domains:
            domain = load_domain(name)
            scenarios = load_scenarios(None, domain)
            governed, direct = [], []
            for _ in range(args.rounds):
                for scenario in scenarios:
                    desk = scenario_desk(domain, store, scenario)
                    turns = max(1, len(scenario.turns))
                    started = time.perf_counter()
                    run_scenario(domain, store, scenario, desk=desk)
                    governed.append((time.perf_counter() - started) * 1000 / turns)
                    fresh = scenario_desk(domain, store, scenario)
                    started = time.perf_counter()
                    for turn in scenario.script:
                        tool = fresh.runtime.tools.get(turn.tool or "")
                        if tool is not None and turn.args is not None:
                            # a scenario may call a tool that refuses: that is a call too
                            with contextlib.suppress(Exception):
                                tool(**tool.bind(tool.validate(turn.args)))
                    direct.append((time.perf_counter() - started) * 1000 / turns)
            g, d = statistics.median(governed), statistics.median(direct)
            table.add_row(
                name, str(len(governed)), f"{g:.2f}", f"{d:.3f}", f"{g / d:.0f}x" if d else "-"
            )
        store.close()
    Console().print(table)


if __name__ == "__main__":
    main()
