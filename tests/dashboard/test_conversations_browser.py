"""A conversation in headless Chromium: an operator opens the conversations list, a conversation
whose action was confirmed, clicks through to a turn's run and back to the turn; a user's markup
stays text. Saves a screenshot of the conversation page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.conftest import Site, open_site
from tests.dashboard.test_browser import Tab, open_tab
from tests.dashboard.test_conversations import CANCELLED, CONV_MARKUP, Seeded, seed_conversations


@pytest.fixture(scope="module")
def conv_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Seeded]]:
    with open_site(tmp_path_factory.mktemp("conversations-browser"), 0) as built:
        yield built, seed_conversations(built.desk.store)


@pytest.fixture
def conv_tab(browser: Any, conv_site: tuple[Site, Seeded]) -> Iterator[Tab]:
    with open_tab(browser, conv_site[0]) as opened:
        yield opened


def test_operator_clicks_from_a_conversation_to_a_turns_run(
    conv_site: tuple[Site, Seeded], conv_tab: Tab
) -> None:
    site, seeded = conv_site
    tab, page = conv_tab, conv_tab.page
    first_run, second_run = seeded.runs[seeded.confirmed]
    tab.log_in(site.keys["viewer"])
    tab.nav("Conversations")
    assert page.locator("h1").inner_text() == "Conversations"
    page.goto("/conversations?page=2")
    page.locator(f'table.conversations a[href$="/conversations/{seeded.confirmed}"]').click()
    page.wait_for_url(f"**/conversations/{seeded.confirmed}")
    turns = page.locator("li.turn")
    assert turns.count() == 2
    proposed = turns.nth(0).locator(".pending-action")
    assert "cancel_pending_order" in proposed.inner_text()
    assert "confirmed" in proposed.locator(".badge.answer-confirmed").inner_text()
    assert turns.nth(1).locator(".message p").inner_text() == "confirmed (button)"
    tab.shot("conversation", full_page=True)

    turns.nth(1).locator("a.run-link").click()
    page.wait_for_url(f"**/runs/{second_run}")
    assert page.locator("section.decision .badge").first.inner_text() == "action"
    assert CANCELLED in page.locator("section.decision blockquote").inner_text()
    back = page.get_by_role("link", name="conversation · turn 2")
    back.click()
    page.wait_for_url(f"**/conversations/{seeded.confirmed}#turn-2")
    href = page.locator("li.turn#turn-1 a.run-link").get_attribute("href")
    assert href is not None and href.endswith(f"/runs/{first_run}")

    page.goto(f"/conversations/{seeded.markup}")
    assert page.locator("script").count() == 0
    assert page.get_by_text(CONV_MARKUP).count() >= 1  # the user's markup, as characters
    assert page.locator("#pending .badge.pending-waiting").inner_text() == "waiting"
    assert tab.dialogs == []
