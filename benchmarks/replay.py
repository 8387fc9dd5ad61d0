"""Replay throughput on SQLite: deterministic replay and counterfactual replay of recorded runs.

The demo's scenarios are recorded once into a scratch store, then copied (runs and steps under
new ids) up to `--runs`. Timed per run, medians reported, beside the baseline measured in the
same run: reading the same runs back from the store, which every replay must do anyway.

    python benchmarks/replay.py --runs 2000

Targets (issue): deterministic replay ≥ 1,000 runs a minute; counterfactual replay of 10,000
runs in under 5 minutes (extrapolated from the per-run median here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from tether.release.source import read_release_dir, write_release_dir
from tether.runtime.replay import Replayer, first_change
from tether.sdk.candidate import candidate_desk
from tether.sdk.desk import build_desk
from tether.sdk.loader import load_domain
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore
from tether.store.schema import runs as runs_table
from tether.store.schema import steps as steps_table

FORBID = """
@id("no-cancellations")
@reason("cancellations are switched off")
forbid (principal, action == Action::"cancel_pending_order", resource);
"""


def record(store: RunStore, wanted: int) -> list[str]:
    """The demo's runs, copied under new ids until there are `wanted`; their ids."""
    domain = load_domain("retail")
    for scenario in load_scenarios(None, domain):
        run_scenario(domain, store, scenario)
    with store.engine.begin() as conn:
        run_rows = [dict(r) for r in conn.execute(select(runs_table)).mappings()]
        step_rows = [dict(r) for r in conn.execute(select(steps_table)).mappings()]
        by_run: dict[str, list[dict[str, Any]]] = {}
        for row in step_rows:
            by_run.setdefault(row["run_id"], []).append(row)
        ids = [r["id"] for r in run_rows]
        copy = 0
        while len(ids) < wanted:
            copy += 1
            new_runs, new_steps = [], []
            for row in run_rows[: wanted - len(ids)]:
                new_id = f"{row['id']}_c{copy}"
                # the run's row and steps may name the run (a pending action, an approval):
                # they name the copy
                named = {
                    k: v.replace(row["id"], new_id) for k, v in row.items() if isinstance(v, str)
                }
                new_runs.append({**row, **named, "id": new_id})
                new_steps.extend(
                    {**s, "run_id": new_id, "data": s["data"].replace(row["id"], new_id)}
                    for s in by_run.get(row["id"], ())
                )
                ids.append(new_id)
            conn.execute(insert(runs_table), new_runs)
            if new_steps:
                conn.execute(insert(steps_table), new_steps)
    return ids


def timed(ids: list[str], each: Callable[[str], object]) -> list[float]:
    times = []
    for run_id in ids:
        started = time.perf_counter()
        each(run_id)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-replay-bench-") as folder:
        os.environ["TETHER_HOME"] = folder
        store = RunStore.open(f"sqlite:///{Path(folder) / 'tether.db'}")
        ids = record(store, args.runs)
        domain = load_domain("retail")
        desk = build_desk(domain, store, approvals=True)
        replayer = Replayer(desk.runtime)
        assert desk.release is not None
        write_release_dir(desk.release.bundle(), Path(folder) / "candidate")
        rules = Path(folder) / "candidate" / "policies" / "store.cedar"
        rules.write_text(rules.read_text() + FORBID)
        bundle = read_release_dir(Path(folder) / "candidate")
        candidate = Replayer(candidate_desk(domain, store, bundle, Path(folder) / "work").runtime)
        identical, changed = 0, 0

        def replay(run_id: str) -> None:
            nonlocal identical
            identical += replayer.replay(store.get_run(run_id)).identical

        def counterfactual(run_id: str) -> None:
            nonlocal changed
            run = store.get_run(run_id)
            changed += first_change(run, candidate.replay(run)) is not None

        read = timed(ids, store.get_run)
        deterministic = timed(ids, replay)
        counter = timed(ids, counterfactual)
        store.close()
    read_ms = statistics.median(read) * 1000
    replay_ms = statistics.median(deterministic) * 1000
    counter_ms = statistics.median(counter) * 1000
    print(
        json.dumps(
            {
                "runs": len(ids),
                "identical": identical,
                "changed_under_candidate": changed,
                "median_ms_read_only": round(read_ms, 3),
                "median_ms_replay": round(replay_ms, 3),
                "median_ms_counterfactual": round(counter_ms, 3),
                "replay_vs_read": round(replay_ms / read_ms, 2),
                "replay_runs_per_min": round(len(ids) / sum(deterministic) * 60),
                "counterfactual_runs_per_min": round(len(ids) / sum(counter) * 60),
                "counterfactual_10k_runs_s": round(10_000 * sum(counter) / len(ids), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
