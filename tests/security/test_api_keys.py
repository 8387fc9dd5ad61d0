"""The security suite, part 3: operator API keys on the HTTP API and the dashboard (401, 403)."""

from __future__ import annotations

import httpx
import pytest

from tests.access.helpers import (
    USER,
)
from tests.dashboard.conftest import form_token, log_in
from tests.security.common import assert_problem
from tests.security.conftest import Api

# -- operator keys on the control plane -------------------------------------------------------

ENDPOINTS = [("GET", "/v1/runs"), ("GET", "/v1/runs/run_x"), ("POST", "/v1/runs")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_and_wrong_api_keys_are_401(api: Api, method: str, path: str) -> None:
    body = (
        {"principal": USER, "input": "hi", "script": [{"refuse": "no"}]}
        if method == "POST"
        else None
    )
    cases = [
        (None, "AUTH_REQUIRED"),
        ("tk_0123456789abcdef." + "x" * 43, "AUTH_INVALID"),
        ("letmein", "AUTH_INVALID"),
    ]
    for key, code in cases:
        with api.client(key=key) as c:
            response = c.request(method, path, json=body)
        assert_problem(response, 401, code)
        assert response.headers["www-authenticate"] == "Bearer"
    with httpx.Client(base_url=api.url) as c:
        basic = c.request(
            method, path, json=body, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
        )
    assert_problem(basic, 401, "AUTH_REQUIRED")


def test_roles_are_enforced(api: Api) -> None:
    body = {"principal": USER, "input": "hi", "script": [{"refuse": "no"}]}
    with api.client("viewer") as c:
        assert c.get("/v1/runs").status_code == 200
        assert_problem(c.post("/v1/runs?wait=60", json=body), 403, "ROLE_FORBIDDEN")
    with api.client("service") as c:
        created = c.post("/v1/runs?wait=60", json=body)
        assert created.status_code == 200
        assert_problem(c.get("/v1/runs"), 403, "ROLE_FORBIDDEN")
        assert_problem(c.get(f"/v1/runs/{created.json()['id']}"), 403, "ROLE_FORBIDDEN")
    with api.client() as c:
        assert c.get("/healthz").status_code == 200  # liveness needs no key
    # who started the run is on the record
    assert api.desk.access is not None
    started = api.desk.access.audit.events(run_id=created.json()["id"])[0].to_dict()
    assert started["kind"] == "run.started" and started["actor"].startswith("operator:")


def test_a_revoked_key_stops_working_at_once(api: Api) -> None:
    assert api.desk.access is not None
    key, info = api.desk.access.operators.create("viewer", actor="tests")
    with api.client(key=key) as c:
        assert c.get("/v1/runs").status_code == 200
        api.desk.access.operators.revoke(info.id, actor="tests")
        assert_problem(c.get("/v1/runs"), 401, "AUTH_INVALID")


def test_the_dashboard_needs_a_key_and_logs_in_with_a_cookie(api: Api) -> None:
    with api.client() as anonymous:
        page = anonymous.get("/")
        assert (
            page.status_code == 401 and "AUTH_REQUIRED" in page.text and 'name="key"' in page.text
        )
        assert anonymous.get("/runs/run_x").status_code == 401
        wrong = log_in(anonymous, "tk_0123456789abcdef." + "y" * 43)
        assert wrong.status_code == 401 and "AUTH_INVALID" in wrong.text
        service = log_in(anonymous, api.keys["service"])
        assert service.status_code == 403 and "ROLE_FORBIDDEN" in service.text
        ok = log_in(anonymous, api.keys["viewer"])
        assert ok.status_code == 303
        cookie = next(c for c in ok.headers.get_list("set-cookie") if "tether_session=" in c)
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert api.keys["viewer"] not in cookie  # a session id, not the key
        page = anonymous.get("/")
        assert page.status_code == 200  # the session now logs every page in
        out = anonymous.post(
            "/logout", data={"csrf_token": form_token(page.text)}, headers={"Origin": api.url}
        )
        assert out.status_code == 303
        assert anonymous.get("/").status_code == 401
