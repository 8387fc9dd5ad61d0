"""The control plane against a browser that is being used against it: a session cookie sent to
the JSON API from a sibling origin, forged and cross-origin forms (login included), stolen or
stale cookies, missing origins, framing and caching, and guessed keys.

Everything runs against a served site over a real SQLite store, driven over HTTP."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from starlette.requests import Request

from tests.access.conftest import redis_url
from tests.dashboard.conftest import Site, form_token, log_in, open_site, page_text
from tests.security.common import assert_problem
from tether.approvals import ApprovalStatus
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.server.security import (
    LoginLimit,
    LoginThrottle,
    RedisLoginThrottle,
    login_attempts_from_env,
    login_subjects,
)
from tether.server.sessions import SESSION_COOKIE, SessionPolicy
from tether.store.sessions_schema import operator_sessions

EVIL = "http://evil.example"
__all__ = ["redis_url"]  # the access tests' fixture: Redis when reachable


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with open_site(tmp_path_factory.mktemp("control-plane"), 0) as built:
        yield built


def origin_of(site: Site) -> dict[str, str]:
    return {"Origin": site.url}


def session_rows(site: Site) -> list[dict[str, object]]:
    with site.desk.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(operator_sessions)).mappings()]


@pytest.fixture
def approver(site: Site) -> Iterator[httpx.Client]:
    """A browser-like client logged in as the approver (a session cookie, no bearer key)."""
    with site.client(None) as client:
        done = log_in(client, site.keys["approver"])
        assert done.status_code == 303, done.text
        yield client


# -- the reported attack -----------------------------------------------------------------------


def test_a_session_cookie_cannot_decide_through_the_json_api(
    site: Site, approver: httpx.Client
) -> None:
    run_id, approval = site.escalate()  # the $942.71 return, waiting for a supervisor
    cookie = approver.cookies[SESSION_COOKIE]
    with httpx.Client(base_url=site.url, timeout=30) as sibling:
        # what a page on a sibling origin of the same site can make a browser send
        forged = sibling.post(
            f"/v1/approvals/{approval.id}/approve",
            content=b"",
            headers={
                "Origin": EVIL,
                "Content-Type": "text/plain",
                "Cookie": f"{SESSION_COOKIE}={cookie}",
            },
        )
        assert_problem(forged, 401, "AUTH_REQUIRED")
        assert forged.headers["www-authenticate"] == "Bearer"
        # the cookie reads nothing on the JSON API either
        listed = sibling.get("/v1/approvals", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        assert_problem(listed, 401, "AUTH_REQUIRED")
        # nor does a cookie holding the approver's raw API key, as the cookie once did
        raw = sibling.post(
            f"/v1/approvals/{approval.id}/approve",
            content=b"",
            headers={
                "Origin": EVIL,
                "Content-Type": "text/plain",
                "Cookie": f"{SESSION_COOKIE}={site.keys['approver']}",
            },
        )
        assert_problem(raw, 401, "AUTH_REQUIRED")
    assert site.approvals.get(approval.id).status is ApprovalStatus.PENDING
    run = site.desk.store.get_run(run_id)
    assert run.status is RunStatus.SUSPENDED and run.decision is None
    # the same session still works where it belongs: the dashboard
    assert approval.id in page_text(approver.get("/approvals"))
    with site.client("approver") as bearer:  # and the API takes the approver's bearer key
        assert bearer.get(f"/v1/approvals/{approval.id}").status_code == 200


# -- login ----------------------------------------------------------------------------------


def test_login_refuses_cross_origin_and_tokenless_posts(site: Site) -> None:
    key = site.keys["viewer"]
    with site.client(None) as client:
        token = form_token(page_text(client.get("/login")))
        form = {"key": key, "csrf_token": token}
        cases = [
            ({"Origin": EVIL}, form, "ORIGIN_FORBIDDEN"),
            ({"Origin": "null"}, form, "ORIGIN_FORBIDDEN"),
            ({}, form, "ORIGIN_FORBIDDEN"),  # neither Origin nor Referer
            ({"Referer": EVIL + "/login"}, form, "ORIGIN_FORBIDDEN"),
            (origin_of(site), {"key": key}, "CSRF_TOKEN_INVALID"),
            (origin_of(site), {**form, "csrf_token": "0" * 64}, "CSRF_TOKEN_INVALID"),
        ]
        for headers, data, code in cases:
            refused = client.post("/login", data=data, headers=headers)
            assert code in page_text(refused, 403), (headers, data)
            assert SESSION_COOKIE not in client.cookies
        # a same-site Referer stands in for a missing Origin
        done = client.post("/login", data=form, headers={"Referer": site.url + "/login"})
        assert done.status_code == 303 and SESSION_COOKIE in client.cookies
    with site.client(None) as stranger:  # a valid token without the cookie it pairs with
        refused = stranger.post("/login", data=form, headers=origin_of(site))
        assert "CSRF_TOKEN_INVALID" in page_text(refused, 403)
    assert not any(r["id_hash"] == "" for r in session_rows(site))


def test_the_cookie_holds_a_session_id_whose_hash_alone_is_stored(
    site: Site, approver: httpx.Client
) -> None:
    key = site.keys["approver"]
    cookie = approver.cookies[SESSION_COOKIE]
    assert cookie != key and key.split(".")[1] not in cookie
    rows = session_rows(site)
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    assert digest in {r["id_hash"] for r in rows}
    assert all(cookie not in str(r.values()) for r in rows)
    database = Path(str(site.desk.store.engine.url.database))
    for path in database.parent.glob(database.name + "*"):  # the file, its WAL and journal
        assert cookie.encode() not in path.read_bytes(), path


def test_login_starts_a_new_session_and_ends_the_old_one(site: Site) -> None:
    with site.client(None) as client:
        assert log_in(client, site.keys["viewer"]).status_code == 303
        first = client.cookies[SESSION_COOKIE]
        assert log_in(client, site.keys["viewer"]).status_code == 303
        second = client.cookies[SESSION_COOKIE]
    assert first != second
    with site.client(None, Cookie=f"{SESSION_COOKIE}={first}") as stale:
        assert "AUTH_INVALID" in page_text(stale.get("/overview"), 401)
    with site.client(None, Cookie=f"{SESSION_COOKIE}={second}") as current:
        assert "Overview" in page_text(current.get("/overview"))


def test_the_session_cookie_attributes(site: Site) -> None:
    with site.client(None) as client:
        done = log_in(client, site.keys["viewer"])
    cookie = next(
        c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    ).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # served over plain http here; https sets Secure
    # behind a TLS-terminating proxy on this host (uvicorn trusts its X-Forwarded-Proto)
    https = {"X-Forwarded-Proto": "https", "Origin": site.url.replace("http:", "https:")}
    with site.client(None, **https) as tls:
        form = tls.get("/login")
        nonce = form.cookies["tether_login"]
        assert "secure" in form.headers["set-cookie"].lower()
        served = tls.post(
            "/login",
            data={"key": site.keys["viewer"], "csrf_token": form_token(form.text)},
            headers={"Cookie": f"tether_login={nonce}"},  # httpx keeps Secure cookies off http
        )
    assert served.status_code == 303, served.text
    cookies = served.headers.get_list("set-cookie")
    (session,) = [c.lower() for c in cookies if c.startswith(SESSION_COOKIE + "=")]
    assert "secure" in session and "httponly" in session and "samesite=strict" in session


# -- logout, expiry, revocation -------------------------------------------------------------


def test_logout_ends_the_session_for_good(site: Site) -> None:
    with site.client(None) as client:
        assert log_in(client, site.keys["viewer"]).status_code == 303
        cookie = client.cookies[SESSION_COOKIE]
        token = form_token(page_text(client.get("/overview")))
        # a logout without the page's token (or from elsewhere) is refused: the session lives
        assert "CSRF_TOKEN_INVALID" in page_text(
            client.post("/logout", data={}, headers=origin_of(site)), 403
        )
        assert "ORIGIN_FORBIDDEN" in page_text(
            client.post("/logout", data={"csrf_token": token}, headers={"Origin": EVIL}), 403
        )
        assert client.get("/overview").status_code == 200
        out = client.post("/logout", data={"csrf_token": token}, headers=origin_of(site))
        assert out.status_code == 303 and out.headers["location"].endswith("/login")
        assert SESSION_COOKIE not in client.cookies
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    assert digest not in {r["id_hash"] for r in session_rows(site)}
    with site.client(None, Cookie=f"{SESSION_COOKIE}={cookie}") as replayed:
        assert "AUTH_INVALID" in page_text(replayed.get("/overview"), 401)


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", SessionPolicy().idle_s + 1), ("created_at", SessionPolicy().max_s + 1)],
)
def test_expired_sessions_are_refused(site: Site, column: str, age: float) -> None:
    with site.client(None) as client:
        assert log_in(client, site.keys["viewer"]).status_code == 303
        cookie = client.cookies[SESSION_COOKIE]
        assert client.get("/overview").status_code == 200
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    with site.desk.store.engine.begin() as conn:
        conn.execute(
            update(operator_sessions)
            .where(operator_sessions.c.id_hash == digest)
            .values({column: time.time() - age})
        )
    with site.client(None, Cookie=f"{SESSION_COOKIE}={cookie}") as late:
        page = page_text(late.get("/overview"), 401)
        assert "AUTH_INVALID" in page and "expired" in page
    assert digest not in {r["id_hash"] for r in session_rows(site)}


def test_revoking_a_key_ends_its_sessions(site: Site) -> None:
    assert site.desk.access is not None
    key, info = site.desk.access.operators.create("viewer", name="short-lived", actor="tests")
    with site.client(None) as client:
        assert log_in(client, key).status_code == 303
        assert client.get("/overview").status_code == 200
        site.desk.access.operators.revoke(info.id, actor="tests")
        page = page_text(client.get("/overview"), 401)
        assert "AUTH_INVALID" in page and "revoked" in page
    assert info.id not in {r["key_id"] for r in session_rows(site)}


def test_session_lifetimes_are_configurable_and_checked() -> None:
    policy = SessionPolicy.from_env({"TETHER_SESSION_IDLE_S": "60", "TETHER_SESSION_MAX_S": "600"})
    assert (policy.idle_s, policy.max_s) == (60, 600)
    assert SessionPolicy.from_env({}) == SessionPolicy(30 * 60, 12 * 3600)
    for env in (
        {"TETHER_SESSION_IDLE_S": "soon"},
        {"TETHER_SESSION_IDLE_S": "0"},
        {"TETHER_SESSION_IDLE_S": "7200", "TETHER_SESSION_MAX_S": "3600"},
    ):
        with pytest.raises(TetherError) as caught:
            SessionPolicy.from_env(env)
        assert caught.value.code is ErrorCode.CONFIG_INVALID


# -- the dashboard's own forms ------------------------------------------------------------------


def test_a_dashboard_post_must_show_where_it_came_from(site: Site, approver: httpx.Client) -> None:
    run_id, approval = site.escalate()
    page = page_text(approver.get("/approvals"))
    token = form_token(page)
    form = {"note": "", "argument_hash": approval.argument_hash, "csrf_token": token}
    path = f"/approvals/{approval.id}/approve"
    for headers, code in [
        ({}, "ORIGIN_FORBIDDEN"),  # no Origin, no Referer: refused, not waved through
        ({"Referer": EVIL + "/approvals"}, "ORIGIN_FORBIDDEN"),
        ({"Origin": EVIL}, "ORIGIN_FORBIDDEN"),
    ]:
        assert code in page_text(approver.post(path, data=form, headers=headers), 403)
    no_token = {k: v for k, v in form.items() if k != "csrf_token"}
    refused = approver.post(path, data=no_token, headers=origin_of(site))
    assert "CSRF_TOKEN_INVALID" in page_text(refused, 403)
    wrong = approver.post(path, data={**form, "csrf_token": "f" * 64}, headers=origin_of(site))
    assert "CSRF_TOKEN_INVALID" in page_text(wrong, 403)
    assert site.approvals.get(approval.id).status is ApprovalStatus.PENDING
    # the page's own form, posted from the page, decides
    done = approver.post(path, data=form, headers={"Referer": site.url + "/approvals"})
    assert done.status_code == 303, done.text
    assert site.approvals.get(approval.id).status is ApprovalStatus.APPROVED
    assert site.desk.store.get_run(run_id).status is RunStatus.COMPLETED


# -- headers ------------------------------------------------------------------------------------


def test_pages_and_api_responses_carry_the_security_headers(site: Site) -> None:
    with site.client("viewer") as client:
        responses = {
            path: client.get(path)
            for path in ("/overview", "/approvals", "/runs/" + site.runs["retried"], "/v1/runs")
        }
    with site.client(None) as anonymous:
        responses["/login"] = anonymous.get("/login")
        responses["/v1/runs (401)"] = anonymous.get("/v1/runs")
    for path, response in responses.items():
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
        assert "unsafe-inline" not in csp and "script-src" not in csp, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
        assert headers["cache-control"] == "no-store", path
    with site.client(None) as anonymous:
        css = anonymous.get("/static/tether.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")
    assert css.headers["x-content-type-options"] == "nosniff"


# -- guessing keys ------------------------------------------------------------------------------


def test_the_sixth_bad_login_in_a_minute_is_refused(tmp_path: Path) -> None:
    with open_site(tmp_path, 0) as own, own.client(None) as client:
        wrong = "tk_0123456789abcdef." + "y" * 43
        for _ in range(5):
            assert "AUTH_INVALID" in page_text(log_in(client, wrong), 401)
        sixth = log_in(client, wrong)
        assert "LOGIN_RATE_LIMITED" in page_text(sixth, 429)
        assert 0 < int(sixth.headers["retry-after"]) <= 60
        # from this address, even the right key waits now; the bearer API is not throttled
        assert "LOGIN_RATE_LIMITED" in page_text(log_in(client, own.keys["viewer"]), 429)
        with own.client("viewer") as bearer:
            assert bearer.get("/v1/runs").status_code == 200


def test_a_failed_login_counts_against_its_address_not_the_key_id_it_names() -> None:
    # key ids are not secret (the audit trail shows them): counting failures against one
    # would let anyone, from anywhere, lock its operator out of the dashboard
    scope = {"type": "http", "method": "POST", "path": "/login", "headers": []}
    request = Request({**scope, "client": ("10.0.0.9", 4321)})
    assert login_subjects(request, "tk_0123456789abcdef." + "y" * 43) == ("address:10.0.0.9",)


def test_the_throttle_counts_per_subject_in_a_sliding_window() -> None:
    clock = ManualClock()
    throttle = LoginThrottle(LoginLimit(max_failures=5, window_s=60), clock)
    for _ in range(5):
        assert throttle.retry_after("address:a", "key:k1") == 0
        throttle.failed("address:a", "key:k1")
        clock.advance(1)
    assert throttle.retry_after("address:a") == 55  # the first failure (at 0 s) leaves at 60 s
    assert throttle.retry_after("address:b", "key:k1") == 55  # the key id, from anywhere
    assert throttle.retry_after("address:b", "key:k2") == 0
    clock.advance(54)
    assert throttle.retry_after("address:a") == 1
    clock.advance(1)
    assert throttle.retry_after("address:a", "key:k1") == 0


def test_replicas_share_the_count_through_redis(redis_url: str) -> None:
    prefix = f"tether-test-{uuid.uuid4().hex}:"
    limit = LoginLimit(max_failures=5, window_s=60)
    first, second = (RedisLoginThrottle(redis_url, prefix, limit) for _ in range(2))
    for _ in range(3):
        first.failed("address:10.0.0.1", "key:k1")
    for _ in range(2):
        second.failed("address:10.0.0.2", "key:k1")
    # five failures against the key id, counted by two processes: both refuse it now
    assert 55 <= first.retry_after("address:10.0.0.3", "key:k1") <= 60
    assert 55 <= second.retry_after("key:k1") <= 60
    assert first.retry_after("address:10.0.0.1", "key:k2") == 0
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = client.keys(prefix + "*")
    assert keys and all(0 < client.ttl(k) <= 61 for k in keys)  # nothing outlives its window
    client.delete(*keys)


def test_without_redis_each_process_still_counts_its_own() -> None:
    throttle = RedisLoginThrottle("redis://127.0.0.1:1/0", "tether-test:", LoginLimit(2, 60))
    throttle.failed("address:a")
    throttle.failed("address:a")
    assert throttle.retry_after("address:a") > 0 and throttle.retry_after("address:b") == 0
    assert isinstance(login_attempts_from_env({}), LoginThrottle)
    with pytest.raises(TetherError) as caught:
        login_attempts_from_env({"TETHER_REDIS_URL": "not a url"})
    assert caught.value.code is ErrorCode.CONFIG_INVALID
