"""`tether ingest PATH`: documents (or a domain's records) into the system of record, with
content-hash versions and lineage, as one job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tether.cli.common import DomainOption, err, open_domain, out, print_json, user_errors
from tether.core.clock import SystemClock
from tether.grounding.connectors import (
    DEFAULT_MAX_BYTES,
    MAX_MAX_BYTES,
    Connector,
    check_max_bytes,
    open_source,
)
from tether.grounding.ingest import Ingestor, IngestReport
from tether.sdk.desk import setup_parts
from tether.sdk.domain import DeskContext
from tether.store.runs import RunStore


def ingest(
    path: Annotated[
        str,
        typer.Argument(
            help="A directory or file of .md, .txt, .html, .json, .csv documents, or a source "
            "the domain names (retail: db:retail, the store's retail tables)."
        ),
    ],
    acl: Annotated[
        list[str] | None,
        typer.Option(
            "--acl",
            help="A label that may read the documents (repeatable). It is a ceiling: a "
            "document's own 'acl' (front matter) may narrow it, never widen it, and a document "
            "sharing no label with it is refused (DOCUMENT_ACL_WIDENS). Without any, documents "
            "are labelled 'private' (nobody sees them) unless their own 'acl' says otherwise; "
            "only --acl public makes a document public.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job report as JSON.")] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Ingest the good documents and list the bad ones, not fail."
        ),
    ] = False,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of files without a byte-order mark.")
    ] = None,
    max_bytes: Annotated[
        int,
        typer.Option(help=f"Largest file accepted, in bytes (at most {MAX_MAX_BYTES}).", min=1),
    ] = DEFAULT_MAX_BYTES,
    domain: DomainOption = None,
) -> None:
    """Ingest documents as one job: unchanged documents are kept, changed ones get a new
    version (the old one stays for lineage), and a bad document fails the job with nothing
    written."""
    with user_errors(as_json):
        check_max_bytes(max_bytes)  # before the store is opened: a refused job writes nothing
        store = RunStore.open()
        pack = open_domain(domain)
        named = {}
        if not Path(path).exists():  # a source the domain names reads its records over the store
            named = dict(setup_parts(pack, DeskContext(store, SystemClock())).sources)
        connector = open_source(path, named, encoding=encoding, max_bytes=max_bytes)
        ingestor = Ingestor(store.engine, entity_ids=pack.entity_ids)
        if as_json:
            report = ingestor.run(connector, acl or (), skip_invalid=skip_invalid)
        else:
            report = _with_progress(ingestor, connector, acl or (), skip_invalid)
    if as_json:
        print_json(report.to_dict())
        return
    _print(report)


def _with_progress(
    ingestor: Ingestor, connector: Connector, acl: list[str] | tuple[str, ...], skip: bool
) -> IngestReport:
    columns = (
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("", total=None)

        def step(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=name[-60:])

        return ingestor.run(connector, acl, skip_invalid=skip, progress=step)


def _print(report: IngestReport) -> None:
    stats = report.stats
    out.print(f"[bold]{report.job_id}[/]  {report.source}", markup=True, highlight=False)
    table = Table("added", "changed", "unchanged", "removed", "chunks written", "problems")
    table.add_row(
        *(str(stats[k]) for k in ("added", "changed", "unchanged", "removed", "chunks_written")),
        str(stats["problems"]),
    )
    out.print(table)
    for problem in report.problems:
        out.print(f"skipped: {problem['code']}: {problem['message']}", markup=False)
    if report.skipped:
        out.print(f"{len(report.skipped)} file(s) of unsupported types not read", markup=False)
    if report.graph:
        g = report.graph
        out.print(
            f"graph: {g.get('entities_added', 0)} entities added, "
            f"{g.get('entities_changed', 0)} changed, {g.get('entities_removed', 0)} removed; "
            f"{g.get('relations', 0)} relations",
            markup=False,
        )
