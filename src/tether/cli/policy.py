"""`tether policy test | check`: policy unit cases, and loading a policy set to check it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tether.cli.common import EXIT_FAILED, out, print_json, user_errors
from tether.policy.cases import CaseResult, run_case_dir
from tether.policy.engine import PolicyEngine
from tether.policy.retail import DESK_RULES, SCHEMA_FILE, policy_dir

policy_app = typer.Typer(help="Check policy sets and run their test cases.", no_args_is_help=True)


@policy_app.command("test")
def test(
    directory: Annotated[Path, typer.Argument(help="A folder of policy case YAML files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run every case (request → expected verdict); exit 1 if any case fails."""
    with user_errors(as_json):
        results = list(run_case_dir(directory))
    failed = [r for r in results if not r.ok]
    if as_json:
        print_json(
            {
                "cases": [r.to_dict() for r in results],
                "passed": len(results) - len(failed),
                "failed": len(failed),
            }
        )
    else:
        _print(results)
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)


@policy_app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Policy files (default: the retail desk's packaged set)."),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option(help="The Cedar schema (default: the retail desk's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the policies as JSON.")] = False,
) -> None:
    """Load policy files against the schema: each must parse, validate and be annotated."""
    root = policy_dir()
    with user_errors(as_json):
        engine = PolicyEngine.from_files(
            schema or root / SCHEMA_FILE, files or [root / f for f in DESK_RULES]
        )
    policies = [m.to_dict() for m in engine.policies.meta.values()]
    if as_json:
        print_json({"files": list(engine.policies.files), "policies": policies})
        return
    table = Table("policy", "effect", "source", "reason")
    for p in policies:
        table.add_row(p["id"], p["effect"], p["source"], p["reason"])
    out.print(table)
    out.print(f"{len(policies)} policies valid against the schema")


def _print(results: list[CaseResult]) -> None:
    table = Table("ok", "file", "case", "expected", "actual")
    for r in results:
        expected = r.expected.effect + (f" {sorted(r.expected.rules)}" if r.expected.rules else "")
        actual = f"{r.verdict.effect.value} {sorted(r.rules)}"
        table.add_row("[green]yes[/]" if r.ok else "[red]NO[/]", r.file, r.name, expected, actual)
    out.print(table)
