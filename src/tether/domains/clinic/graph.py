"""The clinic as a graph, read live from the book: clinicians, the slots in their diaries, and
appointments (each visible only to the patient who holds it).

When a patient's message names an appointment (`A1002`), a slot (`S201`) or a clinician
(`dr-okafor`), retrieval adds what the book says about it, and about its clinician, to the
evidence the agent may cite (`[graph:appointment:A1002]`). Somebody else's appointment is
not evidence: it carries its patient's label, which no other run holds.
"""

from __future__ import annotations

from typing import Any

from tether.domains.clinic.book import ClinicBook, when
from tether.grounding import Entity, EntityIds, EntityPattern, Relation

SOURCE = "clinic:book"

CLINIC_IDS = EntityIds(
    patterns=(
        EntityPattern(r"\b(A\d{4})\b", ("appointment",)),
        EntityPattern(r"\b(S\d{3})\b", ("slot",)),
        EntityPattern(r"\b((?:dr|nurse)-[a-z]+)\b", ("clinician",)),
    ),
    expansion={"appointment": ("clinician",), "slot": ("clinician",)},
)


class ClinicGraph:
    """An `EntityGraph` over the book's current state: nothing is copied, nothing lags."""

    def __init__(self, book: ClinicBook) -> None:
        self.book = book

    def entity(self, entity_id: str) -> Entity | None:
        kind, _, key = entity_id.partition(":")
        book, source = self.book, f"{SOURCE}/{kind}s/{key}"
        facts: dict[str, Any]
        if kind == "clinician" and key in book.clinicians:
            c = book.clinicians[key]
            facts = {"clinician_id": c.id, "name": c.name, "specialty": c.specialty}
            return Entity(entity_id, kind, c.name, None, facts, source)
        if kind == "slot" and key in book.slots:
            s = book.slots[key]
            facts = {
                "slot_id": s.id,
                "clinician_id": s.clinician_id,
                "starts_at": when(s.start),
                "free": s.appointment_id is None,
            }
            return Entity(entity_id, kind, f"Slot {key}", None, facts, source)
        if kind == "appointment" and key in book.appointments:
            a = book.appointments[key]
            s = book.slots[a.slot_id]
            facts = {
                "appointment_id": a.id,
                "status": a.status,
                "reason": a.reason,
                "clinician": book.clinicians[s.clinician_id].name,
                "starts_at": when(s.start),
            }
            return Entity(entity_id, kind, f"Appointment {key}", a.patient_id, facts, source)
        return None

    def relations(self, entity_id: str) -> list[Relation]:
        kind, _, key = entity_id.partition(":")
        if kind == "slot" and key in self.book.slots:
            clinician = self.book.slots[key].clinician_id
            return [Relation(entity_id, "in_diary_of", f"clinician:{clinician}", SOURCE)]
        if kind == "appointment" and key in self.book.appointments:
            slot = self.book.slots[self.book.appointments[key].slot_id]
            return [Relation(entity_id, "with", f"clinician:{slot.clinician_id}", SOURCE)]
        return []
