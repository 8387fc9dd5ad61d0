"""Bad input through a real server, on SQLite and on PostgreSQL: a NUL or a lone surrogate
anywhere (a body field, a path, a query, a dashboard form, an end-user token's subject) is a 4xx
with a stable code, never a 500 from the store that cannot keep it; a time filter that is not a
number is refused; and a retry that the answer itself invites (`Retry-After`, a retryable code)
is not refused again for a day by the Idempotency-Key it carries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import order_run_body
from tests.server.conversation_site import USER, Site, assert_problem, open_site
from tests.server.test_end_user_tokens import _configure, token
from tether.core.errors import ErrorCode
from tether.server.problems import PROBLEM_MEDIA_TYPE
from tether.server.quotas import OPERATOR_QUOTA_ENV

CODES = frozenset(code.value for code in ErrorCode)


@pytest.fixture
def site(store_url: str) -> Iterator[Site]:
    """A server on SQLite, then on PostgreSQL, that takes scripts in requests."""
    with open_site(store_url, allow_scripts=True) as s:
        yield s


def _refused_with_a_code(answer: httpx.Response) -> str:
    """A 4xx problem+json answer carrying one of tether's codes; the code."""
    assert 400 <= answer.status_code < 500, f"{answer.status_code} {answer.text[:300]}"
    assert answer.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    code = answer.json().get("code")
    assert code in CODES, answer.text
    return str(code)


# -- a NUL character reaches PostgreSQL -----------------------------------------------------


def test_a_run_for_a_principal_with_a_nul_is_refused_not_a_500(site: Site) -> None:
    """`POST /v1/runs` with `"principal": "raj\\u0000"` is refused before the quota count reads
    the principal (PostgreSQL's text cannot hold a NUL), as the conversation route refuses it."""
    with site.client("admin") as c:
        answer = c.post("/v1/runs?wait=5", json=order_run_body(principal="raj\x00"))
    _refused_with_a_code(answer)
    assert site.total_runs() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/runs/x%00/cancel",
        "/v1/runs/x%00/feedback",
        "/v1/approvals/x%00/approve",
        "/v1/conversations/x%00/close",
    ],
)
def test_a_nul_in_the_path_is_refused_with_or_without_an_idempotency_key(
    site: Site, path: str
) -> None:
    """A NUL in the path is refused before the Idempotency-Key is claimed: the claim stores the
    route, NUL and all, in `request_keys`."""
    body = {"resolved": True, "given_by": "ops"}
    with site.client("admin") as c:
        plain = c.post(path, json=body)
        keyed = c.post(path, json=body, headers={"Idempotency-Key": "nul-in-path"})
    assert_problem(plain, 400, ErrorCode.BAD_REQUEST)
    assert_problem(keyed, 400, ErrorCode.BAD_REQUEST)


DASHBOARD_NUL_URLS = [
    "/?principal=%00",
    "/?agent=%00",
    "/overview?agent=%00",
    "/audit?kind=%00",
    "/audit?run=%00",
    "/conversations?principal=%00",
    "/conversations/x%00",
    "/runs/x%00",
]


@pytest.mark.parametrize("url", DASHBOARD_NUL_URLS)
def test_dashboard_pages_refuse_a_nul_in_a_filter_or_id(site: Site, url: str) -> None:
    """The dashboard answers a NUL in a filter or an id with a page, never a 500 from a query
    that PostgreSQL refuses."""
    with site.client("admin") as c:
        answer = c.get(url)
    assert answer.status_code < 500, f"{url}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers["content-type"].startswith("text/html"), url


@pytest.mark.parametrize(
    ("url", "note"), [("/approvals/x%00/approve", ""), ("/approvals/apr_missing/reject", "a\x00b")]
)
def test_a_dashboard_decision_with_a_nul_is_refused_not_a_500(
    site: Site, url: str, note: str
) -> None:
    """The dashboard's approve and reject forms refuse a NUL in the approval id or in the note
    with a page, as the API's own approve and reject routes refuse both with 400."""
    with site.client("approver") as c:
        answer = c.post(url, data={"note": note})
    assert answer.status_code < 500, f"{url}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers["content-type"].startswith("text/html"), url


# -- an end-user token's subject that no store can hold -------------------------------------


@pytest.fixture
def keyed_site(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A server with end-user keys (TETHER_END_USER_KEYS), on SQLite and on PostgreSQL."""
    _configure(tmp_path, monkeypatch)
    with open_site(store_url) as s:
        yield s


def test_an_end_user_token_whose_sub_is_a_lone_surrogate_is_refused(keyed_site: Site) -> None:
    """A validly signed token whose `sub` is "\\ud800" (JSON carries it escaped) names no
    principal: refused as the same principal in a body is, and nothing is written."""
    with keyed_site.client("service", token=token(sub="\ud800")) as c:
        answer = c.post("/v1/conversations", json={})
    _refused_with_a_code(answer)
    assert keyed_site.total_conversations() == 0


# -- a time filter that is not a time ---------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["since=nan", "until=nan", "since=nan&until=0", "since=NaN&until=-1"]
)
def test_a_time_filter_that_is_not_a_number_is_refused(client: httpx.Client, query: str) -> None:
    """A NaN is no time (and would pass the `since > until` check, every comparison with it
    being false): 400 BAD_REQUEST, like `?since=abc`."""
    answer = client.get(f"/v1/runs?{query}")
    assert_problem(answer, 400, ErrorCode.BAD_REQUEST)


# -- retryable refusals kept under an Idempotency-Key --------------------------------------


@pytest.fixture
def quota_site(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A server whose operator keys may each have one run queued or running; its model holds
    every turn until the test opens the gate."""
    monkeypatch.setenv(OPERATOR_QUOTA_ENV, "1")
    with open_site(sqlite_url) as s:
        yield s


def test_a_retry_after_quota_exceeded_is_not_refused_again_for_a_day(quota_site: Site) -> None:
    """429 QUOTA_EXCEEDED says `Retry-After: N` and writes nothing, and clients retry a POST
    with the same Idempotency-Key: once the quota has room the retry starts the run, instead of
    getting the 429 back for the key's 24 hours."""
    site = quota_site
    run = {"principal": USER, "input": "Hello there"}
    with site.client("service") as c:
        held = c.post("/v1/runs", json=run)
        assert held.status_code == 202, held.text
        refused = c.post("/v1/runs", json=run, headers={"Idempotency-Key": "retry-me"})
        assert_problem(refused, 429, ErrorCode.QUOTA_EXCEEDED)
        assert int(refused.headers["Retry-After"]) >= 1
        site.gate.set()
        assert site.wait_for_run(held.json()["id"])["status"] == "completed"
        again = c.post("/v1/runs", json=run, headers={"Idempotency-Key": "retry-me"})
    assert again.headers.get("Idempotent-Replayed") is None, again.text  # the kept 429
    assert again.status_code in (200, 202), again.text


def test_a_retry_after_conversation_busy_sends_the_turn(sqlite_url: str) -> None:
    """409 CONVERSATION_BUSY is retryable (README, *Error codes*): under an Idempotency-Key,
    the retry after the running turn ended sends the turn instead of getting the 409 back."""
    with open_site(sqlite_url) as site:
        conversation = site.start()
        messages = f"/v1/conversations/{conversation}/messages"
        with site.client("service") as c:
            first: list[httpx.Response] = []
            sender = threading.Thread(
                target=lambda: first.append(c.post(messages, json={"text": "hi"}))
            )
            sender.start()
            sender.join()
            assert first[0].status_code == 202, first[0].text
            second = {"text": "and another thing"}
            busy = c.post(messages, json=second, headers={"Idempotency-Key": "turn-2"})
            assert_problem(busy, 409, ErrorCode.CONVERSATION_BUSY)
            site.gate.set()
            site.wait_for_run(first[0].json()["run_id"])
            deadline = time.monotonic() + 10
            while site.record(conversation).busy_run is not None and time.monotonic() < deadline:
                time.sleep(0.02)  # the turn is recorded in its conversation
            again = c.post(messages, json=second, headers={"Idempotency-Key": "turn-2"})
    assert again.headers.get("Idempotent-Replayed") is None, again.text  # the kept 409
    assert again.status_code == 202, again.text
    assert again.json()["turn"] == 2
