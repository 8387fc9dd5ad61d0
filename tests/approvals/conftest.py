"""Approvals fixtures: a desk whose escalated calls wait for a person, over a SQLite file, with
a manual clock (expiry and waiting are real durations on it), and the large return that the
house rule escalates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.approvals import Approval, ApprovalService, Approver, EscalationConfig
from tether.core.clock import ManualClock
from tether.core.types import Run, RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.store.runs import RunStore

from ..talk import confirm_write

USER = "raj_sanchez_2970"
ORDER = "#W1067251"
RETURN = {"order_id": ORDER, "item_ids": ["7848293342"], "payment_method_id": "credit_card_3362387"}
TALK = (
    f"I want to return the grill from order {ORDER}. I'm Raj Sanchez, zip 92147.",
    f"I can request the return of the Grill (item 7848293342) from order {ORDER}, refunding "
    "$942.71 to your original credit card ending 2130. Shall I go ahead?",
    "Yes, go ahead.",
)
SCRIPT: list[dict[str, Any]] = [
    {
        "tool": "find_user_id_by_name_zip",
        "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    },
    {"tool": "return_delivered_order_items", "args": RETURN},
    {"answer": "Your return is requested [tool:2]."},
]
SAM = Approver("operator:sam", "approver", "Sam")
ALEX = Approver("operator:alex", "approver", "Alex")
START = 1_800_000_000.0


def open_desk(
    store: RunStore,
    clock: ManualClock | None = None,
    escalations: EscalationConfig | None = None,
    db: RetailDB | None = None,
) -> Desk:
    """A desk with approvals over `store`, its own retail data unless `db` is given."""
    return open_retail_desk(
        store,
        db=db or RetailDB.fresh_copy(),
        clock=clock,
        approvals=True,
        escalations=escalations or EscalationConfig(),
    )


def start_return(
    desk: Desk,
    script: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    keep_script: bool = True,
) -> Run:
    """Start the large return: the customer asks, the agent proposes it, the customer confirms
    and the confirmed call escalates. With `keep_script` the run keeps the rest of its script
    for the approval. Returns the confirming turn's run (or the first, if it did not ask)."""
    first, second = confirm_write(desk, USER, TALK[0], script or SCRIPT, metadata, keep_script)
    return (second or first).run


def pending_for(service: ApprovalService, run: Run) -> Approval:
    assert run.status is RunStatus.SUSPENDED, run.decision
    (approval,) = service.list(run_id=run.id)
    return approval


def service(desk: Desk) -> ApprovalService:
    assert desk.approvals is not None
    return desk.approvals


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    s = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def desk(store: RunStore, clock: ManualClock) -> Desk:
    return open_desk(store, clock)
