"""The approvals endpoints over a real server on 127.0.0.1: reading needs a viewer, deciding an
approver other than the requester; each bad input has its problem code; the dashboard inbox
decides through the same service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import serve
from tether.access.operators import Operator, Role
from tether.core.errors import ErrorCode
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.server.app import create_app
from tether.server.approvals_api import ApprovalsInbox
from tether.server.dashboard_approvals import ApprovalInbox
from tether.store.runs import RunStore

from .conftest import start_return

ROLES = ("viewer", "approver", "admin", "service")


@dataclass
class Site:
    url: str
    keys: dict[str, str]
    desk: Desk
    inbox: Any

    def client(self, role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def start(self, role: str = "service") -> dict[str, Any]:
        """A conversation's large return, requested for `role`'s key and confirmed by the
        customer; the confirmed call waits for approval."""
        actor = "operator:" + self.keys[role].split(".", 1)[0].removeprefix("tk_")
        run = start_return(self.desk, metadata={"operator": actor}).to_dict()
        assert run["status"] == "suspended" and run["decision"] is None
        return run

    def pending(self, run_id: str) -> dict[str, Any]:
        with self.client("viewer") as c:
            page = c.get("/v1/approvals", params={"run_id": run_id}).json()
        (found,) = page["approvals"]
        assert isinstance(found, dict)
        return found


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A server over its own store and retail data (each test returns the same grill)."""
    directory = tmp_path
    store = RunStore.open(f"sqlite:///{directory / 't.db'}")
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    app = create_app(desk)
    keys = {r: app.state.operators.create(r, name=f"{r} (tests)", actor="tests")[0] for r in ROLES}
    with serve(app) as url:
        yield Site(url, keys, desk, app.state.approvals)
    store.close()


def _problem(response: httpx.Response, status: int, code: ErrorCode) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code.value


def test_a_run_waits_and_an_approver_approves_it(site: Site) -> None:
    run = site.start()
    approval = site.pending(run["id"])
    assert approval["status"] == "pending" and approval["tool"] == "return_delivered_order_items"
    assert approval["requested_by"].startswith("operator:")
    with site.client("viewer") as viewer:
        shown = viewer.get(f"/v1/approvals/{approval['id']}")
        assert shown.status_code == 200 and shown.json()["argument_hash"]
        _problem(
            viewer.post(f"/v1/approvals/{approval['id']}/approve"),
            403,
            ErrorCode.ROLE_FORBIDDEN,
        )
    with site.client("service") as service:  # may start runs, may not decide
        _problem(
            service.post(f"/v1/approvals/{approval['id']}/approve"), 403, ErrorCode.ROLE_FORBIDDEN
        )
    with site.client("approver") as approver:
        done = approver.post(
            f"/v1/approvals/{approval['id']}/approve?wait=60",  # a worker continues the run
            json={"note": "receipt checked", "argument_hash": approval["argument_hash"]},
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["approval"]["status"] == "approved"
        assert body["approval"]["note"] == "receipt checked"
        assert body["run"]["status"] == "completed"
        assert body["run"]["decision"]["kind"] == "action"
        _problem(
            approver.post(f"/v1/approvals/{approval['id']}/approve"),
            409,
            ErrorCode.APPROVAL_ALREADY_DECIDED,
        )
        _problem(
            approver.post(f"/v1/approvals/{approval['id']}/reject"),
            409,
            ErrorCode.APPROVAL_ALREADY_DECIDED,
        )
    with site.client("viewer") as viewer:
        listed = viewer.get("/v1/approvals", params={"status": "approved"}).json()
        assert approval["id"] in [a["id"] for a in listed["approvals"]]


def test_a_rejection_ends_the_run_in_a_refusal(site: Site) -> None:
    run = site.start()
    approval = site.pending(run["id"])
    with site.client("approver") as approver:
        done = approver.post(f"/v1/approvals/{approval['id']}/reject?wait=60", json={"note": "no"})
    assert done.status_code == 200, done.text
    decision = done.json()["run"]["decision"]
    assert decision["kind"] == "refusal" and decision["reason"]["code"] == "APPROVAL_REJECTED"


def test_the_requester_may_not_approve_their_own_run(site: Site) -> None:
    run = site.start("admin")  # admins may start runs and decide approvals, not both for one
    approval = site.pending(run["id"])
    with site.client("admin") as admin:
        _problem(
            admin.post(f"/v1/approvals/{approval['id']}/approve"),
            403,
            ErrorCode.APPROVER_IS_REQUESTER,
        )
    with site.client("approver") as approver:
        assert approver.post(f"/v1/approvals/{approval['id']}/approve").status_code == 200


def test_bad_requests_get_their_codes(site: Site) -> None:
    run = site.start()
    approval = site.pending(run["id"])
    with site.client("approver") as approver:
        _problem(approver.get("/v1/approvals/apr_nope"), 404, ErrorCode.APPROVAL_NOT_FOUND)
        _problem(approver.post("/v1/approvals/apr_nope/approve"), 404, ErrorCode.APPROVAL_NOT_FOUND)
        _problem(
            approver.post(
                f"/v1/approvals/{approval['id']}/approve", json={"argument_hash": "sha256:0"}
            ),
            403,
            ErrorCode.ARGUMENTS_NOT_APPROVED,
        )
        _problem(
            approver.post(f"/v1/approvals/{approval['id']}/approve", json={"surprise": 1}),
            400,
            ErrorCode.BAD_REQUEST,
        )
        _problem(
            approver.get("/v1/approvals", params={"status": "maybe"}), 400, ErrorCode.BAD_REQUEST
        )
    with httpx.Client(base_url=site.url) as anonymous:
        _problem(anonymous.get("/v1/approvals"), 401, ErrorCode.AUTH_REQUIRED)
    assert site.pending(run["id"])["status"] == "pending"  # none of that decided anything


def test_the_dashboard_inbox_decides_through_the_service(site: Site) -> None:
    assert isinstance(site.inbox, ApprovalsInbox) and isinstance(site.inbox, ApprovalInbox)
    run = site.start()
    waiting = [p for p in site.inbox.pending(100) if p.run_id == run["id"]]
    assert len(waiting) == 1 and waiting[0].argument_hash and waiting[0].expires_at
    operator = Operator("k1", "Kim", Role.APPROVER)
    site.inbox.decide(waiting[0].id, False, operator, "not this one")
    assert all(p.run_id != run["id"] for p in site.inbox.pending(100))
    with site.client("viewer") as viewer:
        decided = viewer.get(f"/v1/approvals/{waiting[0].id}").json()
    assert decided["status"] == "rejected" and decided["decided_by"] == "operator:k1"
