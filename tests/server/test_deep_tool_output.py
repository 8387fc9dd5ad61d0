"""A run whose tool returned output the envelope accepted can be read back over the HTTP API:
the envelope refuses output no part of tether can return (BAD_OUTPUT), or the API returns it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, serve
from tether import Agent, Principal, tool
from tether.sdk import Domain, DomainParts, build_desk
from tether.sdk.domain import DeskContext
from tether.server.app import create_app
from tether.store import RunStore

DEPTH = 260  # a category tree, a reply thread: deep, but plain finite JSON


class Members:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="library", roles=("member",))


def setup(ctx: DeskContext) -> DomainParts:
    @tool
    def shelf_tree(depth: int) -> dict[str, Any]:
        """The library's shelf hierarchy, as deep as asked."""
        node: Any = "book"
        for _ in range(depth):
            node = {"shelf": node}
        return {"tree": node}

    return DomainParts(tools=[shelf_tree], principals=Members(), rights={"member": ()})


LIBRARY = Domain(
    name="library",
    version="1.0",
    setup=setup,
    agents=(Agent("library-desk", "Help.", ("shelf_tree",), require_grounding=False),),
)


def test_run_with_deep_tool_output_is_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        app = create_app(build_desk(LIBRARY, store))
        headers = admin_headers(app)
        with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as api:
            started = api.post(
                "/v1/runs?wait=20",
                json={
                    "principal": "ann",
                    "messages": [{"role": "user", "content": "How are the shelves laid out?"}],
                    "script": [
                        {"tool": "shelf_tree", "args": {"depth": DEPTH}},
                        {"answer": "Here is the layout."},
                    ],
                },
            )
            runs = store.list_runs()
            assert len(runs) == 1 and runs[0].decision is not None
            shown = api.get(f"/v1/runs/{runs[0].id}")
        assert started.status_code < 500, started.text
        assert shown.status_code == 200, shown.text
        decision = shown.json()["decision"]
        assert decision["kind"] == "escalation" and decision["reason"]["code"] == "BAD_OUTPUT"
    finally:
        store.close()
