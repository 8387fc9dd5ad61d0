"""`GET /v1/runs/{id}/events` with a near-miss `Last-Event-ID`: a header value that only looks
like a step number must be ignored (or refused with a stable code), never crash the route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import admin_headers, open_desk, order_run_body, serve
from tether.core.errors import ErrorCode, TetherError
from tether.server.app import create_app
from tether.server.dashboard_audit import _check as audit_check
from tether.server.dashboard_core import page_number


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    desk = open_desk(tmp_path)
    app = create_app(desk)
    headers = admin_headers(app)
    try:
        with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            yield c
    finally:
        desk.store.close()


# latin-1 bytes a client can send in a header; Starlette decodes them to "²" and "1¹", which
# `str.isdigit` accepts and `int` does not
@pytest.mark.parametrize("raw", [b"\xb2", b"1\xb9", b"\xb3\xb3"])
def test_superscript_last_event_id_is_not_an_internal_error(api: httpx.Client, raw: bytes) -> None:
    started = api.post("/v1/runs?wait=20", json=order_run_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["id"]

    answer = api.get(f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": raw})

    assert answer.status_code < 500, answer.text
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:  # ignored: the stream ends with the run's decision
        assert "event: decision" in answer.text
    else:
        assert answer.json()["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("text", ["²", "1¹", "³³"])
def test_superscript_page_and_sequence_numbers_are_bad_requests(text: str) -> None:
    """The dashboard's `page` and the audit page's `before` take the same near-miss digits
    from a query string: refused with BAD_REQUEST, as any other non-number."""
    with pytest.raises(TetherError) as page:
        page_number(text)
    assert page.value.code is ErrorCode.BAD_REQUEST
    with pytest.raises(TetherError) as before:
        audit_check(text, "", "")
    assert before.value.code is ErrorCode.BAD_REQUEST
