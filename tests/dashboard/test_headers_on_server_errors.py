"""Every response carries the security headers and is not cached: a page that fails on the
server (500) included, since it is still served to a browser on the dashboard's origin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.server.conftest import admin_headers, open_desk, serve
from tether.access.operators import Operator
from tether.server.app import create_app
from tether.server.dashboard_approvals import PendingApproval


class UnreachableInbox:
    """An approvals back end (the documented `ApprovalInbox` plug-in) that is down."""

    def pending(self, limit: int) -> Sequence[PendingApproval]:
        raise ConnectionError("the approvals back end did not answer")

    def decide(
        self,
        approval_id: str,
        approve: bool,
        operator: Operator,
        note: str,
        argument_hash: str | None,
    ) -> None:
        raise ConnectionError("the approvals back end did not answer")


def test_a_dashboard_page_that_fails_on_the_server_still_carries_the_security_headers(
    tmp_path: Path,
) -> None:
    desk = open_desk(tmp_path)
    try:
        app = create_app(desk, workers=1)
        desk.approvals = UnreachableInbox()  # type: ignore[assignment]
        headers = admin_headers(app)
        with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            page = c.get("/approvals")
        assert page.status_code == 500, page.text
        assert "frame-ancestors 'none'" in page.headers.get("content-security-policy", "")
        assert page.headers.get("x-frame-options") == "DENY"
        assert page.headers.get("x-content-type-options") == "nosniff"
        assert page.headers.get("cache-control") == "no-store"
    finally:
        desk.store.close()
