"""What every command shares: opening the store, printing, and turning errors into exit codes."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError

if TYPE_CHECKING:  # loaded by the commands that open a desk (see `tether.cli.lazy`)
    from tether.sdk.desk import Desk
    from tether.sdk.domain import Domain

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Exit codes: 1 a check failed (e.g. a demo scenario), 2 bad input or config, 3 unavailable.
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_INTERNAL = 1, 2, 3, 4


def exit_code(code: ErrorCode) -> int:
    if code in (ErrorCode.STORE_UNAVAILABLE, ErrorCode.STORE_SCHEMA_NEWER):
        return EXIT_UNAVAILABLE
    if code is ErrorCode.INTERNAL:
        return EXIT_INTERNAL
    return EXIT_BAD_INPUT


@contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Show a TetherError as `error CODE: message` (or JSON) and exit non-zero; no traceback."""
    try:
        yield
    except TetherError as exc:
        if as_json:
            print(json.dumps({"error": exc.to_dict()}))
        else:
            err.print(f"[bold red]error[/] {exc.code.value}: {escape(exc.message)}")
        sys.exit(exit_code(exc.code))
    except Exception as exc:  # a bug: say so plainly; TETHER_DEBUG=1 shows the traceback
        if os.environ.get("TETHER_DEBUG"):
            raise
        problem = TetherError(ErrorCode.INTERNAL, f"unexpected {type(exc).__name__}: {exc}")
        if as_json:
            print(json.dumps({"error": problem.to_dict()}))
        else:
            err.print(f"error {problem.code.value}: {problem.message}", markup=False)
        sys.exit(EXIT_INTERNAL)


DomainOption = Annotated[
    str | None,
    typer.Option(
        "--domain",
        help="The domain pack: an installed name or module:attr "
        "(default: TETHER_DOMAIN, then tether.toml, then retail).",
    ),
]


def open_domain(name: str | None = None) -> Domain:
    """The domain pack in force: `--domain` > `TETHER_DOMAIN` > `tether.toml` > retail."""
    from tether.sdk.loader import resolve_domain

    return resolve_domain(name)


def open_desk(domain: str | Domain | None = None, **options: Any) -> Desk:
    """The domain's desk over the configured store (TETHER_DATABASE_URL or
    ./.tether/tether.db)."""
    from tether.sdk.desk import build_desk
    from tether.store.runs import RunStore

    pack = open_domain(domain) if domain is None or isinstance(domain, str) else domain
    return build_desk(pack, RunStore.open(), **options)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def since_epoch(value: str, now: float) -> float:
    """`--since`: an ISO 8601 time (UTC unless it says otherwise) or a duration back from now
    (`90s`, `30m`, `24h`, `7d`, `2w`, `PT24H`); BAD_REQUEST otherwise."""
    back = duration_seconds(value)
    if back is not None and math.isfinite(back):
        return now - back
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TetherError(
            ErrorCode.BAD_REQUEST,
            f"--since {value!r} is neither an ISO 8601 time nor a duration such as 24h or 7d",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
