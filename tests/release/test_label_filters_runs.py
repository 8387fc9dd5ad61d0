"""README, Releases: "a label works wherever an id does", and an unknown id or label is
RELEASE_NOT_FOUND. `tether kpi --release production` (and `runs list --release production`)
compared the label text with the runs' release ids and printed an empty report, exit 0: the
operator read that production had no traffic at all. Now a label filters by the release it
names, and a label naming none is RELEASE_NOT_FOUND."""

from __future__ import annotations

from pathlib import Path

from tests.release.cli_store import Cli


def test_kpi_reads_a_label_as_the_release_it_names(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    code, _ = cli("demo", "--no-serve")
    assert code == 0
    busiest = cli.ok("kpi")["releases"][0]
    assert busiest["runs"] > 0
    cli.ok("release", "label", "production", busiest["release"])

    by_id = cli.ok("kpi", "--release", busiest["release"])
    by_label = cli.ok("kpi", "--release", "production")
    assert [r["release"] for r in by_label["releases"]] == [busiest["release"]], by_label
    assert by_label["releases"][0]["runs"] == by_id["releases"][0]["runs"]

    by_id_runs = cli.ok("runs", "list", "--release", busiest["release"], "--limit", "1000")
    by_label_runs = cli.ok("runs", "list", "--release", "production", "--limit", "1000")
    assert by_label_runs["runs"] and by_label_runs == by_id_runs

    for command in (("kpi",), ("runs", "list")):
        code, refused = cli(*command, "--release", "staging")  # a label naming nothing
        assert code == 2 and refused["error"]["code"] == "RELEASE_NOT_FOUND", refused
