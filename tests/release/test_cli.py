"""`tether release ...` as an operator uses it: create from the pack in force or from a
directory, list, show, diff, label (audited), export; bad input is a stable code, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tether.cli.app import app

TETHER = str(Path(sys.executable).parent / "tether")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [k for k in os.environ if k.startswith("TETHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["release", *args])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_the_release_lifecycle(tmp_path: Path) -> None:
    made = cli("create", "--note", "first cut", "--json")
    first = made["release"]["id"]
    assert made["created"] is True and made["release"]["note"] == "first cut"
    assert made["release"]["domain"]["name"] == "retail" and first.startswith("rel_")
    assert cli("create", "--json")["created"] is False  # same configuration, same release

    folder = tmp_path / "candidate"
    exported = cli("export", first, str(folder), "--json")
    assert (folder / "release.json").is_file() and len(exported["files"]) > 3
    again = cli("create", "--from", str(folder), "--json")
    assert again["release"]["id"] == first and again["created"] is False  # a lossless round trip

    prompt = folder / "prompts" / "retail-desk.md"
    prompt.write_text(prompt.read_text() + "\nAlways thank the customer.", encoding="utf-8")
    house = folder / "policies" / "house.cedar"
    house.write_text(house.read_text().replace("50000", "20000"), encoding="utf-8")
    (folder / "policies" / "safety.cedar").unlink()
    settings = json.loads((folder / "release.json").read_text())
    tool = next(t for t in settings["tools"] if t["name"] == "cancel_pending_order")
    tool["envelope"]["timeout_s"] = 3.0
    (folder / "release.json").write_text(json.dumps(settings), encoding="utf-8")
    second = cli("create", "--from", str(folder), "--note", "candidate", "--json")["release"]["id"]
    assert second != first

    diff = cli("diff", first, second, "--json")
    assert diff["prompts"]["retail-desk"][-1] == "+Always thank the customer."
    assert diff["policies"]["changed"] == ["supervisor-approval-large-return"]
    assert "no-card-numbers-out" in diff["policies"]["removed"]
    assert diff["tools"]["changed"]["cancel_pending_order"]["envelope.timeout_s"][1] == 3.0
    text = cli("diff", first, second)
    assert (
        "+Always thank the customer." in text and "policy rule removed: untrusted-arguments" in text
    )

    moved = cli("label", "production", first, "--json")
    assert moved == {**moved, "label": "production", "release": first, "previous": None}
    moved = cli("label", "production", second, "--json")
    assert (moved["previous"], moved["release"]) == (first, second)
    listed = cli("list", "--json")
    assert listed["labels"] == {"production": second}
    assert {r["id"] for r in listed["releases"]} == {first, second}
    assert second in cli("list")
    shown = cli("show", "production", "--json")
    assert shown["id"] == second and shown["labels"] == ["production"] and "bundle" in shown
    assert "production" in cli("show", second)

    audit = CliRunner().invoke(app, ["audit", "events", "--json", "--limit", "1000"])
    events = [e for e in json.loads(audit.stdout)["events"] if e["kind"].startswith("release.")]
    assert [(e["kind"], e["data"].get("label")) for e in events] == [
        ("release.created", None),
        ("release.created", None),
        ("release.label_moved", "production"),
        ("release.label_moved", "production"),
    ]
    assert all(e["actor"].startswith("cli") for e in events)
    assert events[-1]["data"] == {"label": "production", "release": second, "previous": first}


def test_bad_input_is_a_stable_code(tmp_path: Path) -> None:
    first = cli("create", "--json")["release"]["id"]
    cases = [
        (["show", "rel_0000000000000000"], "RELEASE_NOT_FOUND"),
        (["diff", first, "candidate"], "RELEASE_NOT_FOUND"),
        (["label", "Prod!", first], "RELEASE_LABEL_INVALID"),
        (["label", "candidate", "nope"], "RELEASE_NOT_FOUND"),
        (["create", "--from", str(tmp_path / "missing")], "RELEASE_SOURCE_INVALID"),
        (["export", first, str(Path(__file__))], "RELEASE_SOURCE_INVALID"),
    ]
    folder = tmp_path / "dir"
    cli("export", first, str(folder), "--json")
    (folder / "policies" / "house.cedar").write_text("forbid (principal, action, resource)")
    cases.append((["create", "--from", str(folder)], "POLICY_INVALID"))
    for args, code in cases:
        error = cli(*args, "--json", code=2)["error"]
        assert error["code"] == code, (args, error)
    (folder / "release.json").write_text("{not json")
    assert cli("create", "--from", str(folder), "--json", code=2)["error"]["code"] == (
        "RELEASE_SOURCE_INVALID"
    )
    assert cli("list", "--json")["labels"] == {}  # nothing moved


def test_the_command_fails_without_a_traceback(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(home)
    proc = subprocess.run(
        [TETHER, "release", "label", "production", "rel_0000000000000000"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "RELEASE_NOT_FOUND" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
