"""`tether domains list`: the installed domain packs, and why any of them fails to load."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tether.cli.common import EXIT_FAILED, DomainOption, out, print_json, user_errors
from tether.core.errors import TetherError
from tether.sdk.loader import DomainEntry, configured_domain, list_domains, load_reference

domains_app = typer.Typer(help="Domain packs: what is installed and what loads.")


@domains_app.command("list")
def domains_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the packs as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """List the domain packs found through the `tether.domains` entry points (plus the one
    `--domain` names, when it is a module:attr reference); exit 1 if any fails to load."""
    with user_errors(as_json):
        entries = list_domains()
        extra = configured_domain(domain) if domain else None
        if extra and ":" in extra and all(e.module != extra for e in entries):
            try:
                entries.append(DomainEntry(extra, extra, load_reference(extra)))
            except TetherError as exc:  # listed with its error, like any pack that fails
                entries.append(DomainEntry(extra, extra, error=exc))
    if as_json:
        print_json({"domains": [e.to_dict() for e in entries]})
    else:
        table = Table("ok", "name", "version", "module", "agents", "tools / error")
        for e in entries:
            row = e.to_dict()
            mark = "[green]yes[/]" if row["ok"] else "[red]NO[/]"
            detail = (
                str(len(row["tools"]))
                if row["ok"]
                else f"{row['error']['code']}: {row['error']['message']}"
            )
            table.add_row(
                mark,
                row["name"],
                row["version"] or "",
                row["module"],
                ", ".join(row["agents"]),
                detail,
            )
        out.print(table)
    if any(e.domain is None for e in entries):
        raise typer.Exit(EXIT_FAILED)
