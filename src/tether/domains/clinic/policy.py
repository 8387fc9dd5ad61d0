"""How the clinic's policies see a call: a declarative binding over the appointment book.

The schema (`policies/clinic.cedarschema`) says what each action's principal, resource and
context are; this module says only where the values come from. The patient is read from the
book, so `principal.upcomingAppointments` is what the book holds now; an appointment or slot
is read by the id in the call's arguments; `hoursUntilSlot` is a field of the appointment's
record; `confirmed` asks the runtime, which owns confirmations, whether the patient confirmed
exactly this call in this turn.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tether import ToolCall
from tether.domains.clinic.book import ClinicBook
from tether.policy import (
    ActionBinding,
    DeclarativeBinding,
    FactSource,
    PolicyEngine,
    Subject,
    fact,
)
from tether.sdk import PolicySet

POLICIES = Path(str(resources.files("tether.domains.clinic") / "policies"))
CLINIC_POLICIES = PolicySet(
    schema=POLICIES / "clinic.cedarschema",
    files=(POLICIES / "clinic.cedar",),
    cases=POLICIES / "cases",
)


def confirmed(source: FactSource) -> bool:
    """The patient confirmed this very call (same tool, same arguments) in this turn."""
    return source.ctx.is_confirmed(ToolCall("", source.action, dict(source.arguments)))


def clinic_binding(book: ClinicBook, engine: PolicyEngine | None = None) -> DeclarativeBinding:
    """The binding of the clinic's policies to `book` (checked against the schema here)."""
    schema = (engine or CLINIC_POLICIES.engine()).schema
    confirmation = fact("confirmed", compute=confirmed)
    appointment = Subject("Appointment", argument="appointment_id", lookup="appointment")
    change_appointment = ActionBinding(
        resource=appointment,
        facts=(
            confirmation,
            fact("hoursUntilSlot", record="appointment", key="appointment_id", field="hoursUntil"),
        ),
    )
    return DeclarativeBinding(
        schema,
        principal=Subject("Patient", lookup="patient"),
        lookups={
            "patient": book.patient_record,
            "appointment": book.appointment_record,
            "slot": book.slot_record,
        },
        actions={
            "list_appointments": ActionBinding(
                resource=Subject("Patient", argument="patient_id", lookup="patient")
            ),
            "book_appointment": ActionBinding(
                resource=Subject("Slot", argument="slot_id", lookup="slot"),
                facts=(confirmation,),
            ),
            "reschedule_appointment": change_appointment,
            "cancel_appointment": change_appointment,
        },
    )
