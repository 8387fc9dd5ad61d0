"""Fail closed over HTTP: POST /v1/runs answers with a run that carries a Decision, never a 500,
when the model proposes numbers JSON cannot carry or fails outright; a script holding such
numbers is refused before any run exists; and `tether audit verify` still passes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.cli.test_cli import tether
from tests.server.conftest import ORDER_QUESTION
from tether.core.types import ModelTurn, ToolCall, TurnKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelAdapter, ModelRequest
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore

Serve = Callable[[FastAPI], httpx.Client]
BODY = {"principal": "raj_sanchez_2970", "messages": [{"role": "user", "content": ORDER_QUESTION}]}


class NonFiniteModel:
    """Stands in for a hosted LLM whose tool call carries numbers JSON cannot carry."""

    name = "hosted"

    def __init__(self, value: float) -> None:
        self.value = value

    def propose(self, request: ModelRequest) -> ModelTurn:
        args = {"order_id": "#W4566809", "limits": {"max": [self.value]}}
        return ModelTurn(
            TurnKind.TOOL_CALLS, tool_calls=(ToolCall("c1", "get_order_details", args),)
        )


class BrokenModel:
    """Stands in for a hosted LLM adapter with a bug."""

    name = "hosted"

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise AttributeError("'NoneType' object has no attribute 'choices'")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Desk]]:
    """A desk over `TETHER_HOME/tether.db`, where the `tether` command looks too."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    yield tmp_path, desk
    store.close()


def _stored_json_is_canonical(desk: Desk) -> None:
    with desk.store.engine.connect() as conn:
        texts = [r[0] for r in conn.execute(text("SELECT data FROM steps"))]
        texts += [r[0] for r in conn.execute(text("SELECT input FROM runs"))]
        texts += [r[0] for r in conn.execute(text("SELECT data FROM audit_events"))]
    for item in texts:
        json.loads(item, parse_constant=lambda c: pytest.fail(f"{c} stored"))


def _audit_verifies(home: Path) -> None:
    proc = tether("audit", "verify", "--json", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("1e400")])
def test_a_model_proposing_non_finite_numbers_gets_a_refusal_not_a_500(
    home: tuple[Path, Desk], serve_app: Serve, value: float
) -> None:
    directory, desk = home
    model: ModelAdapter = NonFiniteModel(value)
    client = serve_app(create_app(desk, model_factory=lambda: model))
    response = client.post("/v1/runs?wait=60", json=BODY)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "completed"
    assert run["decision"]["kind"] == "refusal"
    assert run["decision"]["reason"]["code"] == "INVALID_ARGUMENTS"
    assert not [s for s in run["steps"] if s["kind"] in ("guard", "tool")]
    assert client.get(f"/v1/runs/{run['id']}").json()["decision"] == run["decision"]
    _stored_json_is_canonical(desk)
    _audit_verifies(directory)


def test_a_script_with_non_finite_numbers_is_refused_before_a_run_exists(
    home: tuple[Path, Desk], serve_app: Serve
) -> None:
    _, desk = home
    client = serve_app(create_app(desk))
    turn = '{"tool": "get_order_details", "args": {"order_id": "#W4566809", "n": [1, NaN]}}'
    raw = json.dumps(BODY)[:-1] + f', "script": [{turn}]}}'
    response = client.post(
        "/v1/runs?wait=60", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "SCENARIO_INVALID"
    assert desk.store.count_runs() == 0


def test_a_model_adapter_that_raises_ends_the_run_in_an_escalation(
    home: tuple[Path, Desk], serve_app: Serve
) -> None:
    directory, desk = home
    client = serve_app(create_app(desk, model_factory=BrokenModel))
    response = client.post("/v1/runs?wait=60", json=BODY)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == "completed" and run["decision"]["kind"] == "escalation"
    assert run["decision"]["reason"] == {
        "code": "INTERNAL",
        "message": "the run failed (AttributeError)",
    }
    assert "choices" not in response.text  # the error's message stays in the log
    _audit_verifies(directory)
