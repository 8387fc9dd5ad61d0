"""A yes that names another target than the pending action is no consent to it.

`modify_user_address` changes the customer's default address ("orders keep their own shipping
address"). A customer who answers its confirmation with "Yes, modify my order" agrees to a
change of an order, which is not what is pending: the profile change must not run on that
reply. Checked end to end over HTTP on a real server, on both stores, with the yes that names
what is pending ("Yes, modify my address") as the control that does change it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, serve
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.tools import build_tools
from tether.runtime.confirm import action_targets
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
NEW_ADDRESS = {
    "address1": "1 Main Street",
    "address2": "Apt 2",
    "city": "Springfield",
    "state": "IL",
    "country": "USA",
    "zip": "62701",
}
SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "modify_user_address", "args": {"user_id": USER, **NEW_ADDRESS}},
]
AFTER_REPLY: list[dict[str, Any]] = [{"answer": "Which order would you like to change?"}]


@pytest.fixture
def desk(store_url: str) -> Iterator[Desk]:
    store = RunStore.open(store_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    yield desk
    store.close()


def answer_the_confirmation(desk: Desk, reply: str, after: list[dict[str, Any]]) -> Any:
    """Ask for the profile address change, answer its confirmation with `reply`; the run of
    that answer."""
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        conv = c.post("/v1/conversations", json={"principal": USER}).json()["id"]
        first = c.post(
            f"/v1/conversations/{conv}/messages",
            params={"wait": 30},
            json={
                "text": "Please update my address to 1 Main Street, Apt 2, Springfield IL "
                "62701, USA. raj.sanchez2046@example.com",
                "script": SCRIPT,
            },
        )
        assert first.status_code == 200, first.text
        assert first.json()["pending_action"]["tool"] == "modify_user_address"
        answered = c.post(
            f"/v1/conversations/{conv}/messages",
            params={"wait": 30},
            json={"text": reply, "script": after},
        )
        assert answered.status_code == 200, answered.text
        return c.get(f"/v1/runs/{answered.json()['run_id']}").json()


def address_changes(run: Any) -> list[Any]:
    return [s for s in run["steps"] if s["kind"] == "tool" and s["name"] == "modify_user_address"]


@pytest.mark.parametrize("reply", ["Yes, modify my order", "Yes please, modify this order"])
def test_a_yes_to_changing_an_order_never_changes_the_profile_address(
    desk: Desk, reply: str
) -> None:
    before = desk.data.user(USER)["address"]
    run = answer_the_confirmation(desk, reply, AFTER_REPLY)
    assert address_changes(run) == [], f"{reply!r} was read as consent to the profile change"
    assert desk.data.user(USER)["address"] == before


def test_a_yes_naming_the_pending_target_changes_the_profile_address(desk: Desk) -> None:
    run = answer_the_confirmation(desk, "Yes, modify my address", [{"answer": "Done."}])
    assert len(address_changes(run)) == 1
    assert desk.data.user(USER)["address"] == NEW_ADDRESS


def test_the_targets_of_a_pending_tool_are_what_it_acts_on() -> None:
    tools = {t.spec.name: t.spec for t in build_tools(RetailDB.fresh_copy())}
    profile = tools["modify_user_address"]
    assert action_targets(profile.name, profile.resources) == ("address", "user")
    cancel = tools["cancel_pending_order"]
    assert "order" in action_targets(cancel.name, cancel.resources)
