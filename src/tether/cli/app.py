"""The `tether` command: its commands by name, each loaded only when it runs (see
`tether.cli.lazy`), and the entry point."""

from __future__ import annotations

import json
import sys

import typer

from tether.cli.common import EXIT_BAD_INPUT, user_errors
from tether.cli.lazy import LazyGroup
from tether.core.errors import ErrorCode, TetherError
from tether.observe.logs import configure_command_line


class TetherCommands(LazyGroup):
    """The commands in the order `tether --help` lists them."""

    COMMANDS = {
        "replay": "tether.cli.replay:replay",
        "ingest": "tether.cli.ingest:ingest",
        "converse": "tether.cli.converse:converse",
        "chat": "tether.cli.converse:chat",
        "drift": "tether.cli.drift:drift",
        "kpi": "tether.cli.kpi:kpi",
        "demo": "tether.cli.desk:demo",
        "run": "tether.cli.desk:run",
        "chaos": "tether.cli.desk:chaos",
        "serve": "tether.cli.desk:serve",
        "worker": "tether.cli.desk:worker",
        "runs": "tether.cli.runs:runs_app",
        "audit": "tether.cli.audit:audit_app",
        "approvals": "tether.cli.approvals:approvals_app",
        "keys": "tether.cli.keys:keys_app",
        "signing-keys": "tether.cli.keys:signing_app",
        "tokens": "tether.cli.keys:tokens_app",
        "eval": "tether.cli.eval:eval_app",
        "policy": "tether.cli.policy:policy_app",
        "domains": "tether.cli.domains:domains_app",
        "release": "tether.cli.release:release_app",
        "rollout": "tether.cli.rollout:rollout_app",
    }


app = typer.Typer(
    name="tether",
    help="tether: a governed runtime for production AI agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=TetherCommands,
)


@app.callback()
def _commands() -> None:
    """(Makes `app` a group of commands: its own registers none, `TetherCommands` has them.)"""


def main() -> None:
    with user_errors():  # a bad TETHER_LOG_* or an argument in another encoding: no traceback
        configure_command_line()
        _refuse_undecodable(sys.argv[1:])
    if "--json" not in sys.argv[1:]:
        app()
        return
    # with --json, what the argument parser refuses (`--limit 0`) is a JSON error on stdout
    # too, not its usage box on stderr
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # the parser's refusals (click's, as typer has them)
        text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        refused = TetherError(ErrorCode.BAD_REQUEST, text)
        print(json.dumps({"error": refused.to_dict()}))
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:  # Ctrl-C, as the shell reports it
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _refuse_undecodable(args: list[str]) -> None:
    """An argument that is not UTF-8 (the shell passed bytes of another encoding, which Python
    holds as lone surrogates) names no id, file or value any command can use: BAD_REQUEST."""
    for n, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise TetherError(
                ErrorCode.BAD_REQUEST, f"argument {n} is not UTF-8 text: {ascii(arg)[:80]}"
            ) from None
