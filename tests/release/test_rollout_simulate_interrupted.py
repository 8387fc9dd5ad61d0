"""`tether rollout simulate` starts a real rollout that routes live traffic (README, Staged
rollout: "one its --runs do not decide is rolled back, so no live traffic stays on the
candidate"). Ctrl-C on a long simulation rolls its rollout back before the command exits: the
candidate keeps no share of production traffic that only synthetic conversations judged."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import env_for
from tests.release.cli_store import Cli, production_and_candidate


def test_interrupted_simulation_leaves_no_live_traffic_on_the_candidate(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    _, cand = production_and_candidate(cli)
    child = subprocess.Popen(
        [sys.executable, "-c", "from tether.cli import main; main()", "rollout", "simulate",
         "--candidate", cand, "--runs", "10000000", "--min-runs", "5000000", "--json"],
        env=env_for(cli.url, cli.home),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until the simulation's rollout is live
            code, status = cli("rollout", "status")
            if code == 0 and status.get("state") == "running":
                break
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)  # Ctrl-C
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    status = cli.ok("rollout", "status")
    assert status["state"] == "rolled_back", status
    assert "interrupted" in status["reason"], status
