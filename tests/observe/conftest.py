"""Desks wired to an observability of their own (fresh metrics, optional tracing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tether.core.types import Message, Run
from tether.models.scripted import ScriptedModel, parse_script
from tether.observe import Observability, TetherMetrics, Tracing
from tether.retail.db import RetailDB
from tether.retail.desk import RETAIL_AGENT, RetailDesk
from tether.retail.scenarios import load_scenarios
from tether.runtime import RunRequest
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


def open_desk(store: RunStore, obs: Observability) -> RetailDesk:
    return RetailDesk.open(store, db=RetailDB.fresh_copy(), observability=obs)


def ask(desk: RetailDesk, text: str, script: list[dict[str, Any]]) -> Run:
    model = ScriptedModel(parse_script(script))
    return desk.runtime.run(RunRequest(USER, [Message("user", text)]), model)


def run_demo(store: RunStore, obs: Observability) -> list[Run]:
    """Every built-in demo scenario, as `tether demo` runs them, observed by `obs`."""
    runs = []
    for scenario in load_scenarios():
        agent = RETAIL_AGENT
        if scenario.max_steps is not None:
            limits = dataclasses.replace(agent.limits, max_steps=scenario.max_steps)
            agent = dataclasses.replace(agent, limits=limits)
        desk = RetailDesk.open(store, db=RetailDB.fresh_copy(), agent=agent, observability=obs)
        request = RunRequest(scenario.principal, scenario.conversation())
        runs.append(desk.runtime.run(request, ScriptedModel(scenario.script)))
    return runs


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()
