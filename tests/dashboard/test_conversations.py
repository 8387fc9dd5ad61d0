"""The conversation pages over HTTP, as a logged-in operator sees them: the list (latest activity
first, paged), one conversation turn by turn (what the user sent, each turn's run and Decision,
the pending action proposed and how it was answered: a button, a message the consent classifier
read, or too late), the links from the runs, escaping of what the user wrote, the 404 and the
gate."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import Site, open_site, page_text
from tests.dashboard.conftest import log_in as log_in_with
from tether.conversations import Conversation, ConversationStore
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import build_desk
from tether.sdk.scenarios import ScenarioClock
from tether.store.runs import RunStore

CUSTOMER = "raj_sanchez_2970"
OTHER_CUSTOMER = "anya_lee_8315"
CANCEL_REQUEST = (
    "Please cancel order #W4566809, I no longer need it. My e-mail is raj.sanchez2046@example.com."
)
CANCEL_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W4566809", "reason": "no longer needed"},
    },
]
SUMMARY = (
    'I am about to cancel pending order (order id: "#W4566809"; reason: "no longer needed"). '
    "Shall I go ahead?"
)
CANCELLED = "Order #W4566809 is now cancelled [tool:3]."
KEPT = "Understood: order #W4566809 stays as it is [tool:2]."
CONV_MARKUP = "<script>alert('conversation')</script>"
EMPTY_CONVERSATIONS = 25  # with the five below, the list runs to a second page


@dataclass(frozen=True)
class Seeded:
    """The seeded conversations' ids, and each one's runs in turn order."""

    confirmed: str  # proposed, then confirmed by the button
    declined: str  # proposed, then answered "Absolutely not!"
    too_late: str  # proposed an hour ago, answered "Yes, go ahead." after it expired
    markup: str  # proposed just now and still waiting; the request holds a <script>
    lapsed: str  # proposed an hour ago, never answered
    empty: tuple[str, ...]  # another customer's conversations without turns, newest last
    runs: dict[str, list[str]]


def _script(*turns: dict[str, Any]) -> ScriptedModel:
    return ScriptedModel(parse_script(list(turns)))


def _proposal(
    store: RunStore, text: str = CANCEL_REQUEST, ago_s: float = 0.0
) -> tuple[Conversation, ScenarioClock]:
    """A conversation on a desk of its own (a fresh copy of the retail data) whose first turn
    proposes cancelling #W4566809, `ago_s` seconds ago; and the desk's clock, to move on."""
    clock = ScenarioClock()
    clock.offset = -ago_s
    desk = build_desk(RETAIL, store, fresh=True, clock=clock)
    conversation = desk.runtime.converse(CUSTOMER)
    outcome = conversation.send(text, _script(*CANCEL_SCRIPT))
    assert outcome.pending_action is not None
    return conversation, clock


def seed_conversations(store: RunStore) -> Seeded:
    """Five conversations of the customer, each showing one way a pending action goes, then
    another customer's empty conversations (so the list has two pages)."""
    confirmed, _ = _proposal(store)
    pending = confirmed.record().pending
    assert pending is not None
    confirmed.confirm(pending.nonce, _script({"answer": CANCELLED}))

    declined, _ = _proposal(store)
    declined.send("Absolutely not!", _script({"answer": KEPT}))

    too_late, clock = _proposal(store, ago_s=3600)
    clock.offset = 0.0  # the pending action lasts 15 minutes
    too_late.send("Yes, go ahead.", _script({"answer": KEPT}))

    markup, _ = _proposal(store, text=f"{CANCEL_REQUEST} {CONV_MARKUP}")
    lapsed, _ = _proposal(store, ago_s=3600)

    other = build_desk(RETAIL, store, fresh=True)
    empty = tuple(other.runtime.converse(OTHER_CUSTOMER).id for _ in range(EMPTY_CONVERSATIONS))
    conversations = ConversationStore(store.engine)
    seeded = (confirmed, declined, too_late, markup, lapsed)
    runs = {c.id: [t.run_id for t in conversations.turns(c.id)] for c in seeded}
    return Seeded(confirmed.id, declined.id, too_late.id, markup.id, lapsed.id, empty, runs)


@pytest.fixture(scope="module")
def conv_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Seeded]]:
    """A site of its own (no history, no demo), with the conversations above."""
    with open_site(tmp_path_factory.mktemp("conversations"), 0) as built:
        yield built, seed_conversations(built.desk.store)


@contextmanager
def log_in(site: Site, role: str = "viewer") -> Iterator[httpx.Client]:
    """A client holding an operator session: it logged in on /login, as a browser does."""
    with site.client(None) as client:
        done = log_in_with(client, site.keys[role])
        assert done.status_code == 303, done.text
        assert "tether_session" in client.cookies
        yield client


def plain(fragment: str) -> str:
    """A page fragment's text: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def turns_of(page: str) -> dict[int, str]:
    """The raw HTML of each turn on a conversation page, by turn number, in page order."""
    marks = list(re.finditer(r'<li class="turn panel" id="turn-(\d+)">', page))
    ends = [m.start() for m in marks[1:]] + [page.index("</ol>", marks[-1].start())]
    return {int(m.group(1)): page[m.start() : end] for m, end in zip(marks, ends, strict=True)}


def pending_panel(page: str) -> str:
    """The current pending action's panel, which comes before the turns."""
    start = page.index('<section class="panel pending-action current" id="pending">')
    return page[start : page.index('<section class="turns">', start)]


def conversation_ids(page: str) -> list[str]:
    return re.findall(r'<a href="[^"]*/conversations/(conv_[0-9a-f]+)"><code>', page)


def get(client: httpx.Client, path: str, status: int = 200) -> str:
    """The page's raw HTML, after checking it is HTML without any script element."""
    response = client.get(path)
    page_text(response, status)
    return response.text


# -- the list ----------------------------------------------------------------------------------


def test_the_list_is_latest_activity_first_in_pages(conv_site: tuple[Site, Seeded]) -> None:
    site, seeded = conv_site
    total = EMPTY_CONVERSATIONS + 5
    with log_in(site) as client:
        first = get(client, "/conversations")
        second = get(client, "/conversations?page=2")
        past = get(client, "/conversations?page=3", 400)
        bad = get(client, "/conversations?page=0", 400)
        theirs = get(client, f"/conversations?principal={CUSTOMER}")
    assert f"page 1 of 2 · {total} conversations" in plain(first)
    assert conversation_ids(first) == list(reversed(seeded.empty))
    assert 'rel="next"' in first and 'rel="prev"' not in first
    # the last turn decides the order: the lapsed proposal is an hour old
    order = [seeded.markup, seeded.too_late, seeded.declined, seeded.confirmed, seeded.lapsed]
    assert conversation_ids(second) == order
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "past the last page" in plain(past) and "page must be 1 or more" in plain(bad)
    assert conversation_ids(theirs) == order
    assert "page 1 of 1 · 5 conversations" in plain(theirs)

    rows = {cid: plain(row) for cid, row in _rows(second).items()}
    assert rows[seeded.confirmed].split()[3:] == [CUSTOMER, "retail-desk", "open", "2"]
    assert rows[seeded.markup].endswith("open 1 waiting cancel_pending_order")
    assert rows[seeded.lapsed].endswith("open 1 expired cancel_pending_order")
    assert rows[seeded.declined].endswith("open 2")  # nothing pending after the answer


def _rows(page: str) -> dict[str, str]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return {conversation_ids(row)[0]: row for row in body.split("<tr>")[1:]}


# -- one conversation --------------------------------------------------------------------------


def test_a_confirmed_action_turn_by_turn(conv_site: tuple[Site, Seeded]) -> None:
    site, seeded = conv_site
    first_run, second_run = seeded.runs[seeded.confirmed]
    steps = site.desk.store.get_run(first_run).steps
    (nonce,) = [s.data["pending_action"]["nonce"] for s in steps if s.kind.value == "confirmation"]
    with log_in(site) as client:
        page = get(client, f"/conversations/{seeded.confirmed}")
    head = plain(page[: page.index('<section class="turns">')])
    assert f"Conversation {seeded.confirmed} open" in head
    for fact in (
        f"Principal {CUSTOMER}",
        "Established by operator · asserted by operator",
        "Agent retail-desk",
        "Domain retail",
        "Turns 2",
    ):
        assert fact in head
    assert 'id="pending"' not in page  # the action was confirmed: nothing waits

    turns = turns_of(page)
    assert list(turns) == [1, 2]
    one, two = plain(turns[1]), plain(turns[2])
    assert f"/runs/{first_run}" in turns[1] and f"/runs/{second_run}" in turns[2]
    assert f"user {CANCEL_REQUEST}" in one
    assert "Decision confirmation CONFIRMATION_REQUIRED" in one and SUMMARY in one
    # the proposed action: the exact arguments, the runtime's summary, its nonce, its fate
    assert '"order_id": "#W4566809"' in one and '"reason": "no longer needed"' in one
    assert f"Summary {SUMMARY}" in one and f"Nonce {nonce}" in one
    assert "Tool cancel_pending_order" in one
    assert "In turn 2 : confirmed by button" in one
    # the answer: the button, which action it answered, and what the turn came to
    assert "user confirmed (button)" in two
    assert (
        f"proposed in turn 1 ( cancel_pending_order , nonce {nonce} ): confirmed by button" in two
    )
    assert f"Decision action {CANCELLED}" in two


def test_a_declined_reply_shows_how_the_classifier_read_it(conv_site: tuple[Site, Seeded]) -> None:
    site, seeded = conv_site
    with log_in(site) as client:
        turns = turns_of(get(client, f"/conversations/{seeded.declined}"))
    two = plain(turns[2])
    assert "user Absolutely not!" in two
    reading = "not confirmed by text · the consent classifier read the message as negation"
    assert f"{reading} (matched “not”)" in two
    assert f"Decision answer {KEPT}" in two
    assert f"In turn 2 : {reading}" in plain(turns[1])
    assert "cancel_pending_order" in two and "confirmed by button" not in two


def test_an_action_answered_too_late_and_one_never_answered(
    conv_site: tuple[Site, Seeded],
) -> None:
    site, seeded = conv_site
    with log_in(site) as client:
        too_late = get(client, f"/conversations/{seeded.too_late}")
        lapsed = get(client, f"/conversations/{seeded.lapsed}")
    turns = turns_of(too_late)
    assert "user Yes, go ahead." in plain(turns[2])
    assert "expired before the user answered" in plain(turns[2])
    assert "In turn 2 : expired before the user answered" in plain(turns[1])
    assert 'id="pending"' not in too_late
    current = plain(pending_panel(lapsed))
    assert current.startswith("Pending action expired It expired before the user answered")
    assert "Not answered yet: expired" in plain(turns_of(lapsed)[1])


def test_the_waiting_action_is_on_top_and_user_markup_is_text(
    conv_site: tuple[Site, Seeded],
) -> None:
    site, seeded = conv_site
    pending = ConversationStore(site.desk.store.engine).get(seeded.markup).pending
    assert pending is not None
    with log_in(site) as client:
        page = get(client, f"/conversations/{seeded.markup}")
    current = plain(pending_panel(page))
    assert current.startswith("Pending action waiting Waiting for the user to confirm or decline.")
    assert "Proposed in turn 1" in current and f"Nonce {pending.nonce}" in current
    assert f"Summary {SUMMARY}" in current and '"order_id": "#W4566809"' in current
    assert f"Argument hash {pending.argument_hash}" in current
    # the user's markup is shown as characters, never as an element
    assert CONV_MARKUP not in page and "<script" not in page
    assert html.escape(CONV_MARKUP, quote=False) in page.replace("&#39;", "'")
    assert f"user {CANCEL_REQUEST} {CONV_MARKUP}" in plain(turns_of(page)[1])


def test_an_unknown_conversation_is_the_404_page(conv_site: tuple[Site, Seeded]) -> None:
    site, _ = conv_site
    with log_in(site) as client:
        missing = plain(get(client, "/conversations/conv_0000", 404))
        long = plain(get(client, "/conversations/" + "c" * 300, 404))
    assert "404 · CONVERSATION_NOT_FOUND" in missing and "conv_0000" in missing
    assert "404 · CONVERSATION_NOT_FOUND" in long


# -- links from the runs and the navigation ----------------------------------------------------


def test_runs_link_to_their_conversation_turn(conv_site: tuple[Site, Seeded]) -> None:
    site, seeded = conv_site
    first_run, second_run = seeded.runs[seeded.confirmed]
    link = f'/conversations/{seeded.confirmed}#turn-2">conversation · turn 2</a>'
    with log_in(site) as client:
        runs = get(client, f"/?principal={CUSTOMER}")
        run = get(client, f"/runs/{second_run}")
        plain_run = get(client, f"/runs/{site.runs['retried']}")
        listing = get(client, "/conversations")
    body = runs[runs.index("<tbody>") : runs.index("</tbody>")]
    rows = {re.findall(r"/runs/(run_[0-9a-f]+)", r)[0]: r for r in body.split("<tr>")[1:]}
    assert link in rows[second_run]
    assert f'/conversations/{seeded.confirmed}#turn-1">conversation · turn 1</a>' in rows[first_run]
    assert "/conversations/" not in rows[site.runs["retried"]]  # a run of its own
    assert link in run and f"Conversation conversation · turn 2 {seeded.confirmed}" in plain(run)
    assert "/conversations/" not in plain_run.split("<main>")[1]
    nav = listing[listing.index('<header class="topbar">') : listing.index("</header>")]
    assert re.search(r'href="[^"]*/conversations" aria-current="page">Conversations</a>', nav)


# -- the gate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/conversations", "/conversations/{conv}", "/conversations/x"])
def test_conversation_pages_need_an_operator(conv_site: tuple[Site, Seeded], path: str) -> None:
    site, seeded = conv_site
    path = path.format(conv=seeded.confirmed)
    with site.client(None) as anonymous:  # no session: the login form, as on every page
        login = page_text(anonymous.get(path), 401)
        assert "AUTH_REQUIRED" in login and 'name="key"' in login
        assert seeded.confirmed not in login and CUSTOMER not in login
    with site.client(None, Cookie="tether_session=tk_forged.secret") as forged:
        assert "AUTH_INVALID" in page_text(forged.get(path), 401)
    with site.client("service") as service:  # a key without read rights on runs
        assert "ROLE_FORBIDDEN" in page_text(service.get(path), 403)
