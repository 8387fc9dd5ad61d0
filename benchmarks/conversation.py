"""What a conversation's next turn costs against a fresh run of the same turn.

A conversation is driven to `--turns` turns (each: two lookups, then a cited answer); then
its next turn is measured `--samples` times, interleaved with a fresh run (a new conversation's
first turn) doing the same calls, in one process on one SQLite file: once as the process that
ran the previous turn sees it (the conversation's state in memory, checked against the row),
once as another replica would (its messages and evidence read back from the store). A turn
writes only what it adds and reads nothing from earlier turns' steps, so the difference should
stay small. Prints medians and the differences; never fails on wall time.

    python benchmarks/conversation.py [--turns 20] [--samples 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import build_desk
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
TEXT = "What is the status of order #W4566809? I am raj.sanchez2046@example.com"
SCRIPT = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


def model() -> ScriptedModel:
    return ScriptedModel(parse_script(SCRIPT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        desk = build_desk(RETAIL, store, fresh=True)
        long, other = desk.runtime.converse(USER), desk.runtime.converse(USER)
        for _ in range(args.turns):
            long.send(TEXT, model())
            other.send(TEXT, model())
        for _ in range(3):  # warm both paths
            desk.runtime.converse(USER).send(TEXT, model())
        fresh_ms, next_ms, cold_ms = [], [], []
        for _ in range(args.samples):
            started = time.perf_counter()
            desk.runtime.converse(USER).send(TEXT, model())
            fresh_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            long.send(TEXT, model())
            next_ms.append((time.perf_counter() - started) * 1000)
            other.conversations.forget()  # as on a replica that did not run the last turn
            started = time.perf_counter()
            other.send(TEXT, model())
            cold_ms.append((time.perf_counter() - started) * 1000)
        store.close()
    fresh, later = statistics.median(fresh_ms), statistics.median(next_ms)
    cold = statistics.median(cold_ms)
    table = Table("turn", "median ms", title=f"a conversation past {args.turns} turns")
    table.add_row("a new conversation's first turn (baseline)", f"{fresh:.2f}")
    table.add_row(f"turn {args.turns + 1}+ of a long conversation", f"{later:.2f}")
    table.add_row("difference", f"{later - fresh:+.2f} ms ({later / fresh:.2f}x)")
    table.add_row("the same, its history read from the store", f"{cold:.2f}")
    table.add_row("difference", f"{cold - fresh:+.2f} ms ({cold / fresh:.2f}x)")
    Console().print(table)


if __name__ == "__main__":
    main()
