"""Who may give feedback on a run through `POST /v1/runs/{id}/feedback`, on both stores: as who
may cancel it — an operator who may read runs, or the one that started it; a conversation's
turn only as that conversation takes requests (with its customer's token, where it was started
with one). Feedback feeds the KPIs, drift and a rollout's guards (`resolution_rate`): a
`service` key rating runs it did not start could steer them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conversation_site import CANCEL_TEXT, USER, Site, assert_problem, open_site
from tests.server.test_end_user_tokens import _start, keyed_site, token
from tether.core.errors import ErrorCode

__all__ = ["keyed_site"]  # the fixture, shared with the end-user token tests

RESOLVED = {"resolved": True, "given_by": "app"}


@pytest.fixture
def site(store_url: str) -> Iterator[Site]:
    with open_site(store_url, allow_scripts=True) as s:
        yield s


def test_a_service_key_rates_only_the_runs_it_started(site: Site) -> None:
    site.gate.set()  # the model answers at once
    with site.client("admin") as admin:
        theirs = admin.post("/v1/runs?wait=30", json={"principal": USER, "input": CANCEL_TEXT})
    with site.client("service") as service:
        mine = service.post("/v1/runs?wait=30", json={"principal": USER, "input": CANCEL_TEXT})
        assert theirs.status_code == mine.status_code == 200, (theirs.text, mine.text)
        refused = service.post(f"/v1/runs/{theirs.json()['id']}/feedback", json=RESOLVED)
        accepted = service.post(f"/v1/runs/{mine.json()['id']}/feedback", json=RESOLVED)
    assert_problem(refused, 403, ErrorCode.ROLE_FORBIDDEN)
    assert accepted.status_code == 201, accepted.text
    with site.client("admin") as admin:  # who may read every run may rate any of them
        assert (
            admin.post(f"/v1/runs/{mine.json()['id']}/feedback", json=RESOLVED).status_code == 201
        )
        kept = admin.get(f"/v1/runs/{theirs.json()['id']}").json()["feedback"]
    assert kept == []  # the refused feedback left nothing behind


def test_a_turn_bound_to_a_customers_token_is_rated_only_with_it(keyed_site: Site) -> None:
    keyed_site.gate.set()
    cid = _start(keyed_site, token())
    with keyed_site.client("service", token=token()) as customer:
        turn = customer.post(
            f"/v1/conversations/{cid}/messages?wait=30", json={"text": CANCEL_TEXT}
        )
        assert turn.status_code == 200, turn.text
        run_id = turn.json()["run_id"]
        with keyed_site.client("service") as other_app:  # an operator key, no customer token
            refused = other_app.post(f"/v1/runs/{run_id}/feedback", json=RESOLVED)
        accepted = customer.post(f"/v1/runs/{run_id}/feedback", json=RESOLVED)
    assert_problem(refused, 403, ErrorCode.CONVERSATION_FORBIDDEN)
    assert accepted.status_code == 201, accepted.text
