"""The overview renders in under a second with 10,000 runs in the store (the issue's bound).

The time asserted is the server's own (`Server-Timing: app;dur=…`, from the request reaching
the dashboard to the rendered page), the best of three renders per window, so that a busy spell
of a shared machine (the suite runs on two processes) does not read as a slow page; the wall
time seen by the client is reported beside it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.dashboard.conftest import HISTORY_RUNS, Site

BOUND_MS = 1000.0


def test_overview_renders_in_under_a_second_with_ten_thousand_runs(
    site: Site, record_property: Callable[[str, Any], None]
) -> None:
    assert site.desk.store.count_runs() >= HISTORY_RUNS
    server, wall = [], []
    with site.client() as client:
        for window in ("24h", "7d", "30d"):
            best, best_wall = float("inf"), float("inf")
            for _ in range(3):
                started = time.perf_counter()
                response = client.get("/overview", params={"window": window})
                best_wall = min(best_wall, (time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                timing = re.fullmatch(r"app;dur=([\d.]+)", response.headers["server-timing"])
                assert timing is not None
                best = min(best, float(timing.group(1)))
                runs = re.search(r'"tile-value"[^>]*>(\d+)<', response.text)
                assert runs is not None and int(runs.group(1)) >= HISTORY_RUNS
            server.append(best)
            wall.append(best_wall)
    record_property("overview_server_ms", server)
    record_property("overview_wall_ms", wall)
    print(
        f"\noverview with {HISTORY_RUNS} runs: server ms {server}, wall ms {[round(w, 1) for w in wall]}"
    )
    assert max(server) < BOUND_MS
