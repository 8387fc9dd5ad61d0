"""The dashboard in headless Chromium: an operator logs in, clicks from the overview to the runs,
into a run and one of its steps, approves a pending action, and looks at tools, policies and
the audit trail. Screenshots of each page are saved under docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.dashboard.conftest import MARKUP, SCREENSHOTS, USER_MARKUP, Site


@dataclass
class Tab:
    """A browser page, the JavaScript dialogs it tried to open and the Content-Security-Policy
    violations it reported (there must be none of either)."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def log_in(self, key: str) -> None:
        self.page.goto("/login")
        self.page.fill('input[name="key"]', key)
        self.page.click('button[type="submit"]')
        self.page.wait_for_url("**/overview")

    def nav(self, label: str) -> None:
        self.page.locator("header.topbar nav").get_by_role("link", name=label, exact=True).click()
        self.page.wait_for_load_state()

    def shot(self, name: str, full_page: bool = False) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@contextmanager
def open_tab(browser: Any, site: Site) -> Iterator[Tab]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    opened = Tab(page)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            opened.violations.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    try:
        yield opened
        assert opened.violations == []  # the policy blocks nothing the dashboard itself needs
    finally:
        context.close()


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    with open_tab(browser, site) as opened:
        yield opened


@pytest.fixture
def fresh_tab(browser: Any, fresh_site: Site) -> Iterator[Tab]:
    with open_tab(browser, fresh_site) as opened:
        yield opened


def test_operator_clicks_from_the_overview_to_a_step(site: Site, tab: Tab) -> None:
    page = tab.page
    tab.log_in(site.keys["viewer"])
    assert page.locator("h1").inner_text() == "Overview"
    runs_tile = page.locator(".tile").first.locator(".tile-value")
    assert page.locator(".tile").first.locator(".tile-label").inner_text().lower() == "runs"
    assert int(runs_tile.inner_text()) >= 10_000
    assert page.locator("figure.chart svg").count() == 6
    assert page.locator("figure.chart path.line").count() >= 7
    tab.shot("overview", full_page=True)

    tab.nav("Runs")
    assert page.locator("table.runs tbody tr").count() == 25
    assert re.search(r"page 1 of \d+ · \d{5} runs", page.locator("nav.pager").inner_text())
    tab.shot("runs")

    page.fill('input[name="code"]', "CLAIM_CONTRADICTED")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]code=CLAIM_CONTRADICTED"))
    run_id = site.runs["hallucinated-refund-timeline"]
    page.locator(f'table.runs a[href$="/runs/{run_id}"]').click()
    page.wait_for_url(f"**/runs/{run_id}")
    lineage = page.locator("#lineage")
    assert lineage.locator(".badge.claim-contradicted").count() == 2
    assert "5 to 7 business days" in lineage.inner_text()
    tab.shot("run")

    page.locator("li.step.kind-guard").first.locator("a.step-link").click()
    page.wait_for_url(f"**/runs/{run_id}/steps/*")
    assert "CLAIM_CONTRADICTED" in page.locator("main").inner_text()

    page.goto(f"/runs/{site.runs['retried']}")
    tool_step = page.locator("li.step.kind-tool", has_text="get_order_details")
    tool_step.locator("a.step-link").click()
    page.wait_for_url("**/steps/*")
    attempts = page.locator("table.attempts tbody tr")
    assert attempts.count() == 2
    assert "TOOL_UNAVAILABLE" in attempts.nth(0).inner_text()
    assert "retry after" in attempts.nth(0).inner_text()
    assert "ok" in attempts.nth(1).inner_text()
    tab.shot("step")
    assert tab.dialogs == []


def test_approver_approves_a_pending_action(fresh_site: Site, fresh_tab: Tab) -> None:
    site, tab = fresh_site, fresh_tab
    run_id, approval = site.escalate()
    page = tab.page
    tab.log_in(site.keys["approver"])
    tab.nav("Approvals")
    card = page.locator("article.approval", has_text=approval.id)
    assert "return_delivered_order_items" in card.inner_text()
    assert approval.argument_hash in card.inner_text()
    approve = card.locator(f'form[action$="/approvals/{approval.id}/approve"]')
    approve.locator('input[name="note"]').fill("refund checked with the warehouse")
    tab.shot("approvals")
    approve.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"**/approvals?decided=approve&id={approval.id}")
    assert f"Approved {approval.id}." in page.locator("p.notice").inner_text()
    assert page.locator("article.approval", has_text=approval.id).count() == 0

    decided = site.approvals.get(approval.id)
    approver = "operator:" + site.keys["approver"].split(".")[0].removeprefix("tk_")
    assert decided.status.value == "approved" and decided.decided_by == approver
    assert decided.note == "refund checked with the warehouse"
    # the run resumed at once: the approved return ran, then the model answered
    page.goto(f"/runs/{run_id}")
    assert page.locator("li.step.kind-approval .badge.approval-approved").count() == 1
    returned = page.locator("li.step.kind-tool", has_text="return_delivered_order_items")
    assert returned.locator(".badge.effect-allow").first.inner_text() == "ok"
    assert page.locator("section.decision .badge").first.inner_text() == "action"


def test_a_viewer_cannot_press_approve(site: Site, tab: Tab) -> None:
    _, approval = site.escalate()
    tab.log_in(site.keys["viewer"])
    tab.nav("Approvals")
    card = tab.page.locator("article.approval", has_text=approval.id)
    assert card.get_by_role("button", name="Approve").is_disabled()
    assert card.locator("form").count() == 0
    assert site.approvals.get(approval.id).status.value == "pending"


def test_markup_in_a_tool_output_is_shown_as_text(site: Site, tab: Tab) -> None:
    page = tab.page
    tab.log_in(site.keys["viewer"])
    page.goto(f"/runs/{site.runs['markup']}")
    assert page.locator("script").count() == 0 and page.locator("main img").count() == 0
    assert page.get_by_text(MARKUP).count() >= 1  # the tool output, as characters
    assert page.get_by_text(USER_MARKUP).count() >= 1  # the user's message, as characters
    assert tab.dialogs == []


def test_tools_policies_and_audit(site: Site, tab: Tab) -> None:
    page = tab.page
    tab.log_in(site.keys["viewer"])
    tab.nav("Tools")
    down = page.locator("tr#tool-get_item_details")
    assert down.locator(".badge.breaker-open").inner_text() == "open"
    tab.shot("tools")

    tab.nav("Policies")
    rule = page.locator("tr#rule-supervisor-approval-large-return")
    assert re.fullmatch(r"escalate \d+", rule.locator(".badge.effect-escalate").last.inner_text())
    tab.shot("policies")

    tab.nav("Audit")
    assert page.locator("#verification .badge").inner_text() == "intact"
    assert page.locator("table.audit tbody tr").count() == 50
    tab.shot("audit")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto("/overview")
    assert "AUTH_REQUIRED" in page.locator("main").inner_text()


def test_logging_out_ends_the_session_the_browser_held(site: Site, tab: Tab) -> None:
    page = tab.page
    tab.log_in(site.keys["viewer"])
    # the stylesheet applies under the Content-Security-Policy
    topbar = page.locator("header.topbar")
    assert topbar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 35, 43)"
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "tether_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"] != site.keys["viewer"]
    assert page.evaluate("document.cookie") == ""  # no script can read either cookie
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    with site.client(None, Cookie=f"tether_session={cookie['value']}") as replayed:
        assert "AUTH_INVALID" in replayed.get("/overview").text
