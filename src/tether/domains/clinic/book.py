"""The clinic's appointment book: its clinicians, its patients, the slots in their diaries and
the appointments booked into them.

The book is laid out relative to the moment it is opened (slots fall on the coming days, and
one appointment starts in a few hours), so that the 24-hour rule always has something to bite
on. It lives in memory: `ClinicBook.open(now)` gives a new one, and the pack keeps one per
store for desks that do not ask for a fresh copy. Every change goes through `book`,
`reschedule` and `cancel`, under one lock, and a change made under an idempotency key is
recorded with its result so that a retried call changes nothing twice.

What the checks read of the book (who owns what, the patient, appointment and slot records the
policies see) goes through `recorded_read`: a run keeps it with its guard steps, and a replay
reads those values instead of the book as it is by then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from tether import ToolError, recorded_read

HOUR = 3600.0
DAY = 24 * HOUR
BOOKED = "booked"
CANCELLED = "cancelled"

T = TypeVar("T")


@dataclass(frozen=True)
class Clinician:
    id: str
    name: str
    specialty: str


@dataclass(frozen=True)
class Slot:
    """Half an hour in a clinician's diary; `appointment_id` is set while it is booked."""

    id: str
    clinician_id: str
    start: float  # seconds since the epoch, UTC
    appointment_id: str | None = None


@dataclass(frozen=True)
class Appointment:
    id: str
    patient_id: str
    slot_id: str
    reason: str
    status: str = BOOKED


CLINICIANS = (
    Clinician("dr-okafor", "Dr Amara Okafor", "general practice"),
    Clinician("dr-lindqvist", "Dr Erik Lindqvist", "dermatology"),
    Clinician("nurse-haddad", "Nurse Leila Haddad", "practice nursing"),
)
PATIENTS = {"ana-silva": "Ana Silva", "ben-carter": "Ben Carter", "chloe-nguyen": "Chloe Nguyen"}

# (slot, clinician, days after today, hour of the day in UTC); day 0 hour None is "soon"
_DIARY: tuple[tuple[str, str, int, int | None], ...] = (
    ("S101", "dr-okafor", 0, None),
    ("S102", "dr-lindqvist", 3, 10),
    ("S103", "dr-okafor", 2, 9),
    ("S104", "nurse-haddad", 2, 11),
    ("S105", "dr-okafor", 3, 15),
    ("S106", "dr-lindqvist", 4, 10),
    ("S201", "dr-okafor", 2, 14),
    ("S202", "dr-okafor", 4, 9),
    ("S203", "dr-lindqvist", 3, 14),
    ("S204", "dr-lindqvist", 5, 10),
    ("S205", "nurse-haddad", 2, 15),
    ("S206", "nurse-haddad", 4, 11),
)
_BOOKED = (
    Appointment("A1001", "ana-silva", "S101", "a cough that will not go away"),
    Appointment("A1002", "ana-silva", "S102", "a mole to check"),
    Appointment("A1003", "ben-carter", "S103", "a blood pressure review"),
    Appointment("A1004", "chloe-nguyen", "S104", "a travel vaccination"),
    Appointment("A1005", "chloe-nguyen", "S105", "test results"),
    Appointment("A1006", "chloe-nguyen", "S106", "a rash"),
)


def when(start: float) -> str:
    """A slot's start as the tools show it, e.g. `2025-06-03 09:00 UTC`."""
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")


class ClinicBook:
    """The clinic's clinicians, patients, slots and appointments, and the only ways to change
    them. `now` is the clock the book reads to tell what is still to come."""

    def __init__(
        self,
        slots: Mapping[str, Slot],
        appointments: Mapping[str, Appointment],
        now: Callable[[], float],
    ) -> None:
        self.clinicians = {c.id: c for c in CLINICIANS}
        self.patients = dict(PATIENTS)
        self.slots = dict(slots)
        self.appointments = dict(appointments)
        self.now = now
        self._next_id = 1 + max(int(a.removeprefix("A")) for a in self.appointments)
        self._done: dict[str, Any] = {}  # idempotency key -> the result it produced
        self._lock = threading.RLock()

    @classmethod
    def open(cls, now: Callable[[], float]) -> ClinicBook:
        """The clinic's opening book, laid out from the current time."""
        today = now() // DAY * DAY
        soon = (now() // HOUR + 4) * HOUR  # three to four hours from now
        slots = {
            sid: Slot(sid, cid, soon if hour is None else today + day * DAY + hour * HOUR)
            for sid, cid, day, hour in _DIARY
        }
        for appointment in _BOOKED:
            slot = slots[appointment.slot_id]
            slots[slot.id] = replace(slot, appointment_id=appointment.id)
        return cls(slots, {a.id: a for a in _BOOKED}, now)

    # -- reading ---------------------------------------------------------------------------

    def open_slots(self, clinician_id: str | None = None) -> list[Slot]:
        """Free slots still to come, soonest first, for one clinician or all of them."""
        with self._lock:
            found = [
                s
                for s in self.slots.values()
                if s.appointment_id is None
                and s.start > self.now()
                and clinician_id in (None, s.clinician_id)
            ]
        return sorted(found, key=lambda s: (s.start, s.id))

    def appointments_of(self, patient_id: str) -> list[Appointment]:
        """A patient's appointments, booked and cancelled, in the order of their slots."""
        with self._lock:
            mine = [a for a in self.appointments.values() if a.patient_id == patient_id]
            return sorted(mine, key=lambda a: (self.slots[a.slot_id].start, a.id))

    def upcoming(self, patient_id: str) -> int:
        """How many booked appointments the patient has still to come."""
        now = self.now()
        return sum(
            1
            for a in self.appointments_of(patient_id)
            if a.status == BOOKED and self.slots[a.slot_id].start > now
        )

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        """Who owns a resource the tools name: a patient owns themself and their appointments.
        None when there is no such resource (the tool then answers NOT_FOUND)."""
        return recorded_read(
            "clinic.owner", f"{kind}:{resource_id}", lambda: self._owner(kind, resource_id)
        )

    def _owner(self, kind: str, resource_id: str) -> str | None:
        if kind == "patient":
            return resource_id if resource_id in self.patients else None
        if kind == "appointment":
            found = self.appointments.get(resource_id)
            return found.patient_id if found else None
        return None

    # -- changing --------------------------------------------------------------------------

    def once(self, key: str | None, change: Callable[[], T]) -> T:
        """Make `change` at most once per idempotency key: a repeated key returns the result
        the first call recorded. Without a key the change simply runs."""
        with self._lock:
            if key is not None and key in self._done:
                done: T = self._done[key]
                return done
            result = change()
            if key is not None:
                self._done[key] = result
            return result

    def book(self, patient_id: str, slot_id: str, reason: str) -> Appointment:
        with self._lock:
            if patient_id not in self.patients:
                raise ToolError("NOT_FOUND", f"no patient has the id {patient_id!r}")
            slot = self._free_slot(slot_id)
            appointment = Appointment(f"A{self._next_id}", patient_id, slot.id, reason)
            self._next_id += 1
            self.appointments[appointment.id] = appointment
            self.slots[slot.id] = replace(slot, appointment_id=appointment.id)
            return appointment

    def reschedule(self, appointment_id: str, slot_id: str) -> Appointment:
        with self._lock:
            appointment = self._booked(appointment_id)
            new = self._free_slot(slot_id)
            old = self.slots[appointment.slot_id]
            moved = replace(appointment, slot_id=new.id)
            self.slots[old.id] = replace(old, appointment_id=None)
            self.slots[new.id] = replace(new, appointment_id=moved.id)
            self.appointments[moved.id] = moved
            return moved

    def cancel(self, appointment_id: str) -> Appointment:
        with self._lock:
            appointment = self._booked(appointment_id)
            slot = self.slots[appointment.slot_id]
            cancelled = replace(appointment, status=CANCELLED)
            self.slots[slot.id] = replace(slot, appointment_id=None)
            self.appointments[cancelled.id] = cancelled
            return cancelled

    def _free_slot(self, slot_id: str) -> Slot:
        slot = self.slots.get(slot_id)
        if slot is None:
            raise ToolError("NOT_FOUND", f"no slot has the id {slot_id!r}")
        if slot.appointment_id is not None:
            raise ToolError("CONFLICT", f"slot {slot_id} is already taken")
        if slot.start <= self.now():
            raise ToolError("PRECONDITION_FAILED", f"slot {slot_id} has already started")
        return slot

    def _booked(self, appointment_id: str) -> Appointment:
        appointment = self.appointments.get(appointment_id)
        if appointment is None:
            raise ToolError("NOT_FOUND", f"no appointment has the id {appointment_id!r}")
        if appointment.status != BOOKED:
            raise ToolError("PRECONDITION_FAILED", f"appointment {appointment_id} is cancelled")
        if self.slots[appointment.slot_id].start <= self.now():
            raise ToolError("PRECONDITION_FAILED", f"appointment {appointment_id} has started")
        return appointment

    # -- what the policies read ------------------------------------------------------------

    def patient_record(self, patient_id: str) -> dict[str, Any] | None:
        """A patient as the `Patient` entity: their name and upcoming appointments."""
        return recorded_read("clinic.patient", patient_id, lambda: self._patient(patient_id))

    def appointment_record(self, appointment_id: str) -> dict[str, Any] | None:
        """An appointment as the `Appointment` entity, with the hours left before it starts."""
        return recorded_read(
            "clinic.appointment", appointment_id, lambda: self._appointment(appointment_id)
        )

    def slot_record(self, slot_id: str) -> dict[str, Any] | None:
        """A slot as the `Slot` entity: whose diary it is in."""
        return recorded_read("clinic.slot", slot_id, lambda: self._slot(slot_id))

    def _patient(self, patient_id: str) -> dict[str, Any] | None:
        name = self.patients.get(patient_id)
        if name is None:
            return None
        return {"name": name, "upcomingAppointments": self.upcoming(patient_id)}

    def _appointment(self, appointment_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.appointments.get(appointment_id)
            if found is None:
                return None
            slot = self.slots[found.slot_id]
        return {
            "patient": found.patient_id,
            "clinician": slot.clinician_id,
            "status": found.status,
            "hoursUntil": int((slot.start - self.now()) // HOUR),
        }

    def _slot(self, slot_id: str) -> dict[str, Any] | None:
        slot = self.slots.get(slot_id)
        return None if slot is None else {"clinician": slot.clinician_id}
