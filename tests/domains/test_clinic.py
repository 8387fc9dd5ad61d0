"""The clinic pack, the second domain in the repository: every scenario on SQLite and on
PostgreSQL, what each one leaves in the appointment book, the command line over it, and a
booking confirmed over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import admin_headers, serve
from tether import Principal
from tether.domains.clinic.book import BOOKED, CANCELLED, ClinicBook
from tether.domains.clinic.pack import CLINIC
from tether.domains.clinic.tools import build_tools
from tether.sdk import Scenario, ScenarioResult, build_desk, load_scenarios, run_scenario
from tether.sdk import scenario_desk as new_scenario_desk
from tether.server.app import create_app
from tether.store.runs import RunStore
from tether.tools.execute import call_with_key

TETHER = str(Path(sys.executable).parent / "tether")
SCENARIOS = {s.name: s for s in load_scenarios(domain=CLINIC)}


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(sqlite_url)
    yield opened
    opened.close()


def play(store: RunStore, name: str) -> tuple[ScenarioResult, ClinicBook]:
    """Run one packaged scenario on a fresh book, and return the book it leaves."""
    scenario: Scenario = SCENARIOS[name]
    desk = new_scenario_desk(CLINIC, store, scenario)
    result = run_scenario(CLINIC, store, scenario, desk=desk)
    assert result.ok, result.to_dict()
    assert isinstance(desk.data, ClinicBook)
    return result, desk.data


def guard_reasons(result: ScenarioResult) -> list[dict[str, Any]]:
    """The reasons of every guard verdict that stopped a tool call in the last run."""
    return [
        reason
        for step in result.run.steps
        if step.kind.value == "guard" and step.data.get("effect") != "allow"
        for verdict in step.data.get("verdicts", ())
        for reason in verdict.get("reasons", ())
    ]


# -- every scenario, on both backends ---------------------------------------------------------


def test_the_pack_ships_the_scenarios_the_guide_describes() -> None:
    assert len(SCENARIOS) >= 6
    assert {"book-after-confirmation", "decline-booking", "another-patients-appointment"} <= set(
        SCENARIOS
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_ends_as_expected(store: RunStore, name: str) -> None:
    result = run_scenario(CLINIC, store, SCENARIOS[name])
    assert result.ok, result.to_dict()
    assert result.run.input["domain"] == {"name": "clinic", "version": CLINIC.version}


# -- what each scenario leaves in the book --------------------------------------------------


def test_a_confirmed_booking_exists_exactly_once(sqlite_store: RunStore) -> None:
    result, book = play(sqlite_store, "book-after-confirmation")
    made = [a for a in book.appointments.values() if a.slot_id == "S201"]
    assert len(made) == 1
    assert (made[0].patient_id, made[0].status, made[0].reason) == (
        "ana-silva",
        BOOKED,
        "knee pain",
    )
    assert book.slots["S201"].appointment_id == made[0].id
    assert len(book.appointments) == 7  # the six it opened with, and this one
    assert [w["tool"] for w in result.run.decision.results] == ["book_appointment"]  # type: ignore[union-attr]


def test_a_declined_booking_is_not_made(sqlite_store: RunStore) -> None:
    _, book = play(sqlite_store, "decline-booking")
    assert book.slots["S203"].appointment_id is None
    assert len(book.appointments) == 6
    assert [a.id for a in book.appointments_of("ana-silva")] == ["A1001", "A1002"]


def test_a_declined_cancellation_leaves_the_appointment_booked(sqlite_store: RunStore) -> None:
    _, book = play(sqlite_store, "decline-button")
    assert book.appointments["A1002"].status == BOOKED
    assert book.slots["S102"].appointment_id == "A1002"


def test_another_patients_appointment_is_untouched(sqlite_store: RunStore) -> None:
    result, book = play(sqlite_store, "another-patients-appointment")
    assert book.appointments["A1003"].status == BOOKED
    assert book.appointments["A1003"].patient_id == "ben-carter"
    assert not [s for s in result.run.steps if s.kind.value == "tool"]  # the call never ran
    (reason,) = guard_reasons(result)
    assert reason["code"] == "PERMISSION_DENIED"


def test_a_late_cancellation_is_refused_by_the_clinics_rule(sqlite_store: RunStore) -> None:
    result, book = play(sqlite_store, "late-cancellation")
    assert book.appointments["A1001"].status == BOOKED
    # the plain forbid decides; the confirmation it outranks is listed after it
    first, *_ = guard_reasons(result)
    assert first["code"] == "POLICY_DENIED" and first["message"].endswith("[no-late-changes]")
    assert result.run.decision is not None
    assert result.run.decision.citations == ("kb:appointment-changes#2",)


def test_a_confirmed_move_frees_the_old_slot(sqlite_store: RunStore) -> None:
    _, book = play(sqlite_store, "reschedule-after-confirmation")
    assert book.appointments["A1002"].slot_id == "S204"
    assert book.slots["S204"].appointment_id == "A1002"
    assert book.slots["S102"].appointment_id is None


def test_the_booking_limit_books_nothing(sqlite_store: RunStore) -> None:
    result, book = play(sqlite_store, "booking-limit")
    assert book.slots["S205"].appointment_id is None
    assert book.upcoming("chloe-nguyen") == 3
    first, *_ = guard_reasons(result)
    assert first["code"] == "POLICY_DENIED" and first["message"].endswith("[booking-limit]")


def test_another_patients_appointment_is_no_evidence(sqlite_store: RunStore) -> None:
    desk = build_desk(CLINIC, sqlite_store, fresh=True)
    assert desk.retriever is not None
    own = {"public", "patient", "principal:ana-silva"}
    other = {"public", "patient", "principal:ben-carter"}
    question = "Who is my appointment A1002 with?"
    assert "graph:appointment:A1002" in [e.id for e in desk.retriever.search(question, 3, own)]
    seen = [e.id for e in desk.retriever.search(question, 3, other)]
    assert "graph:appointment:A1002" not in seen


# -- the book and its tools -----------------------------------------------------------------


def test_a_retried_write_changes_the_book_once() -> None:
    book = ClinicBook.open(lambda: 1_750_000_000.0)
    book_appointment = {t.name: t for t in build_tools(book)}["book_appointment"]
    args = {"patient_id": "ben-carter", "slot_id": "S202", "reason": "a sore shoulder"}
    first = call_with_key(book_appointment.fn, args, "idem_same")
    again = call_with_key(book_appointment.fn, args, "idem_same")
    assert first == again
    assert [a.slot_id for a in book.appointments_of("ben-carter")] == ["S103", "S202"]


def test_the_book_refuses_what_cannot_be_done() -> None:
    book = ClinicBook.open(lambda: 1_750_000_000.0)
    tools = {t.name: t for t in build_tools(book)}
    with pytest.raises(Exception, match="CONFLICT"):
        tools["book_appointment"](patient_id="ben-carter", slot_id="S101", reason="a cough")
    with pytest.raises(Exception, match="NOT_FOUND"):
        tools["cancel_appointment"](appointment_id="A9999")
    tools["cancel_appointment"](appointment_id="A1002")
    assert book.appointments["A1002"].status == CANCELLED
    with pytest.raises(Exception, match="PRECONDITION_FAILED"):
        tools["cancel_appointment"](appointment_id="A1002")


def test_patients_come_from_the_book(sqlite_store: RunStore) -> None:
    desk = build_desk(CLINIC, sqlite_store, fresh=True)
    assert desk.parts is not None
    patient = desk.parts.principals.resolve("ana-silva")
    assert patient == Principal("ana-silva", tenant="clinic", roles=("patient",))
    with pytest.raises(Exception, match="UNKNOWN_PRINCIPAL"):
        desk.parts.principals.resolve("raj_sanchez_2970")


def test_desks_over_one_store_share_its_book_unless_fresh(sqlite_store: RunStore) -> None:
    first, second = build_desk(CLINIC, sqlite_store), build_desk(CLINIC, sqlite_store)
    assert first.data is second.data
    assert build_desk(CLINIC, sqlite_store, fresh=True).data is not first.data
    own = ClinicBook.open(lambda: 1_750_000_000.0)
    assert build_desk(CLINIC, sqlite_store, data=own).data is own


# -- the command line -----------------------------------------------------------------------


def tether(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(home)
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=env, cwd=home, timeout=180
    )


def test_tether_demo_runs_the_clinic_scenarios(tmp_path: Path) -> None:
    proc = tether("demo", "--domain", "clinic", "--no-serve", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {s["name"] for s in report["scenarios"]} == set(SCENARIOS)
    assert all(s["ok"] for s in report["scenarios"]), report["scenarios"]
    for kind in ("answer", "action", "refusal", "clarification", "confirmation"):
        assert report["outcomes"][kind] > 0, report["outcomes"]


def test_tether_domains_list_shows_both_packs(tmp_path: Path) -> None:
    proc = tether("domains", "list", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    packs = {d["name"]: d for d in json.loads(proc.stdout)["domains"]}
    assert {"retail", "clinic"} <= set(packs)
    assert packs["retail"]["ok"] and packs["clinic"]["ok"], packs
    assert packs["clinic"]["agents"] == ["clinic-desk"]
    assert len(packs["clinic"]["tools"]) == 5


def test_tether_policy_test_passes_the_clinic_cases(tmp_path: Path) -> None:
    proc = tether("policy", "test", "--domain", "clinic", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = json.loads(proc.stdout)["cases"]
    assert len(cases) >= 10 and all(c["ok"] for c in cases), cases


# -- over HTTP ------------------------------------------------------------------------------


def test_a_booking_confirmed_over_http(
    sqlite_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TETHER_MODEL", raising=False)  # scripted turns are accepted
    desk = build_desk(CLINIC, sqlite_store, fresh=True)
    app = create_app(desk)
    turns = SCENARIOS["book-after-confirmation"].turns
    first = {
        "text": turns[0].user,
        "script": [t.model_dump(exclude_none=True) for t in turns[0].model],
    }
    yes = [t.model_dump(exclude_none=True) for t in turns[1].model]
    with serve(app) as url, httpx.Client(base_url=url, headers=admin_headers(app), timeout=30) as c:
        created = c.post("/v1/conversations", json={"principal": "ana-silva"})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        asked = c.post(f"/v1/conversations/{cid}/messages", params={"wait": 10}, json=first)
        assert asked.status_code == 200, asked.text
        pending = asked.json()["pending_action"]
        assert asked.json()["decision"]["kind"] == "confirmation"
        assert pending["tool"] == "book_appointment" and pending["arguments"]["slot_id"] == "S201"
        assert desk.data.slots["S201"].appointment_id is None  # nothing before the yes
        done = c.post(
            f"/v1/conversations/{cid}/messages",
            params={"wait": 10},
            json={"confirm": pending["nonce"], "script": yes},
        )
        assert done.status_code == 200, done.text
        assert done.json()["decision"]["kind"] == "action"
        assert done.json()["decision"]["citations"] == ["tool:2"]
    booked = [a for a in desk.data.appointments.values() if a.slot_id == "S201"]
    assert [(a.patient_id, a.status) for a in booked] == [("ana-silva", BOOKED)]
