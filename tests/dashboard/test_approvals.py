"""The approvals inbox over the approvals service: who may see and decide, exactly-once
decisions that resume the run, separation of duties, the reviewed arguments, cross-site posts,
and the read-only inbox of a dashboard without a service."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tests.dashboard.conftest import Site, page_text
from tests.server.conftest import open_desk, serve
from tether.approvals import Approval, ApprovalStatus
from tether.core.types import DecisionKind, RunStatus
from tether.domains.retail.pack import RETAIL
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.server.app import STATIC_DIR
from tether.server.dashboard import dashboard_router


def operator_id(site: Site, role: str) -> str:
    return "operator:" + site.keys[role].split(".")[0].removeprefix("tk_")


def status_of(site: Site, approval: Approval) -> ApprovalStatus:
    return site.approvals.get(approval.id).status


def test_a_viewer_sees_the_inbox_but_cannot_decide(site: Site) -> None:
    _, approval = site.escalate()
    with site.client("viewer") as viewer:
        page = page_text(viewer.get("/approvals"))
        assert approval.id in page and "needs the approver role" in page
        assert f"/approvals/{approval.id}/approve" not in page  # no live form for a viewer
        form = {"note": "ok", "argument_hash": approval.argument_hash}
        refused = viewer.post(f"/approvals/{approval.id}/approve", data=form)
        assert "ROLE_FORBIDDEN" in page_text(refused, 403)
    assert status_of(site, approval) is ApprovalStatus.PENDING


def test_an_approver_rejects_once_and_the_run_ends(site: Site) -> None:
    run_id, approval = site.escalate()
    assert site.desk.store.get_run(run_id).status is RunStatus.SUSPENDED
    with site.client("approver") as approver:
        page = page_text(approver.get("/approvals"))
        assert f"started by {operator_id(site, 'admin')}" in page
        assert (
            'class="badge risk-write">write<' in page and "supervisor-approval-large-return" in page
        )
        assert f"/approvals/{approval.id}/reject" in page
        form = {"note": "not this one", "argument_hash": approval.argument_hash}
        done = approver.post(f"/approvals/{approval.id}/reject", data=form)
        assert done.status_code == 303
        assert done.headers["location"].endswith(f"/approvals?decided=reject&id={approval.id}")
        landed = page_text(approver.get(done.headers["location"]))
        assert f"Rejected <code>{approval.id}</code>." in landed
        assert f"/approvals/{approval.id}/" not in landed  # no longer pending
        again = approver.post(f"/approvals/{approval.id}/reject", data={**form, "note": "twice"})
        assert "APPROVAL_ALREADY_DECIDED" in page_text(again, 409)
    decided = site.approvals.get(approval.id)
    assert decided.status is ApprovalStatus.REJECTED and decided.note == "not this one"
    assert decided.decided_by == operator_id(site, "approver")
    run = site.desk.store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED and run.decision is not None
    assert run.decision.kind is DecisionKind.REFUSAL
    with site.client() as viewer:
        shown = viewer.get(f"/runs/{run_id}").text
    assert 'class="badge approval-rejected">rejected<' in shown


def test_the_requester_cannot_approve_their_own_request(site: Site) -> None:
    _, approval = site.escalate()  # started with the admin key
    with site.client("admin") as admin:
        form = {"note": "", "argument_hash": approval.argument_hash}
        refused = admin.post(f"/approvals/{approval.id}/approve", data=form)
        assert "APPROVER_IS_REQUESTER" in page_text(refused, 403)
    assert status_of(site, approval) is ApprovalStatus.PENDING


def test_a_decision_names_the_arguments_it_reviewed(site: Site) -> None:
    _, approval = site.escalate()
    with site.client("approver") as approver:
        page = approver.get("/approvals").text
        form = re.search(
            rf'action="[^"]*/approvals/{approval.id}/approve">\s*'
            r'<input type="hidden" name="argument_hash" value="([^"]+)">',
            page,
        )
        assert form is not None and form.group(1) == approval.argument_hash
        other = {"argument_hash": "sha256:" + "1" * 64, "note": ""}
        refused = approver.post(f"/approvals/{approval.id}/approve", data=other)
        assert "ARGUMENTS_NOT_APPROVED" in page_text(refused, 403)
    assert status_of(site, approval) is ApprovalStatus.PENDING


def test_a_form_posted_from_another_site_is_refused(site: Site) -> None:
    _, approval = site.escalate()
    with site.client("approver", Origin="https://evil.example") as approver:
        form = {"note": "", "argument_hash": approval.argument_hash}
        refused = approver.post(f"/approvals/{approval.id}/approve", data=form)
        assert "another site" in page_text(refused, 403)
    assert status_of(site, approval) is ApprovalStatus.PENDING


@pytest.mark.parametrize(
    ("verdict", "note", "status", "code"),
    [("maybe", "", 404, "BAD_REQUEST"), ("approve", "x" * 1001, 400, "BAD_REQUEST")],
)
def test_bad_decisions_are_refused(
    site: Site, verdict: str, note: str, status: int, code: str
) -> None:
    _, approval = site.escalate()
    with site.client("approver") as approver:
        form = {"note": note, "argument_hash": approval.argument_hash}
        page = page_text(approver.post(f"/approvals/{approval.id}/{verdict}", data=form), status)
        assert code in page
        missing = approver.post("/approvals/apr_missing/approve", data={"note": ""})
        assert "APPROVAL_NOT_FOUND" in page_text(missing, 404)
    assert status_of(site, approval) is ApprovalStatus.PENDING


def test_without_an_approvals_service_the_inbox_is_read_only(
    site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    desk = open_desk(tmp_path_factory.mktemp("no-approvals"))  # approvals not enabled
    large_return = next(
        s for s in load_scenarios(None, RETAIL) if s.name == "large-return-escalated"
    )
    escalated = run_scenario(RETAIL, desk.store, large_return).run
    assert escalated.decision is not None and escalated.decision.kind is DecisionKind.ESCALATION
    assert desk.access is not None and desk.approvals is None
    app = FastAPI()  # the dashboard alone, on a desk whose approvals were never enabled
    app.include_router(dashboard_router(desk, desk.access.operators))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    key, _ = desk.access.operators.create("approver", actor="tests")
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        page = page_text(client.get("/approvals"))
        assert "No approvals service is connected" in page
        assert escalated.id in page  # the request the escalated run recorded
        assert "return_delivered_order_items" in page and "supervisor" in page
        assert "disabled" in page and "/approve" not in page
        refused = client.post("/approvals/apr_x/approve", data={"note": ""})
        assert "CONFIG_INVALID" in page_text(refused, 503)
