"""`tether rollout ...` as an operator uses it: a simulated candidate that answers without
evidence twice as often is rolled back at the first step, one that behaves alike is promoted
and takes the production label, by hand too; every transition is an audit event with its
reason; bad input is a stable code, exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tether.access.control import AccessControl
from tether.approvals.webhooks import Delivery, WebhookSender, signature
from tether.cli.app import app
from tether.release import ReleaseStore
from tether.store.runs import RunStore

from .helpers import bundle

STATUS_KEYS = {"candidate", "baseline", "state", "step", "traffic_pct", "arms", "guards", "reason"}
KPI_KEYS = {"n", "resolution_rate", "escalation_rate", "refusal_rate", "refused_by_verification",
            "tool_error_rate", "p50_latency_s", "p95_latency_s", "cost_per_conversation",
            "handle_time_s", "compliance_incident_rate", "audit_completeness"}  # fmt: skip


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [k for k in os.environ if k.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def releases(home: Path) -> Iterator[dict[str, str]]:
    """Two releases in the store the command line opens, the first labelled production."""
    store = RunStore.open(f"sqlite:///{home / 'tether.db'}")
    made = ReleaseStore(store.engine, AccessControl.open(store.engine).audit)
    production, _ = made.create(bundle(), "cli:ana")
    candidate, _ = made.create(bundle(instructions="Answer in one sentence."), "cli:ana")
    made.move_label("production", production.id, "cli:ana")
    store.close()
    yield {"production": production.id, "candidate": candidate.id}


def rollout(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["rollout", *args])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return json.loads(result.stdout) if "--json" in args else result.stdout


def events(prefix: str = "") -> list[dict[str, Any]]:
    audit = CliRunner().invoke(app, ["audit", "events", "--json", "--limit", "1000"])
    found = json.loads(audit.stdout)["events"]
    return [e for e in found if e["kind"].startswith(prefix)]


def label() -> str:
    listed = CliRunner().invoke(app, ["release", "list", "--json"])
    return str(json.loads(listed.stdout)["labels"]["production"])


def test_a_candidate_answering_without_evidence_twice_as_often_is_rolled_back(
    releases: dict[str, str],
) -> None:
    cand = releases["candidate"]
    ended = rollout("simulate", "--candidate", cand, "--unsupported-rate", "0.10",
                    "--seed", "3", "--json")  # fmt: skip
    assert set(ended) == STATUS_KEYS
    assert (ended["state"], ended["step"], ended["traffic_pct"]) == ("rolled_back", 1, 0)
    assert (ended["candidate"], ended["baseline"]) == (cand, releases["production"])
    arms = ended["arms"]
    assert set(arms["baseline"]) == set(arms["candidate"]) == KPI_KEYS
    assert arms["candidate"]["n"] >= 400 and arms["baseline"]["n"] > 10 * arms["candidate"]["n"]
    assert (
        arms["candidate"]["refused_by_verification"] > arms["baseline"]["refused_by_verification"]
    )
    verification = next(g for g in ended["guards"] if g["expr"].startswith("refused_by_verif"))
    assert verification["passed"] is False and verification["p_value"] > 0.5
    assert "refused_by_verification" in ended["reason"]
    assert label() == releases["production"]  # nothing moved

    back = events("rollout.")
    assert [e["kind"] for e in back] == ["rollout.started", "rollout.rolled_back"]
    assert back[-1]["actor"] == "system:rollout" and back[-1]["data"]["step"] == 1
    assert back[-1]["data"]["reason"] == ended["reason"]
    assert back[-1]["data"]["p_values"][verification["expr"]] == verification["p_value"]
    assert rollout("status", "--json") == ended  # stored as it ended


def test_a_candidate_that_behaves_alike_is_promoted_and_takes_production(
    releases: dict[str, str],
) -> None:
    cand = releases["candidate"]
    ended = rollout("simulate", "--candidate", cand, "--seed", "3", "--json")
    assert (ended["state"], ended["step"], ended["traffic_pct"]) == ("promoted", 4, 100)
    assert all(g["passed"] is True and g["p_value"] <= 0.05 / 4 for g in ended["guards"])
    assert ended["reason"].startswith("every guard shown non-inferior")
    assert label() == cand
    kinds = [(e["kind"], e["data"].get("traffic_pct")) for e in events("rollout.")]
    assert kinds == [("rollout.started", None), ("rollout.advanced", 25),
                     ("rollout.advanced", 50), ("rollout.promoted", 100)]  # fmt: skip
    moved = events("release.label_moved")[-1]
    assert moved["actor"] == "system:rollout" and moved["data"]["release"] == cand
    assert "promoted at step 4 of 4" in rollout("status")


def test_operators_promote_and_roll_back_by_hand(releases: dict[str, str]) -> None:
    cand = releases["candidate"]
    assert rollout("status", "--json", code=2)["error"]["code"] == "ROLLOUT_NOT_FOUND"
    started = rollout("start", cand, "--steps", "10,100", "--min-runs", "100",
                      "--guard", "resolution_rate >= baseline - 0.02", "--json")  # fmt: skip
    assert (started["state"], started["step"], started["traffic_pct"]) == ("running", 1, 10)
    assert started["guards"] == [
        {"expr": "resolution_rate >= baseline - 0.02", "passed": None, "p_value": None}
    ]
    again = rollout("start", cand, "--guard", "refusal_rate <= baseline", "--json", code=2)
    assert again["error"]["code"] == "CONFLICT"
    promoted = rollout("promote", "--reason", "checked by hand", "--json")
    assert (promoted["state"], promoted["traffic_pct"]) == ("promoted", 100)
    assert label() == cand
    assert rollout("rollback", "--json", code=2)["error"]["code"] == "ROLLOUT_NOT_FOUND"

    back = rollout("start", releases["production"], "--guard", "refusal_rate <= baseline",
                   "--json")  # fmt: skip
    assert back["baseline"] == cand  # production moved: the old release is now the candidate
    rolled = rollout("rollback", "--reason", "wrong build", "--json")
    assert (rolled["state"], rolled["traffic_pct"], rolled["reason"]) == (
        "rolled_back", 0, "wrong build")  # fmt: skip
    by_hand = [(e["kind"], e["actor"].startswith("cli")) for e in events("rollout.")]
    assert by_hand == [("rollout.started", True), ("rollout.promoted", True),
                       ("rollout.started", True), ("rollout.rolled_back", True)]  # fmt: skip


def test_bad_input_is_a_stable_code(releases: dict[str, str]) -> None:
    cand = releases["candidate"]
    good = "resolution_rate >= baseline - 0.02"
    cases = [
        (["start", cand, "--guard", "resolution >= baseline"], "ROLLOUT_GUARD_INVALID"),
        (["start", cand, "--guard", "resolution_rate >= 0.9"], "ROLLOUT_GUARD_INVALID"),
        (["start", cand], "ROLLOUT_GUARD_INVALID"),
        (["start", cand, "--guard", good, "--steps", "50,25,100"], "ROLLOUT_INVALID"),
        (["start", cand, "--guard", good, "--steps", "5,fifty,100"], "ROLLOUT_INVALID"),
        (["start", cand, "--guard", good, "--min-runs", "3"], "ROLLOUT_INVALID"),
        (["start", cand, "--guard", good, "--min-runs", "1" + "0" * 22], "ROLLOUT_INVALID"),
        (["start", releases["production"], "--guard", good], "ROLLOUT_INVALID"),
        (["start", "rel_0000000000000000", "--guard", good], "RELEASE_NOT_FOUND"),
        (["simulate", "--candidate", cand, "--guard", "p95_latency_s <= baseline * -1"],
         "ROLLOUT_GUARD_INVALID"),
        (["promote"], "ROLLOUT_NOT_FOUND"),
    ]  # fmt: skip
    for args, code in cases:
        error = rollout(*args, "--json", code=2)["error"]
        assert error["code"] == code, (args, error)
    assert events("rollout.") == []  # nothing started
    result = CliRunner().invoke(app, ["rollout", "start", cand, "--guard", "x <= baseline"])
    assert result.exit_code == 2 and "ROLLOUT_GUARD_INVALID" in result.output
    assert "Traceback" not in result.output


def test_every_transition_is_posted_to_the_configured_webhook(
    releases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[tuple[str, str, dict[str, Any]]] = []

    def send(self: Any, url: str, secret: bytes, notice: str, event: str, body: bytes,
             now: float) -> Delivery:  # fmt: skip
        posted.append((url, event, json.loads(body)))
        assert signature(secret, int(now), body).startswith("sha256=") and secret == b"s3cret"
        return Delivery(ok=False, status=503, error="the receiver answered 503")

    monkeypatch.setattr(WebhookSender, "send", send)
    monkeypatch.setenv("TETHER_ROLLOUT_WEBHOOK_URL", "https://hooks.example/rollout")
    monkeypatch.setenv("TETHER_ROLLOUT_WEBHOOK_SECRET", "s3cret")
    cand = releases["candidate"]
    result = CliRunner().invoke(app, ["rollout", "start", cand, "--guard",
                                      "refusal_rate <= baseline + 0.02"])  # fmt: skip
    assert result.exit_code == 0 and "webhook was not delivered" in result.output
    rollout("rollback", "--reason", "not today", "--json")
    assert [(u, e) for u, e, _ in posted] == [
        ("https://hooks.example/rollout", "rollout.started"),
        ("https://hooks.example/rollout", "rollout.rolled_back"),
    ]
    last = posted[-1][2]
    assert last["event"] == "rollout.rolled_back" and last["reason"] == "not today"
    assert (last["candidate"], last["state"], last["traffic_pct"]) == (cand, "rolled_back", 0)


COST_GUARD = "cost_per_conversation <= baseline * 1.2"


def test_a_candidate_costing_twice_as_much_is_rolled_back_by_its_cost_guard(
    releases: dict[str, str],
) -> None:
    cand = releases["candidate"]
    ended = rollout("simulate", "--candidate", cand, "--cost-factor", "2", "--guard", COST_GUARD,
                    "--seed", "5", "--json")  # fmt: skip
    assert (ended["state"], ended["step"], ended["traffic_pct"]) == ("rolled_back", 1, 0)
    arms = ended["arms"]
    ratio = arms["candidate"]["cost_per_conversation"] / arms["baseline"]["cost_per_conversation"]
    assert 1.8 < ratio < 2.2
    (guard,) = ended["guards"]
    assert guard["expr"] == COST_GUARD and guard["passed"] is False and guard["p_value"] > 0.99
    assert ended["reason"].startswith("guard broken") and COST_GUARD in ended["reason"]
    assert label() == releases["production"]


def test_a_candidate_costing_the_same_passes_its_cost_guard(releases: dict[str, str]) -> None:
    cand = releases["candidate"]
    ended = rollout("simulate", "--candidate", cand, "--guard", COST_GUARD,
                    "--guard", "audit_completeness >= baseline - 0.01",
                    "--guard", "compliance_incident_rate <= baseline + 0.03",
                    "--guard", "handle_time_s <= baseline * 1.2", "--seed", "5", "--json")  # fmt: skip
    assert (ended["state"], ended["traffic_pct"]) == ("promoted", 100)
    assert all(g["passed"] is True for g in ended["guards"])
    arms = ended["arms"]
    assert arms["candidate"]["audit_completeness"] == 1.0
    assert 0 < arms["candidate"]["compliance_incident_rate"] < 0.2
    assert arms["candidate"]["handle_time_s"] > arms["candidate"]["p95_latency_s"]  # pauses too
    assert label() == cand


def test_a_simulation_too_short_to_decide_leaves_no_rollout_running(
    releases: dict[str, str],
) -> None:
    ended = rollout("simulate", "--candidate", releases["candidate"], "--runs", "3", "--json")
    assert (ended["state"], ended["traffic_pct"]) == ("rolled_back", 0)
    assert "did not decide it" in ended["reason"]
    assert [e["kind"] for e in events("rollout.")] == ["rollout.started", "rollout.rolled_back"]
    assert label() == releases["production"]
