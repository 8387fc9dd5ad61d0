"""Who may cancel a run through `POST /v1/runs/{id}/cancel`, which answers with the whole run
(the customer's messages, every step), on both stores: an operator who may read runs, or the
one that started it; a conversation's turn only as that conversation takes requests (with its
customer's token, where it was started with one).

The README: `GET /v1/runs/{id}` needs a viewer; `service` is "a backend that starts runs for
customers and nothing else".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conversation_site import CANCEL_TEXT, USER, Site, assert_problem, open_site
from tests.server.test_end_user_tokens import _start, keyed_site, token
from tether.core.errors import ErrorCode

__all__ = ["keyed_site"]  # the fixture, shared with the end-user token tests


@pytest.fixture
def site(store_url: str) -> Iterator[Site]:
    with open_site(store_url, allow_scripts=True) as s:
        yield s


def test_a_service_key_cannot_read_another_operators_run_through_cancel(site: Site) -> None:
    with site.client("admin") as admin:
        started = admin.post("/v1/runs", json={"principal": USER, "input": CANCEL_TEXT})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert site.wait_for_run(run_id, until=lambda s: s == "running")["status"] == "running"
    with site.client("service") as service:
        assert_problem(service.get(f"/v1/runs/{run_id}"), 403, ErrorCode.ROLE_FORBIDDEN)
        cancelled = service.post(f"/v1/runs/{run_id}/cancel")
    site.gate.set()
    # what GET refuses this key must not come back from another route
    assert "raj.sanchez2046@example.com" not in cancelled.text, cancelled.text[:400]
    assert "steps" not in cancelled.json(), cancelled.text[:400]


def test_a_turn_bound_to_a_customers_token_is_not_cancelled_without_it(keyed_site: Site) -> None:
    """A conversation started with an end-user token takes later requests only with its
    customer's token (`403 CONVERSATION_FORBIDDEN`); its turn's run is cancelled without one."""
    cid = _start(keyed_site, token())
    with keyed_site.client("service", token=token()) as customer:
        turn = customer.post(f"/v1/conversations/{cid}/messages", json={"text": CANCEL_TEXT})
    assert turn.status_code == 202, turn.text
    run_id = turn.json()["run_id"]
    assert keyed_site.wait_for_run(run_id, until=lambda s: s == "running")["status"] == "running"
    with keyed_site.client("service") as other_app:  # an operator key, no customer token
        assert_problem(
            other_app.post(f"/v1/conversations/{cid}/close"), 403, ErrorCode.CONVERSATION_FORBIDDEN
        )
        cancelled = other_app.post(f"/v1/runs/{run_id}/cancel")
    keyed_site.gate.set()
    assert_problem(cancelled, 403, ErrorCode.CONVERSATION_FORBIDDEN)
    run = keyed_site.wait_for_run(run_id)
    assert run["decision"]["reason"] is None or run["decision"]["reason"]["code"] != "RUN_CANCELLED"


def test_a_service_key_cancels_a_run_it_started(site: Site) -> None:
    with site.client("service") as service:
        started = service.post("/v1/runs", json={"principal": USER, "input": CANCEL_TEXT})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        assert site.wait_for_run(run_id, until=lambda s: s == "running")["status"] == "running"
        cancelled = service.post(f"/v1/runs/{run_id}/cancel")
    site.gate.set()
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["id"] == run_id and "steps" in cancelled.json()
    # the model's turn in hand ends the run (its answer); no later turn is asked for
    assert site.wait_for_run(run_id)["status"] == "completed"
