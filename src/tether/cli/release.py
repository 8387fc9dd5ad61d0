"""`tether release create | list | show | diff | label | export`: content-addressed releases."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tether.cli.common import (
    DomainOption,
    open_desk,
    open_domain,
    out,
    print_json,
    user_errors,
)
from tether.cli.keys import cli_actor, open_access
from tether.core.errors import ErrorCode, TetherError
from tether.release.bundle import ID_PREFIX
from tether.release.diff import diff_bundles, render_diff
from tether.release.source import read_release_dir, write_release_dir
from tether.release.store import Release, ReleaseStore, check_label
from tether.store.runs import RunStore

release_app = typer.Typer(
    help="Releases: immutable, content-addressed bundles of an agent's configuration, and "
    "labels (production, candidate, ...) that point at them.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RefArgument = Annotated[str, typer.Argument(help="A release id (rel_...) or a label.")]


def open_releases() -> ReleaseStore:
    """The releases in the configured store, audited in its audit chain."""
    access = open_access()
    return ReleaseStore(access.engine, access.audit)


def runs_release(ref: str | None) -> str | None:
    """The release id a filter of runs by `ref` means: an id as given, "" (runs without a
    release) as given, a label the release it names (a label works wherever an id does);
    RELEASE_NOT_FOUND for a label that names none."""
    if not ref or ref.startswith(ID_PREFIX):
        return ref
    target = open_releases().target(ref)
    if target is None:
        raise TetherError(
            ErrorCode.RELEASE_NOT_FOUND, f"no release or label {ref!r} (see `tether release list`)"
        )
    return target


def _when(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def _print_summary(release: Release) -> None:
    content = release.bundle.content
    policies = content["policies"]
    model = content["model"]
    out.print(f"release {release.id}", markup=False)
    out.print(f"  digest   {release.digest}", markup=False)
    out.print(f"  created  {_when(release.created_at)} by {release.created_by}", markup=False)
    if release.note:
        out.print(f"  note     {release.note}", markup=False)
    out.print(f"  labels   {', '.join(release.labels) or '-'}", markup=False)
    out.print(f"  domain   {content['domain'].get('name')} {content['domain'].get('version')}",
              markup=False)  # fmt: skip
    out.print(f"  model    {model.get('adapter') or '(named per request)'} {model.get('name', '')}",
              markup=False)  # fmt: skip
    out.print(f"  agents   {', '.join(a['name'] for a in content['agents'])}", markup=False)
    out.print(f"  tools    {len(content['tools'])}", markup=False)
    out.print(f"  policies {', '.join(f['name'] for f in policies['files']) or '-'}", markup=False)
    out.print(f"  knowledge {', '.join(content['knowledge']) or '-'}", markup=False)


@release_app.command("create")
def release_create(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A release directory (release.json, prompts/, policies/; see the README); "
            "default: the configuration of the domain pack in force.",
        ),
    ] = None,
    note: Annotated[str, typer.Option(help="Why this release exists.")] = "",
    domain: DomainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a release (audited); the same content always gives the same id."""
    with user_errors(as_json):
        if source is not None:
            bundle = read_release_dir(source)
            # what no desk could build is refused here, not at every conversation sent to it
            from tether.sdk.candidate import check_buildable  # builds a desk: loaded here

            store = RunStore.open()
            try:
                check_buildable(open_domain(domain), store, bundle)
            finally:
                store.close()
        else:
            desk = open_desk(domain)
            assert desk.release is not None  # every built desk has one
            bundle = desk.release.bundle()
        release, created = open_releases().create(bundle, cli_actor(), note)
    if as_json:
        print_json({"release": release.summary(), "created": created})
        return
    verb = "created" if created else "already exists:"
    out.print(f"{verb} release {release.id}", markup=False)


@release_app.command("list")
def release_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Releases, newest first, with their labels."""
    with user_errors(as_json):
        releases = open_releases()
        found = releases.list_releases(limit)
        labels = releases.labels()
    if as_json:
        print_json({"releases": [r.summary() for r in found], "labels": labels})
        return
    table = Table("created", "by", "labels", "domain", "note")
    table.add_column("id", no_wrap=True)  # ids are copied from here: never cut one
    for r in found:
        domain = r.bundle.content["domain"]
        table.add_row(
            _when(r.created_at),
            Text(r.created_by),
            ", ".join(r.labels),
            Text(f"{domain.get('name')} {domain.get('version')}"),
            Text(r.note),
            r.id,
        )
    out.print(table)


@release_app.command("show")
def release_show(ref: RefArgument, as_json: JsonOption = False) -> None:
    """One release: its facts and, with --json, its whole bundle."""
    with user_errors(as_json):
        release = open_releases().get(ref)
    if as_json:
        print_json(release.to_dict())
        return
    _print_summary(release)


@release_app.command("diff")
def release_diff(
    a: Annotated[str, typer.Argument(help="The release (or label) to compare from.")],
    b: Annotated[str, typer.Argument(help="The release (or label) to compare to.")],
    as_json: JsonOption = False,
) -> None:
    """What changed from A to B: prompt lines, policy rules, tool and other settings."""
    with user_errors(as_json):
        releases = open_releases()
        diff = diff_bundles(releases.get(a).bundle, releases.get(b).bundle)
    if as_json:
        print_json(diff)
        return
    for line in render_diff(diff):
        out.print(line, markup=False)


@release_app.command("label")
def release_label(
    label: Annotated[str, typer.Argument(help="The label, e.g. production or candidate.")],
    ref: RefArgument,
    override: Annotated[
        str | None,
        typer.Option(
            help="Move the label even though the release failed its evaluation suite, for this "
            "reason (audited as release.gate_overridden)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Point LABEL at a release (audited with who moved it and where from); a release whose
    evaluation suite (`tether eval suite`) failed takes a label only with --override."""
    with user_errors(as_json):
        check_label(label)
        move = open_releases().move_label(label, ref, cli_actor(), override)
    if as_json:
        print_json(move.to_dict())
        return
    if move.previous == move.release_id:
        out.print(f"{label} already points at {move.release_id}", markup=False)
    else:
        came = f" (was {move.previous})" if move.previous else ""
        out.print(f"{label} -> {move.release_id}{came}", markup=False)


@release_app.command("export")
def release_export(
    ref: RefArgument,
    folder: Annotated[Path, typer.Argument(help="A new or empty directory to write.")],
    as_json: JsonOption = False,
) -> None:
    """Write a release as a directory to edit; `release create --from` reads it back."""
    with user_errors(as_json):
        release = open_releases().get(ref)
        if folder.exists() and not folder.is_dir():
            raise TetherError(ErrorCode.RELEASE_SOURCE_INVALID, f"{folder} is not a directory")
        written = write_release_dir(release.bundle, folder)
    if as_json:
        print_json({"release": release.id, "files": [str(p) for p in written]})
        return
    out.print(f"wrote release {release.id} to {folder} ({len(written)} files)", markup=False)
