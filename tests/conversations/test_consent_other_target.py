"""A yes that names another target than the pending action is no consent to it.

`modify_user_address` changes the customer's default address ("orders keep their own shipping
address"). A customer who answers its confirmation with "Yes, modify my order" agrees to a
change of an order, which is not what is pending: the profile change must not run on that
reply. Checked end to end over HTTP on a real server, on both stores, with the yes that names
what is pending ("Yes, modify my address") as the control that does change it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conversations.conftest import answer_the_pending_action
from tether.domains.retail.db import RetailDB
from tether.domains.retail.tools import build_tools
from tether.policy import action_targets
from tether.sdk import Desk

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


def answer_the_confirmation(desk: Desk, reply: str, after: list[dict[str, Any]]) -> Any:
    """Ask for the profile address change, answer its confirmation with `reply`; the run of
    that answer."""
    ask = (
        "Please update my address to 1 Main Street, Apt 2, Springfield IL 62701, USA. "
        "raj.sanchez2046@example.com"
    )
    first, run = answer_the_pending_action(desk, USER, (ask, SCRIPT), (reply, after))
    assert first["pending_action"]["tool"] == "modify_user_address"
    return run


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
