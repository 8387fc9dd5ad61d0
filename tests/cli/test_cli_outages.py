"""`tether run` when a service the run needs at its end is down: the run still ends in a
Decision (README, *Least privilege and the audit trail*), never left `running` for a server's
recovery sweep that a one-shot command may never meet."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.cli.test_cli import tether

SCRIPT = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_with_redis_down(tmp_path: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The arguments of a scripted `tether run` and an environment whose revocation list
    (Redis) nothing listens for."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    env = {
        "TETHER_DATABASE_URL": f"sqlite:///{tmp_path / 'tether.db'}",
        "TETHER_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
    }
    message = "status of #W4566809? raj.sanchez2046@example.com"
    return ("run", "--as", "raj_sanchez_2970", "--script", str(script), "--json", message), env


def test_a_run_whose_capability_cannot_be_revoked_still_ends(tmp_path: Path) -> None:
    """The revocation list (Redis) is unreachable: revoking the finished run's capability fails
    in the transaction of its Decision. The run ends in an escalation naming the outage, and
    its token lapses at its expiry."""
    args, env = run_with_redis_down(tmp_path)
    ran = tether(*args, home=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    run = json.loads(ran.stdout)
    assert run["status"] == "completed"
    assert run["decision"]["kind"] == "escalation"
    assert run["decision"]["reason"]["code"] == "STORE_UNAVAILABLE"
    listed = tether("runs", "list", "--json", home=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [r["status"] for r in json.loads(listed.stdout)["runs"]] == ["completed"]


def test_what_the_run_logs_on_its_way_reaches_the_user_as_one_line_each(tmp_path: Path) -> None:
    """Without TETHER_LOG_LEVEL or TETHER_LOG_FORMAT the command still logs its warnings and
    errors, redacted and one line each, never a traceback; TETHER_LOG_LEVEL=debug shows it."""
    args, env = run_with_redis_down(tmp_path)
    ran = tether(*args, home=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "Traceback" not in ran.stderr
    failed = [line for line in ran.stderr.splitlines() if "failed; ending it" in line]
    assert len(failed) == 1 and "ERROR tether.runtime" in failed[0], ran.stderr
    assert "STORE_UNAVAILABLE" in ran.stderr and "raj.sanchez2046@example.com" not in ran.stderr
    debugged = tether(*args, home=tmp_path, env={**env, "TETHER_LOG_LEVEL": "debug"})
    assert debugged.returncode == 0 and "Traceback" in debugged.stderr
