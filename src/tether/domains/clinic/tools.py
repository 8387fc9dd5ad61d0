"""The appointment desk's tools: two reads and three writes over the clinic's book.

A tool's docstring is what the model reads; its type hints are its schema. Tools know nothing
of who is asking: the runtime checks, before a call runs, that the patient and appointment it
names belong to the patient the run acts for (`resources`), and the policies decide the rest.
A domain failure is a `ToolError` with a stable code (NOT_FOUND, CONFLICT, ...).
"""

from __future__ import annotations

from typing import Any

from tether import (
    Envelope,
    RetryPolicy,
    RiskClass,
    Tool,
    ToolError,
    current_idempotency_key,
    make_tool,
)
from tether.domains.clinic.book import Appointment, ClinicBook, Slot, when

READ = "clinic:read"
WRITE = "clinic:write"
TOOL_NAMES = (
    "list_open_slots",
    "list_appointments",
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
)
# a write may be retried because it honours the idempotency key; each attempt has 5 s
WRITE_ENVELOPE = Envelope(timeout_s=5.0, retry=RetryPolicy(max_attempts=3))


class ClinicTools:
    """The tool functions, over one book."""

    def __init__(self, book: ClinicBook) -> None:
        self.book = book

    def list_open_slots(self, clinician_id: str | None = None) -> list[dict[str, Any]]:
        """List free appointment slots still to come, soonest first: all of them, or those of
        one clinician (dr-okafor: general practice, dr-lindqvist: dermatology, nurse-haddad:
        practice nursing)."""
        if clinician_id is not None and clinician_id not in self.book.clinicians:
            raise ToolError("NOT_FOUND", f"no clinician has the id {clinician_id!r}")
        return [self._slot(s) for s in self.book.open_slots(clinician_id)]

    def list_appointments(self, patient_id: str) -> list[dict[str, Any]]:
        """List a patient's appointments (booked and cancelled) with their clinician and time."""
        if patient_id not in self.book.patients:
            raise ToolError("NOT_FOUND", f"no patient has the id {patient_id!r}")
        return [self._appointment(a) for a in self.book.appointments_of(patient_id)]

    def book_appointment(self, patient_id: str, slot_id: str, reason: str) -> dict[str, Any]:
        """Book a free slot for a patient, with the reason for the visit in a few words. Needs
        the patient's explicit confirmation."""
        if not reason.strip():
            raise ToolError("INVALID_ARGUMENTS", "say in a few words what the visit is for")
        booked = self.book.once(
            current_idempotency_key(), lambda: self.book.book(patient_id, slot_id, reason)
        )
        return self._appointment(booked)

    def reschedule_appointment(self, appointment_id: str, slot_id: str) -> dict[str, Any]:
        """Move a booked appointment to another free slot (of any clinician). Not possible
        within 24 hours of its start. Needs the patient's explicit confirmation."""
        moved = self.book.once(
            current_idempotency_key(), lambda: self.book.reschedule(appointment_id, slot_id)
        )
        return self._appointment(moved)

    def cancel_appointment(self, appointment_id: str) -> dict[str, Any]:
        """Cancel a booked appointment, which frees its slot. Not possible within 24 hours of
        its start. Needs the patient's explicit confirmation."""
        cancelled = self.book.once(
            current_idempotency_key(), lambda: self.book.cancel(appointment_id)
        )
        return self._appointment(cancelled)

    # -- what the model sees ---------------------------------------------------------------

    def _slot(self, slot: Slot) -> dict[str, Any]:
        clinician = self.book.clinicians[slot.clinician_id]
        return {
            "slot_id": slot.id,
            "clinician_id": clinician.id,
            "clinician": clinician.name,
            "specialty": clinician.specialty,
            "starts_at": when(slot.start),
        }

    def _appointment(self, appointment: Appointment) -> dict[str, Any]:
        slot = self.book.slots[appointment.slot_id]
        return {
            "appointment_id": appointment.id,
            "patient_id": appointment.patient_id,
            "status": appointment.status,
            "reason": appointment.reason,
            **self._slot(slot),
        }


def build_tools(book: ClinicBook) -> list[Tool]:
    """The desk's tools over `book`: reads need `clinic:read`, writes `clinic:write`."""
    impl = ClinicTools(book)
    patient = {"patient_id": "patient"}
    appointment = {"appointment_id": "appointment"}
    write: dict[str, Any] = {
        "risk": RiskClass.WRITE,
        "scopes": (WRITE,),
        "envelope": WRITE_ENVELOPE,
        "idempotent": True,
    }
    return [
        make_tool(impl.list_open_slots, scopes=(READ,)),
        make_tool(impl.list_appointments, scopes=(READ,), resources=patient),
        make_tool(impl.book_appointment, resources=patient, **write),
        make_tool(impl.reschedule_appointment, resources=appointment, **write),
        make_tool(impl.cancel_appointment, resources=appointment, **write),
    ]
