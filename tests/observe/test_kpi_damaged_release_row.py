"""`tether kpi` reads each run's release bundle for its tools' risk classes. A release row cut
short (a partial restore, a disk error) or edited in the store no longer turns the whole report
into `INTERNAL`, nor silently changes its compliance counts: the report stays whole, and that
release's compliance is unknown (null counts, with why), as every other read of a release
checks its content against its id (README, Business KPIs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.release.cli_store import Cli

CUT_SHORT = "UPDATE releases SET bundle = substr(bundle, 1, 100) WHERE id = ?"
# still JSON, still a bundle: every write tool now claims to be a read (no incident would count)
EDITED = "UPDATE releases SET bundle = replace(bundle, '\"write\"', '\"read\"') WHERE id = ?"


@pytest.mark.parametrize("damage", [CUT_SHORT, EDITED], ids=["cut-short", "edited"])
def test_kpi_reports_compliance_unknown_for_a_damaged_release_row(
    tmp_path: Path, damage: str
) -> None:
    cli = Cli(tmp_path)
    code, _ = cli("demo", "--no-serve")
    assert code == 0
    before = cli.ok("kpi")
    assert before["releases"] and before["releases"][0]["runs"] > 0
    busiest = before["releases"][0]["release"]
    assert busiest.startswith("rel_")
    assert before["releases"][0]["compliance"]["incidents"] is not None
    assert cli.sql(damage, busiest)

    after = cli.ok("kpi")
    by_release: dict[str, Any] = {r["release"]: r for r in after["releases"]}
    damaged = by_release[busiest]
    assert damaged["runs"] == before["releases"][0]["runs"]  # the rest of its report stands
    assert damaged["compliance"]["incidents"] is None
    assert damaged["compliance"]["incidents_per_run"] is None
    assert busiest in damaged["compliance"]["unknown"]
    for other in before["releases"][1:]:  # the others are untouched
        assert by_release[other["release"]]["compliance"] == other["compliance"]
