"""The `tether` command as a user runs it: real subprocesses, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TETHER = str(Path(sys.executable).parent / "tether")
USER = "raj_sanchez_2970"


def tether(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    full_env["TETHER_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout


def test_demo_json_runs_every_scenario_and_every_decision_kind(tmp_path: Path) -> None:
    proc = tether("demo", "--no-serve", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["scenarios"]) >= 12
    for s in report["scenarios"]:
        assert set(s) >= {"name", "expected", "actual", "ok"}
        assert s["ok"] is True, s
    kinds = {"answer", "action", "escalation", "refusal", "clarification", "confirmation"}
    assert set(report["outcomes"]) == kinds
    assert all(n > 0 for n in report["outcomes"].values()), report["outcomes"]
    # outcomes count every turn's Decision; each turn that ran is one run
    ran = [t for s in report["scenarios"] for t in s["turns"] if t["run_id"]]
    assert sum(report["outcomes"].values()) == len(ran)
    # The runs are in the store: the CLI lists them and shows each with its steps.
    listed = tether("runs", "list", "--json", "--limit", "500", home=tmp_path)
    assert len(json.loads(listed.stdout)["runs"]) == len(ran)
    run_id = report["scenarios"][0]["run_id"]
    shown = json.loads(tether("runs", "show", run_id, "--json", home=tmp_path).stdout)
    assert shown["id"] == run_id and shown["steps"][-1]["kind"] == "decision"
    # and every one of them replays identical from its record
    replayed = tether("replay", "--all", "--json", home=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    summary = json.loads(replayed.stdout)
    assert summary["runs"] == summary["identical"] == len(ran) and summary["diverged"] == 0


def test_demo_table_output(tmp_path: Path) -> None:
    proc = tether("demo", "--no-serve", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "policy-refund-timeline" in proc.stdout and "outcomes:" in proc.stdout


def test_failing_scenario_makes_demo_exit_1(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "wrong.yaml").write_text(
        "name: wrong\nprincipal: raj_sanchez_2970\nturns:\n  - user: hi\n"
        "    model:\n      - answer: no citation here\nexpect:\n  decision: answer\n"
    )
    proc = tether("demo", "--no-serve", "--json", "--scenarios", str(folder), home=tmp_path)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["scenarios"][0]["ok"] is False
    assert report["scenarios"][0]["actual"] == "refusal"


@pytest.mark.parametrize(
    "content",
    [
        "name: x\nprincipal: u\n",  # missing fields
        "::: not yaml [",
        "- just\n- a list\n",
        "name: Bad Name\nprincipal: u\nturns: [{user: hi, model: [{answer: a}]}]\n"
        "expect: {decision: answer}\n",
        "name: x\nprincipal: u\nturns: [{user: hi, model: [{answer: a, tool: t}]}]\n"
        "expect: {decision: answer}\n",
        "name: x\nprincipal: u\nturns: [{user: hi, model: [{answer: a}]}]\n"
        "expect: {decision: maybe}\n",
        "name: x\nprincipal: u\nturns: [{user: hi, confirm: true}]\nexpect: {decision: answer}\n",
        "name: x\nprincipal: u\nmessages: [{user: hi}]\nscript: [{answer: a}]\n"
        "expect: {decision: answer}\n",
    ],
)
def test_malformed_scenario_file_is_rejected_with_a_code(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "bad.yaml").write_text(content)
    proc = tether("demo", "--no-serve", "--scenarios", str(folder), home=tmp_path)
    assert proc.returncode == 2
    assert "SCENARIO_INVALID" in proc.stderr and "bad.yaml" in proc.stderr
    no_traceback(proc)


def test_run_with_a_script_prints_the_decision(tmp_path: Path) -> None:
    script = tmp_path / "turns.yaml"
    script.write_text(
        "- tool: get_order_details\n  args: {order_id: '#W4566809'}\n"
        "- answer: 'Your order is pending [tool:1].'\n"
    )
    proc = tether(
        "run",
        "Where is #W4566809? I am raj.sanchez2046@example.com",
        "--as",
        USER,
        "--script",
        str(script),
        "--json",
        home=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["decision"]["kind"] == "answer"
    assert run["decision"]["citations"] == ["tool:1"]
    text = tether(
        "run",
        "Where is #W4566809? I am raj.sanchez2046@example.com",
        "--as",
        USER,
        "--script",
        str(script),
        home=tmp_path,
    )
    assert "decision: answer" in text.stdout


def test_unknown_user_is_rejected_and_leaves_no_run(tmp_path: Path) -> None:
    script = tmp_path / "turns.yaml"
    script.write_text("- answer: 'hi [kb:refunds#0]'\n")
    proc = tether("run", "hello", "--as", "nobody_000", "--script", str(script), home=tmp_path)
    assert proc.returncode == 2
    assert "UNKNOWN_PRINCIPAL" in proc.stderr
    no_traceback(proc)
    listed = tether("runs", "list", "--json", home=tmp_path)
    assert json.loads(listed.stdout)["runs"] == []


def test_run_without_a_model_says_how_to_configure_one(tmp_path: Path) -> None:
    proc = tether("run", "hello", "--as", USER, home=tmp_path)
    assert proc.returncode == 2
    assert "MODEL_NOT_CONFIGURED" in proc.stderr and "TETHER_MODEL" in proc.stderr


@pytest.mark.parametrize(
    ("url", "code", "exit_code"),
    [
        ("definitely not a url", "CONFIG_INVALID", 2),
        ("oracle://scott@localhost/db", "CONFIG_INVALID", 2),
        ("postgresql://postgres@127.0.0.1:1/test", "STORE_UNAVAILABLE", 3),
    ],
)
def test_bad_database_url(tmp_path: Path, url: str, code: str, exit_code: int) -> None:
    proc = tether("runs", "list", home=tmp_path, env={"TETHER_DATABASE_URL": url})
    assert proc.returncode == exit_code
    assert code in proc.stderr
    no_traceback(proc)


def test_json_errors_are_json(tmp_path: Path) -> None:
    proc = tether("runs", "show", "run_missing", "--json", home=tmp_path)
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {
        "error": {"code": "RUN_NOT_FOUND", "message": "no run with id 'run_missing'"}
    }


def test_bad_decision_filter(tmp_path: Path) -> None:
    proc = tether("runs", "list", "--decision", "maybe", home=tmp_path)
    assert proc.returncode == 2 and "BAD_REQUEST" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_demo_serves_the_api_and_dashboard(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [TETHER, "demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "tether demo exited before serving"
            assert time.monotonic() < deadline, "tether demo did not start serving"
            time.sleep(0.2)
        # the API and dashboard need an operator key: make a read-only one with the CLI
        assert httpx.get(f"http://127.0.0.1:{port}/v1/runs").status_code == 401
        made = tether("keys", "create", "--role", "viewer", "--json", home=tmp_path)
        auth = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
        runs = httpx.get(f"http://127.0.0.1:{port}/v1/runs?limit=100", headers=auth).json()
        assert runs["total"] >= 12
        ended = next(r for r in runs["runs"] if r["decision"] is not None)
        one = httpx.get(f"http://127.0.0.1:{port}/v1/runs/{ended['id']}", headers=auth).json()
        assert one["steps"] and one["decision"] is not None
        assert httpx.get(f"http://127.0.0.1:{port}/", headers=auth).status_code == 200
        # the demo leaves one escalated return waiting, so the inbox has something to act on
        waiting = httpx.get(f"http://127.0.0.1:{port}/v1/approvals", headers=auth).json()
        pending = [a for a in waiting["approvals"] if a["status"] == "pending"]
        assert len(pending) == 1 and pending[0]["tool"] == "return_delivered_order_items"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
