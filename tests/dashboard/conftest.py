"""One dashboard site for the session: a desk whose store holds a synthetic day of 10,000 runs,
every demo scenario, and live runs made through the API (a retried tool call, a tool whose
breaker opened, a tool output full of markup), served by uvicorn on 127.0.0.1.

The browser is the system's Chromium driven by Playwright; nothing is ever downloaded. Without
Chromium the browser tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import IN_CI
from tests.dashboard.seed import seed_history
from tests.server.conftest import open_desk, order_run_body, serve
from tether.approvals import Approval, ApprovalService, EscalationConfig
from tether.core.envelope import BreakerPolicy, Envelope, RetryPolicy
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.server.app import create_app
from tether.tools.registry import Tool, ToolRegistry

CHROMIUM = os.environ.get("TETHER_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HISTORY_RUNS = 10_000
ROLES = ("viewer", "approver", "admin", "service")
# `make screenshots` points this at docs/screenshots; test runs keep the repo untouched.
SCREENSHOTS = Path(
    os.environ.get("TETHER_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "tether-screenshots"
)
MARKUP = "<script>alert(2)</script>"
USER_MARKUP = '<img src=x onerror="alert(1)">'


@dataclass
class Site:
    url: str
    desk: Desk
    app: FastAPI
    keys: dict[str, str]
    approvals: ApprovalService
    runs: dict[str, str] = field(default_factory=dict)  # label or scenario name -> run id
    history: list[str] = field(default_factory=list)

    def client(self, role: str | None = "viewer", **headers: str) -> httpx.Client:
        """A client of the site sending `role`'s key (None: no key at all)."""
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def escalate(self) -> tuple[str, Approval]:
        """Start (as admin) a large return that the house rules escalate: the run is suspended
        and an approval request opened. Returns the run id and the request."""
        actor = "operator:" + self.keys["admin"].split(".", 1)[0].removeprefix("tk_")
        asked = LARGE_RETURN.turns[0]
        assert asked.user is not None
        conversation = self.desk.runtime.converse(LARGE_RETURN.principal)
        first = conversation.send(asked.user, ScriptedModel(asked.model), {"operator": actor})
        assert first.pending_action is not None, first.to_dict()
        rest: list[dict[str, Any]] = [{"answer": "Your return is requested [tool:3]."}]
        meta = {"operator": actor, "script": rest}
        model = ScriptedModel(parse_script(rest))
        run = conversation.confirm(first.pending_action.nonce, model, meta)
        (approval,) = self.approvals.list(run_id=run.run.id)
        return run.run.id, approval


# the demo's large return: proposed, confirmed by the customer, then escalated for a
# supervisor; once approved, the script answers. Approving it changes the order, so tests
# that approve build a site of their own.
LARGE_RETURN = next(s for s in load_scenarios(None, RETAIL) if s.name == "large-return-escalated")


def page_text(response: httpx.Response, status: int = 200) -> str:
    """The page's text with entities decoded, after checking its status, that it is HTML, and
    that it holds no script element at all."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert "<script" not in response.text
    return html.unescape(response.text)


def form_token(page: str) -> str:
    """The anti-forgery token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


def log_in(client: httpx.Client, key: str) -> httpx.Response:
    """Log in as a browser does: fetch the form (its token, and the cookie it pairs with), then
    post it from the site's own origin."""
    token = form_token(client.get("/login").text)
    origin = str(client.base_url).rstrip("/")
    return client.post("/login", data={"key": key, "csrf_token": token}, headers={"Origin": origin})


def _failing(times: int | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a tool function to raise ConnectionError on its first `times` calls (None: always)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        calls = {"n": 0}

        def call(**arguments: Any) -> Any:
            calls["n"] += 1
            if times is None or calls["n"] <= times:
                raise ConnectionError("the warehouse service did not answer")
            return fn(**arguments)

        return call

    return wrap


def faulty_tools(tools: ToolRegistry) -> ToolRegistry:
    """The desk's tools, with `get_order_details` failing once (then retried) and
    `get_item_details` always failing, under a breaker that opens after two failures."""
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005)
    flaky = Envelope(timeout_s=5.0, retry=retry, breaker=BreakerPolicy(min_calls=50))
    down = Envelope(
        timeout_s=5.0,
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.001, max_delay_s=0.005),
        breaker=BreakerPolicy(failure_rate=0.5, window_s=600, min_calls=2, open_s=3600),
    )
    out: list[Tool] = []
    for name in tools.names():
        tool = tools.get(name)
        assert tool is not None
        if name == "get_order_details":
            tool = dataclasses.replace(tool.with_envelope(flaky), fn=_failing(1)(tool.fn))
        elif name == "get_item_details":
            tool = dataclasses.replace(tool.with_envelope(down), fn=_failing(None)(tool.fn))
        out.append(tool)
    return ToolRegistry(out)


def _start(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/runs?wait=60", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@contextmanager
def open_site(directory: Path, history_runs: int) -> Iterator[Site]:
    """A served site over a new store: `history_runs` synthetic runs and the demo scenarios
    (when asked for), then live runs through the API with the faulty tools."""
    desk = open_desk(directory)
    history, runs = [], {}
    if history_runs:
        # history first: its rollups are plain inserts, live runs then add to them by upsert
        history = seed_history(desk.store, history_runs, time.time() - 120)
        runs = {
            s.name: run_scenario(RETAIL, desk.store, s).run.id for s in load_scenarios(None, RETAIL)
        }
    approvals = desk.enable_approvals(EscalationConfig())  # the dashboard decides through it
    desk.runtime = dataclasses.replace(desk.runtime, tools=faulty_tools(desk.runtime.tools))
    app = create_app(desk)
    keys = {r: app.state.operators.create(r, name=f"{r} (tests)", actor="tests")[0] for r in ROLES}
    with serve(app) as url:
        built = Site(url, desk, app, keys, approvals, runs, history)
        with built.client("admin") as admin:
            runs["retried"] = _start(admin, order_run_body())
            item = [{"tool": "get_item_details", "args": {"item_id": "1008292230"}}]
            for label in ("breaker-opened", "breaker-open"):
                runs[label] = _start(
                    admin,
                    {
                        "principal": "raj_sanchez_2970",
                        "input": "Is item 1008292230 in stock?",
                        "script": [*item, {"refuse": "The stock service is down."}],
                    },
                )
            runs["markup"] = _start(
                admin,
                {
                    "principal": "raj_sanchez_2970",
                    "input": f"Help {USER_MARKUP}",
                    "script": [{"tool": "transfer_to_human_agents", "args": {"summary": MARKUP}}],
                },
            )
        yield built


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The session's site: a day of 10,000 runs, the demo, live runs. Nothing here approves."""
    with open_site(tmp_path_factory.mktemp("dashboard"), HISTORY_RUNS) as built:
        yield built


@pytest.fixture
def fresh_site(tmp_path: Path) -> Iterator[Site]:
    """A site of its own, for a test that approves (and so changes the retail data)."""
    with open_site(tmp_path, 0) as built:
        yield built


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system's Chromium under Playwright (skipped without it, failed in CI)."""
    path = shutil.which(CHROMIUM)
    if path is None:
        message = (
            f"Chromium not found at {CHROMIUM}: run `make browser` (installs Debian's chromium "
            "package as root) or set TETHER_CHROMIUM to a Chromium binary"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
