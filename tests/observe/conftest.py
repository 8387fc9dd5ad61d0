"""Desks wired to an observability of their own (fresh metrics, optional tracing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tether.core.types import Message, Run
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.observe import Observability, TetherMetrics, Tracing
from tether.runtime import RunRequest
from tether.sdk import Desk
from tether.sdk.scenarios import load_scenarios, run_scenario, scenario_desk
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"
# looks an order up under a wrong id first (NOT_FOUND), then the right one, then answers
RECOVERY_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": EMAIL}},
    {"tool": "get_order_details", "args": {"order_id": "W4566809"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


def observability(tracing: Tracing | None = None) -> Observability:
    return Observability(TetherMetrics(), tracing)


def open_desk(store: RunStore, obs: Observability) -> Desk:
    return open_retail_desk(store, db=RetailDB.fresh_copy(), observability=obs)


def ask(desk: Desk, text: str, script: list[dict[str, Any]]) -> Run:
    model = ScriptedModel(parse_script(script))
    return desk.runtime.run(RunRequest(USER, [Message("user", text)]), model)


def run_demo(store: RunStore, obs: Observability) -> list[Run]:
    """Every built-in demo scenario, as `tether demo` runs them, observed by `obs`: every
    turn's run, in order."""
    runs = []
    for scenario in load_scenarios(None, RETAIL):
        desk = scenario_desk(RETAIL, store, scenario, observability=obs)
        result = run_scenario(RETAIL, store, scenario, desk=desk)
        turns = [t.outcome.run for t in result.turns if t.outcome is not None]
        runs.extend(store.get_run(r.id) for r in turns)
    return runs


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()
