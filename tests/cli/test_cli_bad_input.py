"""The `tether` command on bad configuration and bad option values: `error CODE: message` and
exit 2 (README, *Command line*), never a traceback, and never a pass as if nothing were wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import no_traceback, tether


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TETHER_LOG_LEVEL": "loud"}, "TETHER_LOG_LEVEL"),
        ({"TETHER_LOG_FORMAT": "xml"}, "TETHER_LOG_FORMAT"),
    ],
)
def test_a_bad_log_setting_is_a_config_error_not_a_traceback(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    """Logging is configured before any command runs, and a bad setting is reported as every
    other bad variable is (TETHER_DB_POOL_SIZE, TETHER_TOKEN_TTL, ...)."""
    proc = tether("runs", "list", home=tmp_path, env=env)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert "error CONFIG_INVALID" in proc.stderr + proc.stdout and named in proc.stderr


def test_an_unknown_notice_state_is_refused(tmp_path: Path) -> None:
    """A typo (`--state failled`) must not read as "no failed webhook notices": the state of a
    notice is one of pending, delivered, failed, as `approvals list --status` is checked."""
    proc = tether("approvals", "notices", "--state", "failled", home=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error BAD_REQUEST" in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "show", "run_\udcff"),
        ("approvals", "list", "--run", "run_\udcff"),
        ("keys", "revoke", "\udcff"),
        ("replay", "run_\udcff"),
        ("runs", "list", "--principal", "\udcff"),
        ("approvals", "approve", "apr_\udcff"),
        ("tokens", "revoke", "\udcff"),
        ("release", "show", "\udcff"),
    ],
)
def test_an_argument_that_is_not_utf8_is_bad_input(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`tether runs show $'run_\xff'` (an argument in another encoding, as a Latin-1 shell
    passes it; Python holds the byte as the lone surrogate "\udcff") is bad input: exit 2 with a
    caller's code, as `runs show nope` is `error RUN_NOT_FOUND`, not an internal error."""
    proc = tether(*args, home=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "INTERNAL" not in proc.stdout + proc.stderr
