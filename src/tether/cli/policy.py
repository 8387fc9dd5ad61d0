"""`tether policy test | check`: policy unit cases, and loading a policy set to check it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tether.cli.common import EXIT_FAILED, DomainOption, open_domain, out, print_json, user_errors
from tether.core.errors import ErrorCode, TetherError
from tether.policy.cases import CaseResult, run_case_dir
from tether.policy.engine import PolicyEngine
from tether.sdk.cases import case_world
from tether.sdk.domain import Domain, PolicySet
from tether.store.runs import RunStore

policy_app = typer.Typer(help="Check policy sets and run their test cases.", no_args_is_help=True)


@policy_app.command("test")
def test(
    directory: Annotated[
        Path | None,
        typer.Argument(help="A folder of policy case YAML files (default: the domain's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Run every case (request → expected verdict) in fresh copies of the domain's data;
    exit 1 if any case fails."""
    with user_errors(as_json):
        pack = open_domain(domain)
        folder = directory or _policies(pack).cases
        if folder is None:
            raise TetherError(
                ErrorCode.SCENARIO_INVALID, f"domain {pack.name!r} ships no policy cases"
            )
        results = list(run_case_dir(folder, case_world(pack, RunStore.open())))
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
        typer.Argument(help="Policy files (default: the domain's packaged set)."),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option(help="The Cedar schema (default: the domain's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the policies as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Load policy files against the schema: each must parse, validate and be annotated."""
    with user_errors(as_json):
        if files and schema:
            engine = PolicyEngine.from_files(schema, files)
        else:
            packaged = _policies(open_domain(domain))
            engine = PolicyEngine.from_files(
                schema or packaged.schema, files or list(packaged.files)
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


def _policies(domain: Domain) -> PolicySet:
    if domain.policies is None:
        raise TetherError(ErrorCode.POLICY_INVALID, f"domain {domain.name!r} declares no policies")
    return domain.policies


def _print(results: list[CaseResult]) -> None:
    table = Table("ok", "file", "case", "expected", "actual")
    for r in results:
        expected = r.expected.effect + (f" {sorted(r.expected.rules)}" if r.expected.rules else "")
        actual = f"{r.verdict.effect.value} {sorted(r.rules)}"
        table.add_row("[green]yes[/]" if r.ok else "[red]NO[/]", r.file, r.name, expected, actual)
    out.print(table)
