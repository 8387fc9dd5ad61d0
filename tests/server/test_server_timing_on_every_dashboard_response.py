"""README, *Operator dashboard*: "Every dashboard response carries `Server-Timing:
app;dur=<ms>`": not only the rendered pages but the redirects of a login and a logout, and the
refusals made before any route runs (a URL holding a NUL, one too long)."""

from __future__ import annotations

import re

import httpx


def _timed(response: httpx.Response) -> bool:
    return (
        re.fullmatch(r"app;dur=\d+(\.\d+)?", response.headers.get("server-timing", "")) is not None
    )


def test_login_logout_and_refusals_carry_server_timing(served: tuple[str, dict[str, str]]) -> None:
    url, admin = served
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as browser:
        form = browser.get("/login")
        assert _timed(form)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        key = admin["Authorization"].removeprefix("Bearer ")
        logged_in = browser.post(
            "/login", data={"key": key, "csrf_token": token.group(1)}, headers={"Origin": url}
        )
        assert logged_in.status_code == 303, logged_in.text[:300]
        page = browser.get("/overview")
        assert page.status_code == 200 and _timed(page)
        session_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert session_token is not None
        logged_out = browser.post(
            "/logout", data={"csrf_token": session_token.group(1)}, headers={"Origin": url}
        )
        assert logged_out.status_code == 303
        nul = browser.get("/?agent=%00", headers=admin)
        assert nul.status_code == 400
        too_long = browser.get("/?agent=" + "a" * 9000, headers=admin)
        assert too_long.status_code == 414
        refusals = (("login", logged_in), ("logout", logged_out), ("nul", nul), ("414", too_long))
        missing = [name for name, response in refusals if not _timed(response)]
    assert missing == []
