"""The dashboard's pages over HTTP: who may see and do what, filters and their bad values, and
what each page shows of the record (lineage, verdicts, attempts, breakers, rules, audit)."""

from __future__ import annotations

import html
import json
import re
import time

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import text

from tests.dashboard.conftest import MARKUP, USER_MARKUP, Site, log_in, page_text
from tests.dashboard.seed import AGENTS
from tests.observe.business_traffic import PRICES, REL_A, REL_B, traffic, write
from tests.server.conftest import open_desk, order_run_body, serve
from tether.core.errors import ErrorCode
from tether.domains.retail.policy import retail_engine
from tether.observe.kpi_store import KpiStore
from tether.server.app import create_app
from tether.store.runs import RunFilter

PAGES = ("/overview", "/", "/approvals", "/tools", "/policies", "/rollouts", "/drift", "/audit")


def run_ids(page: str) -> list[str]:
    return re.findall(r'href="[^"]*/runs/(run_[0-9a-f]+)"', page)


# -- who may see and do what -----------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/runs/{run}", "/runs/{run}/steps/1"])
def test_every_page_needs_a_key_with_read_rights(site: Site, path: str) -> None:
    path = path.format(run=site.runs["retried"])
    with site.client(None) as anonymous:
        login = page_text(anonymous.get(path), 401)
        assert "AUTH_REQUIRED" in login and 'name="key"' in login
    with site.client("service") as service:
        assert "ROLE_FORBIDDEN" in page_text(service.get(path), 403)
    for role in ("viewer", "approver", "admin"):
        with site.client(role) as client:
            page = page_text(client.get(path))
            assert f"{role} (tests) · {role}" in page  # who is signed in, beside "Log out"


def test_login_lands_on_the_overview(site: Site) -> None:
    with site.client(None) as browser_like:
        done = log_in(browser_like, site.keys["viewer"])
        assert done.status_code == 303 and done.headers["location"].endswith("/overview")
        assert "Overview" in page_text(browser_like.get("/overview"))


# -- the runs list -----------------------------------------------------------------------------


def count_chip(page: str, label: str) -> int:
    found = re.search(rf">\s*{label} <span class=\"count\">(\d+)</span>", page)
    assert found is not None, label
    return int(found.group(1))


def test_runs_filter_by_error_code(site: Site) -> None:
    with site.client() as client:
        page = page_text(client.get("/", params={"code": "POLICY_ESCALATED"}))
    expected = site.desk.store.count_runs(RunFilter(decision_code="POLICY_ESCALATED"))
    assert expected > 1 and count_chip(page, "all") == expected
    assert count_chip(page, "escalation") == expected and count_chip(page, "answer") == 0
    ids = run_ids(page)
    assert site.runs["large-return-escalated"] in ids
    assert all(
        site.desk.store.get_run(i, with_steps=False).decision.reason.code  # type: ignore[union-attr]
        is ErrorCode.POLICY_ESCALATED
        for i in ids
    )


def test_runs_filter_by_agent_time_and_principal(site: Site) -> None:
    store = site.desk.store
    newest = store.get_run(site.runs["markup"], with_steps=False)
    since = newest.created_at - 3600
    with site.client() as client:
        page = page_text(client.get("/", params={"agent": AGENTS[1]}))
        assert count_chip(page, "all") == store.count_runs(RunFilter(agent=AGENTS[1])) > 0
        hour = page_text(client.get("/", params={"since": _minute(since)}))
        recent = store.count_runs(RunFilter(since=_minute_start(since)))
        assert count_chip(hour, "all") == recent and 0 < recent < len(site.history)
        theirs = page_text(client.get("/", params={"principal": "raj_sanchez_2970"}))
        assert site.runs["markup"] in run_ids(theirs)
        assert count_chip(theirs, "all") == store.count_runs(
            RunFilter(principal_id="raj_sanchez_2970")
        )


def _minute(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M")


def _minute_start(ts: float) -> float:
    return float(int(ts // 60) * 60)


def test_runs_pages_through_ten_thousand_runs(site: Site) -> None:
    with site.client() as client:
        first = page_text(client.get("/"))
        total = count_chip(first, "all")
        assert total >= 10_000
        pages = -(-total // 25)
        assert f"page 1 of {pages} · {total} runs" in first
        last = page_text(client.get("/", params={"page": str(pages)}))
        assert 1 <= len(run_ids(last)) <= 25 and 'rel="next"' not in last
        assert "past the last page" in page_text(client.get("/", params={"page": pages + 1}), 400)


@pytest.mark.parametrize(
    "params",
    [
        {"code": "NOT_A_CODE"},
        {"decision": "maybe"},
        {"since": "yesterday"},
        {"since": "2025-01-02T00:00", "until": "2025-01-01T00:00"},
        {"agent": "a" * 257},
        {"page": "0"},
        {"page": "-1"},
        {"page": "9" * 40},
    ],
)
def test_runs_reject_malformed_filters(site: Site, params: dict[str, str]) -> None:
    with site.client() as client:
        assert "BAD_REQUEST" in page_text(client.get("/", params=params), 400)


# -- the overview ------------------------------------------------------------------------------


def tile(page: str, label: str) -> str:
    found = re.search(
        rf'<span class="tile-label">{re.escape(label)}</span>\s*<(?:a|span) class="tile-value"'
        r"[^>]*>([^<]+)<",
        page,
    )
    assert found is not None, label
    return found.group(1)


def test_overview_windows_and_agents(site: Site) -> None:
    with site.client() as client:
        day = page_text(client.get("/overview"))
        hour = page_text(client.get("/overview", params={"window": "1h"}))
        returns = page_text(client.get("/overview", params={"agent": AGENTS[1]}))
        assert "BAD_REQUEST" in page_text(client.get("/overview", params={"window": "2w"}), 400)
    assert int(tile(day, "Runs")) >= 10_000
    assert 0 < int(tile(hour, "Runs")) < int(tile(day, "Runs"))
    assert 0 < int(tile(returns, "Runs")) < int(tile(day, "Runs"))
    for label in ("Success rate", "Refused by verification", "Tool error rate", "Escalation rate"):
        assert re.fullmatch(r"\d+\.\d%", tile(day, label)), label
    assert "hallucination" not in day.lower()  # the verifier's suspicion is not named as fact
    assert "Answer verification" in day and "unsupported claims" in day
    assert re.fullmatch(r"\d+ ms · [\d.]+ m?s", tile(day, "Latency p50 · p95"))
    # six charts, each with data over the day
    assert day.count('<figure class="chart">') == 6 and "no data in this window" not in day
    assert re.search(r'<path class="line ok" d="M[\d.]+ [\d.]+ L', day)


def test_overview_escapes_what_it_echoes(site: Site) -> None:
    with site.client() as client:
        response = client.get("/overview", params={"agent": "<script>alert(5)</script>"})
    page = page_text(response)
    assert "<script>alert(5)</script>" in page  # shown as text after unescaping
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in response.text


# -- one run and one step ----------------------------------------------------------------------


def test_run_shows_retries_token_lineage_and_feedback(site: Site) -> None:
    run_id = site.runs["retried"]
    with site.client("admin") as admin:
        given = admin.post(
            f"/v1/runs/{run_id}/feedback",
            json={"resolved": True, "csat": 4, "note": "quick <b>help</b>", "given_by": "ops"},
        )
        assert given.status_code == 201, given.text
        response = admin.get(f"/runs/{run_id}")
    page = page_text(response)
    # the tool attempts: the first failed and was retried, the breaker stayed closed
    assert re.search(r"<code class=\"code error\">TOOL_UNAVAILABLE</code>", response.text)
    assert "retry after" in page and 'class="badge breaker-closed">closed<' in response.text
    # the capability token and its scopes
    assert 'class="badge scope">retail:read<' in response.text
    assert "retail:write" in page and "owner = <code>raj_sanchez_2970</code>" in page
    # lineage: the order lookup is cited evidence; the guard allowed it; the answer passed
    assert re.search(r'class="card cited">\s*<div class="card-head"><a href="#ev-tool-2">', page)
    assert "<code>get_order_details</code> · guard" in page and "<code>tool:2</code>" in page
    assert "groundedness 1.0" in page
    # feedback, escaped like everything else
    assert "quick <b>help</b>" in page and "&lt;b&gt;help&lt;/b&gt;" in response.text
    # the run's audit events
    assert "run.started" in page


def test_run_shows_contradicted_claims_with_their_evidence(site: Site) -> None:
    with site.client() as client:
        page = page_text(client.get(f"/runs/{site.runs['hallucinated-refund-timeline']}"))
    # both attempts, each in the lineage and in its answer check's per-claim table
    assert page.count('class="badge claim-contradicted">contradicted<') == 4
    assert page.count('<table class="claims compact">') == 2
    assert "the refund takes 5 to 7 business days to arrive." in page
    assert "CLAIM_CONTRADICTED" in page and "answer 2 checked at" in page


def test_step_page_shows_one_step_in_full(site: Site) -> None:
    run = site.desk.store.get_run(site.runs["breaker-opened"])
    tool = next(s for s in run.steps if s.kind.value == "tool")
    with site.client() as client:
        response = client.get(f"/runs/{run.id}/steps/{tool.seq}")
        missing = client.get(f"/runs/{run.id}/steps/999")
        word = client.get(f"/runs/{run.id}/steps/one")
    page = page_text(response)
    assert f"step {tool.seq} of {len(run.steps)}" in page
    assert 'rel="prev"' in page and 'rel="next"' in page
    assert 'breaker-open">open<' in response.text and "opened" in page
    assert '"code": "TOOL_UNAVAILABLE"' in page  # the recorded data, in full
    for bad in (missing, word):
        assert "RUN_NOT_FOUND" in page_text(bad, 404)


def test_recorded_markup_is_text_on_every_page(site: Site) -> None:
    run = site.desk.store.get_run(site.runs["markup"])
    tool = next(s for s in run.steps if s.kind.value == "tool")
    with site.client() as client:
        pages = {
            f"/runs/{run.id}": (MARKUP, USER_MARKUP),
            f"/runs/{run.id}/steps/{tool.seq}": (MARKUP,),
            "/": (USER_MARKUP,),
        }
        for path, shown in pages.items():
            response = client.get(path)
            page = page_text(response)  # asserts no <script in the raw HTML
            for markup in shown:
                assert markup in page and str(escape(markup)) in response.text
            assert "<img" not in response.text


# -- tools, policies, audit --------------------------------------------------------------------


def tool_row(page: str, name: str) -> str:
    found = re.search(rf'<tr id="tool-{name}">(.*?)</tr>', page, re.S)
    assert found is not None, name
    return found.group(1)


def test_tools_show_health_breakers_and_envelopes(site: Site) -> None:
    with site.client() as client:
        page = client.get("/tools").text
    down = tool_row(page, "get_item_details")
    assert 'breaker-open">open<' in down
    times = "\u00d7"  # the multiplication sign the page writes between a code and its count
    assert f"TOOL_UNAVAILABLE</code> {times} 1" in down and f"CIRCUIT_OPEN</code> {times} 1" in down
    assert "breaker opens at 50.0% of ≥ 2 calls in 600 s, for 3600 s" in html.unescape(down)
    flaky = tool_row(page, "get_order_details")
    assert 'breaker-closed">closed<' in flaky and "3 attempt(s)" in flaky
    assert "1 breaker(s) not closed" in page
    assert "(inline: measured, not enforced)" in tool_row(page, "get_user_details")
    assert "inline" not in tool_row(page, "cancel_pending_order")  # writes go to a worker
    assert len(re.findall(r'<tr id="tool-', page)) == len(site.desk.runtime.tools.names())


def test_policies_list_the_loaded_rules_with_hits(site: Site) -> None:
    with site.client() as client:
        page = html.unescape(client.get("/policies").text)
    rules = {meta.rule for meta in retail_engine().policies.meta.values()}
    shown = set(re.findall(r'<tr id="rule-([a-z0-9-]+)">', page))
    assert shown == rules
    row = re.search(r'<tr id="rule-supervisor-approval-large-return">(.*?)</tr>', page, re.S)
    hits = KpiStore(site.desk.store.engine).rule_hit_counts()  # all of it is within the day
    escalated = sum(
        r.count
        for r in hits
        if r.subject == "supervisor-approval-large-return" and r.key == "escalate"
    )
    assert escalated > 1 and row is not None and "approver supervisor" in row.group(1)
    assert f"escalate {escalated}</span>" in row.group(1)
    assert "house.cedar" in page and "store.cedar" in page


def test_audit_page_verifies_the_chain_and_names_a_tampered_event(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    desk = open_desk(tmp_path_factory.mktemp("audit"))
    app = create_app(desk)
    key, _ = app.state.operators.create("viewer", name="auditor", actor="tests")
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        admin, _ = app.state.operators.create("admin", actor="tests")
        created = client.post(
            "/v1/runs?wait=60", json=order_run_body(), headers={"Authorization": f"Bearer {admin}"}
        )
        assert created.status_code == 200, created.text
        intact = page_text(client.get("/audit"))
        assert 'class="badge effect-allow">intact<' in intact and "run.started" in intact
        with desk.store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2"))
        broken = page_text(client.get("/audit"))
        assert 'class="badge effect-deny">broken<' in broken
        assert re.search(r"First bad event</dt><dd><strong class=\"error\">2</strong>", broken)
        one_run = page_text(client.get("/audit", params={"run": created.json()["id"]}))
        assert "run.started" in one_run and "api_key.created" not in one_run
        assert "BAD_REQUEST" in page_text(client.get("/audit", params={"before": "x"}), 400)


def test_every_demo_and_live_run_renders_and_so_do_their_steps(site: Site) -> None:
    stepped = {site.runs[k] for k in ("retried", "breaker-opened", "markup", "step-limit")}
    with site.client() as client:
        for run_id in [*site.runs.values(), *site.history[:10]]:
            run = site.desk.store.get_run(run_id)
            page = page_text(client.get(f"/runs/{run_id}"))
            assert f"Run {run_id}" in page and 'id="lineage"' in page
            for step in run.steps if run_id in stepped or run_id in site.history else ():
                detail = page_text(client.get(f"/runs/{run_id}/steps/{step.seq}"))
                assert f"step {step.seq} of {len(run.steps)}" in detail


# -- business KPIs -------------------------------------------------------------------------------


def test_business_page_shows_each_release(
    fresh_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_MODEL_PRICES", json.dumps(PRICES))
    write(fresh_site.desk.store, traffic(time.time() - 7200), time.time() - 7200)
    with fresh_site.client(None) as anonymous:
        assert "AUTH_REQUIRED" in page_text(anonymous.get("/business"), 401)
    with fresh_site.client() as client:
        page = html.unescape(page_text(client.get("/business")))
        assert REL_A in page and REL_B in page
        assert "big-refund" in page and "no-cancel" in page  # incidents by rule
        assert "missing guard.deny \u00d7 1" in page  # a2's denial never reached the chain
        assert "unpriced: mystery" in page and "prices for gpt-x" in page
        assert "window must be one of" in page_text(client.get("/business?window=1y"), 400)


# -- drift -------------------------------------------------------------------------------------


def test_drift_page_shows_what_fired_and_why(fresh_site: Site) -> None:
    from tests.observe.drift_traffic import write_traffic
    from tests.observe.test_drift import MORE_REFUSALS, SHIFTED_TOOLS
    from tether.observe.drift_calibration import Profile, shifted

    now = (time.time() // 60) * 60
    day = 86_400
    base = Profile()
    recent = shifted(base, tools=SHIFTED_TOOLS, decisions=MORE_REFUSALS)
    store = fresh_site.desk.store
    write_traffic(store, 1, now - 8 * day, now - day, 700, base, "dbase")
    write_traffic(store, 2, now - day, now - 120, 250, recent, "dwin")
    with fresh_site.client(None) as anonymous:
        assert "AUTH_REQUIRED" in page_text(anonymous.get("/drift"), 401)
    with fresh_site.client() as client:
        page = html.unescape(page_text(client.get("/drift")))
        fired = re.search(r"fired: ([^<]*)", page)
        assert fired is not None
        assert "tool_call_mix" in fired.group(1) and "refusal_rate" in fired.group(1)
        assert "No evaluation yet" in page
        quiet = html.unescape(page_text(client.get("/drift?window=6h")))
        assert "No monitor fired" in quiet or "fired:" in quiet
        assert "/drift?window=24h" in quiet  # the window chips
        assert "window must be one of" in page_text(client.get("/drift?window=1y"), 400)
