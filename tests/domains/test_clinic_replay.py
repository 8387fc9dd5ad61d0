"""The clinic's runs replay from what their checks read then, not from the book as it is now:
every scenario's runs come out identical after the book has been changed under them (times
moved, appointments handed to other patients, cancelled, patients renamed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tether.core.types import StepKind
from tether.domains.clinic.book import BOOKED, CANCELLED, DAY, ClinicBook
from tether.domains.clinic.pack import CLINIC
from tether.runtime.replay import Replayer
from tether.sdk import load_scenarios, run_scenario
from tether.sdk import scenario_desk as new_scenario_desk
from tether.store.runs import RunFilter, RunStore

SCENARIOS = {s.name: s for s in load_scenarios(domain=CLINIC)}


@pytest.fixture
def store(sqlite_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(sqlite_url)
    yield opened
    opened.close()


def change_everything(book: ClinicBook) -> None:
    """What a week at the front desk does to the book: every slot a month later, every
    appointment another patient's and booked or cancelled the other way, the patients renamed."""
    patients = sorted(book.patients)
    for slot_id, slot in list(book.slots.items()):
        book.slots[slot_id] = replace(slot, start=slot.start + 30 * DAY)
    for appointment_id, a in list(book.appointments.items()):
        other = patients[(patients.index(a.patient_id) + 1) % len(patients)]
        status = CANCELLED if a.status == BOOKED else BOOKED
        book.appointments[appointment_id] = replace(a, patient_id=other, status=status)
    for patient_id in patients:
        book.patients[patient_id] = f"Renamed {patient_id}"


def checked_reads(store: RunStore, run_ids: list[str]) -> set[str]:
    """The sources the checks of these runs read the book through."""
    sources = set()
    for run_id in run_ids:
        for step in store.get_run(run_id).steps:
            if step.kind is StepKind.GUARD:
                sources.update(k.partition(":")[0] for k in step.data.get("reads") or {})
    return sources


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_changed_book_still_replays_identical(store: RunStore, name: str) -> None:
    desk = new_scenario_desk(CLINIC, store, SCENARIOS[name])
    assert run_scenario(CLINIC, store, SCENARIOS[name], desk=desk).ok
    assert isinstance(desk.data, ClinicBook)
    run_ids = [r.id for r in store.list_runs(RunFilter(), limit=100)]
    replayer = Replayer(desk.runtime)
    before = [replayer.replay(store.get_run(r)) for r in run_ids]
    assert all(r.identical for r in before), [d.to_dict() for r in before for d in r.diffs]
    change_everything(desk.data)
    after = [replayer.replay(store.get_run(r)) for r in run_ids]
    assert all(r.identical for r in after), [d.to_dict() for r in after for d in r.diffs]


def test_the_checks_read_the_book_through_recorded_reads(store: RunStore) -> None:
    """The scenarios whose checks look at the book record each kind of lookup."""
    sources: set[str] = set()
    for name in ("late-cancellation", "another-patients-appointment", "booking-limit"):
        desk = new_scenario_desk(CLINIC, store, SCENARIOS[name])
        assert run_scenario(CLINIC, store, SCENARIOS[name], desk=desk).ok
    sources = checked_reads(store, [r.id for r in store.list_runs(RunFilter(), limit=100)])
    assert {"clinic.patient", "clinic.appointment", "clinic.owner"} <= sources
